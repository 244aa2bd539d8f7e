"""What the benchmarks need besides takedown.testing: a real worker started and pinged, the
memory of its process tree, and the removal of the run's Redis keys."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psutil
import redis
from celery import Celery
from sqlalchemy.engine import make_url

from takedown.config import Settings, get_settings
from takedown.safety.crypto import generate_key
from takedown.testing.environment import local_environment
from takedown.testing.processes import TakedownProcess

REDIS_URL = "redis://127.0.0.1:6379/13"  # the benchmarks' own Redis database
NOTIFIER_EMAIL = "bench@helpline.example"


def configure(
    *,
    database_url: str,
    platforms_dir: Path,
    broker_url: str = REDIS_URL,
    queue_prefix: str = "",
    smtp_port: int | None = None,
    extra: dict[str, str] | None = None,
) -> Settings:
    """TAKEDOWN_* settings for this process, on the local fakes; the workers it starts
    inherit them. The run's database lives as long as the run, and so does its key."""
    os.environ.update(
        local_environment(
            database_url=database_url,
            broker_url=broker_url,
            platforms_dir=platforms_dir,
            secret_key=generate_key(),
            queue_prefix=queue_prefix,
            smtp_port=smtp_port,
            notifier=("Bench Helpline", NOTIFIER_EMAIL),
        )
        | (extra or {})
    )
    get_settings.cache_clear()
    return get_settings()


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


def start_worker(options: list[str], log: Path) -> TakedownProcess:
    """`takedown worker` with these options, in the environment the benchmark configured."""
    return TakedownProcess.worker(log, "--loglevel", "WARNING", *options).start()


def wait_until_ready(app: Celery, worker: TakedownProcess, seconds: float = 60) -> None:
    """Until the worker answers a ping: its pool is up, not only its main process."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not worker.running():
            raise RuntimeError(f"the worker exited: {worker.lines()[-2000:]}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError(f"the worker did not answer a ping within {seconds:.0f} s")


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


def postgres_server(url: str) -> str:
    """The administration URL of the server ``url`` names (its ``postgres`` database)."""
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)
