"""A private ``redis-server`` on a free loopback port, which a fault test may flush, stop and
start again on the same port without touching the machine's shared Redis.

It keeps nothing on disk (``--save "" --appendonly no``), as the machine's own does, so a
restart loses every queued message: the worst case the sweeper must recover from.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Self

import redis

from takedown.testing.loopback import free_port


class RedisUnavailable(RuntimeError):
    pass


class RedisServer:
    def __init__(self, binary: str | None = None) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise RedisUnavailable("redis-server is not installed")
        self.binary = found
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), socket_connect_timeout=1)

    def start(self, seconds: float = 10) -> Self:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        # The binary found on PATH, with fixed arguments: nothing here comes from input.
        self._process = subprocess.Popen(  # noqa: S603
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + seconds
        while True:
            try:
                if self.client().ping():
                    return self
            except redis.RedisError:
                pass
            if self._process.poll() is not None:
                raise RedisUnavailable(f"redis-server exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RedisUnavailable(f"redis-server did not answer within {seconds} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop at once, as a crash would: SIGKILL, nothing saved, clients cut off."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        self._process = None

    def restart(self) -> None:
        """Down and up again on the same port, empty: a crashed broker brought back."""
        self.stop()
        self.start()

    def flush(self, db: int = 0) -> None:
        """``FLUSHDB``: the database's queues, unacknowledged messages and bindings gone."""
        self.client(db).flushdb()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
