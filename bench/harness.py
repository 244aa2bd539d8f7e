"""What both benchmarks need: a real `takedown worker` started, watched and stopped, the
memory of its process tree, and the removal of the run's Redis keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import redis
from celery import Celery
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from takedown.store.db import get_engine

REDIS_URL = "redis://127.0.0.1:6379/13"  # the benchmarks' own Redis database
TAKEDOWN = Path(sys.executable).parent / "takedown"


class PeakMemory:
    """Samples the RSS of a process and all its descendants in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_bytes = 0
        self.last_bytes = 0
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        total, count = 0, 0
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                total += process.memory_info().rss
                count += 1
            except psutil.NoSuchProcess:
                continue
        self.last_bytes = total
        if total > self.peak_bytes:
            self.peak_bytes, self.processes = total, count

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except psutil.NoSuchProcess:
                return
            self._stop.wait(self.interval)

    def start(self) -> PeakMemory:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def start_worker(options: list[str], log: Path) -> subprocess.Popen[bytes]:
    """`takedown worker` with these options, in the environment the benchmark configured."""
    command = [str(TAKEDOWN), "worker", "--loglevel", "WARNING", *options]
    with log.open("wb") as sink:
        return subprocess.Popen(
            command,
            cwd=log.parent,
            env=dict(os.environ),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so it can be killed as a whole
        )


def wait_until_ready(app: Celery, worker: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with status {worker.returncode}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError(f"the worker did not answer a ping within {seconds:.0f} s")


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM); the whole process group is killed if it takes too long."""
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def worker_errors(log: Path) -> list[str]:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line for line in lines if "ERROR/" in line or "CRITICAL/" in line]


def delete_keys(prefix: str) -> int:
    """This run's queues, their bindings and the politeness keys; nothing else."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    return len(keys)


@contextmanager
def new_postgres_database(url: str) -> Iterator[str]:
    """The PostgreSQL database named in ``url``, created anew (administered through the
    server's ``postgres`` database) and dropped afterwards."""
    parsed = make_url(url)
    name = parsed.database or ""
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url
    finally:
        get_engine().dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
