"""A ``takedown worker`` (or Celery's beat) as a real subprocess, in a process group of its
own so that a fault test can kill it whole, with its log read from where this run began."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Self

import psutil

BIN = Path(sys.executable).parent
TAKEDOWN = BIN / "takedown"


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds; a ``TimeoutError`` naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.05)


class TakedownProcess:
    """``command`` run with ``environment`` (the current one when None) in the log's folder,
    which also holds a worker's beat schedule: a second process with the same log reuses it,
    as a restarted service would."""

    def __init__(
        self, command: list[str], log: Path, environment: Mapping[str, str] | None = None
    ) -> None:
        self.command = command
        self.log = log
        self.environment = dict(environment if environment is not None else os.environ)
        self.popen: subprocess.Popen[bytes] | None = None
        self.log_start = 0

    @classmethod
    def worker(
        cls, log: Path, *options: str, environment: Mapping[str, str] | None = None
    ) -> TakedownProcess:
        return cls([str(TAKEDOWN), "worker", *options], log, environment)

    @property
    def pid(self) -> int:
        assert self.popen is not None, "not started"
        return self.popen.pid

    def start(self) -> Self:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        self.log_start = self.log.stat().st_size
        with self.log.open("ab") as sink:
            # Fixed commands of this package's own; nothing in them comes from input.
            self.popen = subprocess.Popen(  # noqa: S603
                self.command,
                cwd=self.log.parent,
                env=self.environment,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def lines(self) -> str:
        """What this run has logged so far."""
        with self.log.open("rb") as log:
            log.seek(self.log_start)
            return log.read().decode("utf-8", "replace")

    def ready(self) -> bool:
        return " ready." in self.lines()

    def wait_ready(self, seconds: float = 60) -> Self:
        def ready_or_dead() -> bool:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.command[:2]} exited: {self.lines()[-2000:]}")
            return self.ready()

        wait_until(ready_or_dead, seconds, f"{' '.join(self.command[:2])} to start")
        return self

    def pool(self) -> list[psutil.Process]:
        """The worker's pool processes (its children), which a fault test may kill."""
        try:
            return psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill_group(self) -> None:
        """SIGKILL to the whole process group, as a crash would: the main process, its pool
        and its beat (a pool process outliving its main process too)."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, seconds: float = 30) -> None:
        """A warm shutdown (SIGTERM), then SIGKILL to whatever of its group is left: all of it
        if the shutdown takes too long."""
        if not self.running():
            return
        assert self.popen is not None
        self.popen.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(seconds)
        self.kill_group()  # and any process of its group left behind

    def __enter__(self) -> Self:
        self.start()
        try:
            return self.wait_ready()
        except BaseException:
            self.kill_group()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
