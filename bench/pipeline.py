"""How fast removal requests go through the whole pipeline, against a plain HTTP loop.

What is measured, in one run, on loopback only:

- plain: one ``requests.Session`` POSTs N report forms in a row to a fake platform
  (takedown.testing.fake_platform, a ThreadingHTTPServer in this process);
- pipeline: N queued removal requests of one case go database → Redis → a real
  ``takedown worker`` (prefork pool, ``--concurrency 2`` by default) → notice rendering →
  HTTP POST to the same fake → database. The clock starts when publishing starts
  (``takedown.worker.publish.publish_now``) and stops when a COUNT query, polled every 0.2 s,
  sees all N requests ``sent``. Worker start-up is not included: the worker must answer a
  ping first.

It prints both rates (requests per second), the ratio pipeline/plain against the aim (half
the plain loop's rate or better), the worker's peak memory (RSS summed over its process tree,
sampled with psutil every 0.1 s; pages shared after fork count once per process), and checks
that the fake received exactly N POSTs for N distinct links and that all N requests are
``sent``. When progress stops for ``--stall`` seconds it gives up and says how far it got.
The exit status is 1 when a check fails.

Redis: database 13 at 127.0.0.1:6379, on queues of a unique prefix that are deleted at the
end. Database: a new SQLite file in a temporary directory, or, with ``--database-url``
naming a PostgreSQL server, a database created for the run and dropped at the end.

Run it with ``make bench`` (which runs ``.venv/bin/python bench/pipeline.py``), or::

    .venv/bin/python bench/pipeline.py --n 2000
    .venv/bin/python bench/pipeline.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from harness import (
    NOTIFIER_EMAIL,
    REDIS_URL,
    PeakMemory,
    configure,
    delete_keys,
    postgres_server,
    start_worker,
    wait_until_ready,
    worker_errors,
)
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from takedown.config import Settings
from takedown.store.db import migrate, session_scope
from takedown.store.models import Item, RemovalRequest
from takedown.store.states import RequestState
from takedown.testing.cases import queued_case
from takedown.testing.databases import postgres_database
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply
from takedown.worker.celery_app import app_for
from takedown.worker.publish import publish_now

PIPELINE_PATH = "/bench/report"  # what the worker POSTs to
PLAIN_PATH = "/plain/report"  # what the plain loop POSTs to
DOMAIN = "benchsite.example"
ACCEPTED = Reply(200, "<p>Thank you. Report ID: X-1</p>")
# About the size of the rendered English notice, so both sides POST forms of a similar size.
PLAIN_DETAILS = "We ask you to remove the content at the following address without delay. " * 13
AIM = 0.5
POLL_SECONDS = 0.2


# ---------------------------------------------------------------------------- setting up


def link(i: int) -> str:
    return f"https://{DOMAIN}/p/{i}"


def write_platform(directory: Path, site: FakePlatform) -> None:
    """One web-form platform whose form is the fake's PIPELINE_PATH (no form page to GET)."""
    text = f"""
id: benchsite
name: Benchsite
domains: ["{DOMAIN}"]
deadline_hours: 48
channels:
  - type: webform
    submit_url: {site.url(PIPELINE_PATH)}
    fields: {{url: "{{{{ item.url }}}}", email: "{{{{ notifier.email }}}}",
             details: "{{{{ notice.body }}}}"}}
    success: {{status: [200], ticket_pattern: "Report ID: ([A-Z0-9-]+)"}}
"""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "benchsite.yaml").write_text(text.lstrip(), encoding="utf-8")


# ---------------------------------------------------------------------------- the plain loop


def plain_loop(site: FakePlatform, n: int) -> float:
    """Seconds for N form POSTs in a row over one requests.Session."""
    url = site.url(PLAIN_PATH)
    with requests.Session() as session:
        started = time.perf_counter()
        for i in range(n):
            form = {"url": link(i), "email": NOTIFIER_EMAIL, "details": PLAIN_DETAILS}
            response = session.post(url, data=form, timeout=10)
            response.raise_for_status()
        return time.perf_counter() - started


# ---------------------------------------------------------------------------- the worker


def sent_total() -> int:
    """Every ``sent`` request in the database: an index range, cheap to poll."""
    with session_scope() as session:
        count = session.scalar(
            select(func.count())
            .select_from(RemovalRequest)
            .where(RemovalRequest.state == RequestState.SENT)
        )
    return int(count or 0)


def state_counts(case_id: str) -> dict[str, int]:
    with session_scope() as session:
        rows = session.execute(
            select(RemovalRequest.state, func.count())
            .join(Item, RemovalRequest.item_id == Item.id)
            .where(Item.case_id == case_id)
            .group_by(RemovalRequest.state)
        ).all()
    return dict(rows)


@dataclass
class Progress:
    sent: int
    seconds: float  # from the start of publishing to when `sent` last grew
    finished: bool


def watch(n: int, baseline: int, started: float, stall: float, timeout: float) -> Progress:
    """Poll until N more requests are sent, progress stops for `stall` s, or `timeout`."""
    sent, last_growth = 0, started
    while True:
        now_sent = sent_total() - baseline
        now = time.perf_counter()
        if now_sent != sent:
            sent, last_growth = now_sent, now
        if sent >= n:
            return Progress(sent, now - started, finished=True)
        if now - last_growth > stall or now - started > timeout:
            return Progress(sent, last_growth - started, finished=False)
        time.sleep(POLL_SECONDS)


@dataclass
class PipelineRun:
    progress: Progress
    publish_seconds: float
    peak_rss_bytes: int
    processes: int
    errors: list[str]


def run_pipeline(
    settings: Settings, request_ids: list[str], args: argparse.Namespace, log: Path
) -> PipelineRun:
    app = app_for(settings)  # the app publish_now() uses: same broker, same queues
    worker = start_worker(["--concurrency", str(args.concurrency)], log)
    memory = PeakMemory(worker.pid).start()
    try:
        wait_until_ready(app, worker)
        baseline = sent_total()
        started = time.perf_counter()
        if not publish_now(request_ids):
            raise RuntimeError(f"Redis at {REDIS_URL} could not be reached")
        publish_seconds = time.perf_counter() - started
        progress = watch(len(request_ids), baseline, started, args.stall, args.timeout)
    except BaseException:
        sys.stderr.write(log.read_text(encoding="utf-8", errors="replace")[-4000:])
        raise
    finally:
        memory.stop()
        worker.stop()
    return PipelineRun(
        progress, publish_seconds, memory.peak_bytes, memory.processes, worker_errors(log)
    )


# ---------------------------------------------------------------------------- reporting


@contextmanager
def run_database(server_url: str | None, workdir: Path) -> Iterator[str]:
    """A new SQLite file, or a database of the run's own on the named PostgreSQL server."""
    if server_url is None:
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    with postgres_database(postgres_server(server_url), prefix="takedown_bench") as url:
        yield url


def describe_database(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "SQLite (a new file in a temporary directory)"
    return f"{parsed.get_backend_name()} ({parsed.render_as_string(hide_password=True)})"


def report_rates(n: int, concurrency: int, plain_seconds: float, run: PipelineRun) -> None:
    progress = run.progress
    plain_rate = n / plain_seconds
    pipeline_rate = progress.sent / progress.seconds if progress.seconds > 0 else 0.0
    ratio = pipeline_rate / plain_rate
    print(f"plain:     {n} POSTs in {plain_seconds:.2f} s = {plain_rate:.1f} requests/s")
    incomplete = "" if progress.finished else f" - INCOMPLETE: progress stopped at {progress.sent}"
    print(
        f"pipeline:  {progress.sent} requests in {progress.seconds:.2f} s = "
        f"{pipeline_rate:.1f} requests/s (publishing took {run.publish_seconds:.2f} s; "
        f"polled every {POLL_SECONDS} s){incomplete}"
    )
    verdict = "met" if ratio >= AIM else "NOT met"
    print(f"ratio:     pipeline/plain = {ratio:.3f} (aim: {AIM} or better: {verdict})")
    print(
        f"memory:    worker peak RSS {run.peak_rss_bytes / 2**20:.1f} MiB "
        f"(process tree of {run.processes} processes, concurrency {concurrency})"
    )


def report_checks(site: FakePlatform, case_id: str, n: int, run: PipelineRun) -> bool:
    posts = site.requests_to(PIPELINE_PATH)
    distinct = len({post.form.get("url") for post in posts})
    states = state_counts(case_id)
    sent = states.get(RequestState.SENT, 0)
    ok = len(posts) == n and distinct == n and sent == n
    print(
        f"checks:    the fake received {len(posts)} POSTs for {distinct} distinct links "
        f"(expected {n}); {sent}/{n} requests sent; states {states}: {'OK' if ok else 'FAILED'}"
    )
    if run.errors:
        print(f"worker:    {len(run.errors)} error(s) logged; the first: {run.errors[0]}")
    return ok


# ---------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=2000, help="removal requests (default 2000)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to create the run's own database on (takedown_bench_<random>, "
        "dropped afterwards); default: a SQLite file in a temporary directory",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (2)")
    parser.add_argument(
        "--stall", type=float, default=30, help="give up after this long without progress (30 s)"
    )
    parser.add_argument("--timeout", type=float, default=900, help="give up after (900 s)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    prefix = f"takedown-bench-{uuid.uuid4().hex[:8]}-"
    with (
        tempfile.TemporaryDirectory(prefix="takedown-bench-") as tmp,
        FakePlatform() as site,
        run_database(args.database_url, Path(tmp)) as database_url,
    ):
        workdir = Path(tmp)
        site.script(PIPELINE_PATH, ACCEPTED)
        site.script(PLAIN_PATH, ACCEPTED)
        write_platform(workdir / "platforms", site)
        settings = configure(
            database_url=database_url, platforms_dir=workdir / "platforms", queue_prefix=prefix
        )
        print(
            f"takedown pipeline benchmark: N={args.n}, database "
            f"{describe_database(database_url)}, broker {REDIS_URL}"
        )
        print(
            f"machine:   os.cpu_count() = {os.cpu_count()}; worker: prefork pool, "
            f"--concurrency {args.concurrency}; fake platform at {site.base_url}"
        )
        migrate()
        case = queued_case(
            settings,
            [link(i) for i in range(args.n)],
            victim_name="Bench Victim",
            victim_email="victim@bench.example",
            language="en",
        )
        case_id, request_ids = case.case_id, case.request_ids
        plain_seconds = plain_loop(site, args.n)
        try:
            run = run_pipeline(settings, request_ids, args, workdir / "worker.log")
        finally:
            delete_keys(prefix)
        report_rates(args.n, args.concurrency, plain_seconds, run)
        ok = report_checks(site, case_id, args.n, run) and run.progress.finished
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
