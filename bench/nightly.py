"""How fast the nightly check gets through every watched link, against a sequential checker.

What is measured, in one run, on loopback only:

- hosts: ``--hosts`` fake sites (default 1,000), each on its own loopback address
  (127.1.x.y), all served on one port by one asyncio HTTP/1.1 server in a subprocess of
  this script. ``GET /p/<n>`` answers, chosen from n: 200 with a page (6 in 10), 404 (2 in
  10), 410 (1 in 10), or 200 with a "This content is no longer available" page (1 in 10),
  after ``--latency`` seconds (default 0.01), with keep-alive and TCP_NODELAY. The server
  counts requests per host: the most it had in flight at once, and the most that arrived
  within any one second.
- links: ``--links`` links (default 100,000; several sizes may be given, each run from
  scratch), ``--per-case`` to a case (default 100), each link on a pseudo-random host. One
  platform file lists every host as a domain, with removed_when rules: gone on 404 or
  410, or on a 200 page that says "This content is no longer available". Cases and links
  are written with bulk inserts; that time is printed but not measured as part of the rate.
- naive: a plain loop in this process GETs ``--sample`` links (default 2,000) one after
  another over one ``requests.Session`` and judges each with takedown.monitoring.checks.judge.
- pipeline: a real ``takedown worker`` (prefork ``--concurrency 2`` by default, or
  ``--pool threads``) receives ``takedown.tasks.nightly``, which splits the links into
  batches of TAKEDOWN_CHECK_BATCH_SIZE on the checks queue; each batch visits
  TAKEDOWN_CHECK_PARALLEL links at once, each visit through the per-host politeness in
  Redis, and records every result. The clock starts when the nightly task is sent (the worker
  already answers pings) and stops when a COUNT of links with ``last_checked_at``, polled
  every 0.5 s, reaches the number of links.

It prints both rates (links per second) and their ratio, the worker's peak memory (RSS summed
over its process tree, sampled with psutil every 0.1 s), the politeness check (the server's
observations against TAKEDOWN_HOST_MAX_IN_FLIGHT and burst + rate x 1 s), whether every link
got the status its reply calls for, and whether the aim is met: 100,000 links in under
5 minutes, with memory flat as the link count grows. When progress stops for ``--stall``
seconds it gives up and says how far it got. The exit status is 1 when a check fails.

Redis: database 13 at 127.0.0.1:6379, on queues and politeness keys of a unique prefix that
are deleted at the end. Database: a new SQLite file in a temporary directory, or, with
``--database-url`` naming a PostgreSQL server (any database on it), a database of the run's
own created there for each size (``takedown_bench_<random>``) and dropped at the end.

Run it with::

    .venv/bin/python bench/nightly.py --links 10000 100000
    .venv/bin/python bench/nightly.py --pool threads --concurrency 4
    .venv/bin/python bench/nightly.py --database-url \\
        postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from harness import (
    REDIS_URL,
    PeakMemory,
    configure,
    delete_keys,
    postgres_server,
    start_worker,
    wait_until_ready,
    worker_errors,
)
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from takedown.catalogue.removal_rules import Means, RemovalRule
from takedown.config import Settings
from takedown.monitoring.checks import judge
from takedown.store.columns import new_reference, utcnow
from takedown.store.db import get_engine, migrate
from takedown.store.encryption import keyring
from takedown.store.models import Case, Check, Item
from takedown.store.states import CheckOutcome
from takedown.testing.databases import postgres_database
from takedown.worker.celery_app import app_for

GONE_PHRASE = "This content is no longer available"
AIM_SECONDS_PER_100K = 300.0
POLL_SECONDS = 0.5
INSERT_CHUNK = 5000
CONTROL = "/_bench/"  # the server's own paths: not counted as visits


# ---------------------------------------------------------------------------- the links


def host_address(index: int) -> str:
    """Host 0 is 127.1.0.1, host 249 is 127.1.0.250, host 250 is 127.1.1.1, ..."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


def host_of_link(n: int, hosts: int) -> int:
    """A pseudo-random but fixed host for link n (Knuth's multiplicative hash)."""
    return (n * 2654435761 % 2**32) % hosts


def reply_kind(n: int) -> str:
    return {6: "404", 7: "404", 8: "410", 9: "soft"}.get(n % 10, "online")


def expected_status(n: int) -> str:
    return CheckOutcome.ONLINE if reply_kind(n) == "online" else CheckOutcome.REMOVED


def link(n: int, hosts: int, port: int) -> str:
    return f"http://{host_address(host_of_link(n, hosts))}:{port}/p/{n}"


# ---------------------------------------------------------------------------- the fake hosts


ONLINE_PAGE = (
    "<html><head><title>Post</title></head><body><h1>A post</h1>"
    + "<p>Some words about the picture, and comments under it.</p>" * 16
    + "</body></html>"
).encode()
GONE_PAGE = f"<html><body><h1>Sorry</h1><p>{GONE_PHRASE}.</p></body></html>".encode()
REPLIES = {
    "online": (b"200 OK", ONLINE_PAGE),
    "soft": (b"200 OK", GONE_PAGE),
    "404": (b"404 Not Found", b"<p>Not found</p>"),
    "410": (b"410 Gone", b"<p>Gone</p>"),
}


class HostCounters:
    """Per host: arrival times, requests in flight now, and the most ever in flight."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)

    def arrive(self, host: str) -> None:
        self.arrivals[host].append(time.monotonic())
        self.in_flight[host] += 1
        self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])

    def leave(self, host: str) -> None:
        self.in_flight[host] -= 1

    def summary(self) -> dict[str, object]:
        """Requests, hosts, the most in flight at one host, and the most that arrived at one
        host within any one second (a sliding window over the arrival times)."""
        max_window, busiest = 0, ""
        for host, times in self.arrivals.items():
            for i, start in enumerate(times):
                count = bisect.bisect_left(times, start + 1.0, lo=i) - i
                if count > max_window:
                    max_window, busiest = count, host
        return {
            "requests": sum(len(times) for times in self.arrivals.values()),
            "hosts": len(self.arrivals),
            "max_in_flight": max(self.max_in_flight.values(), default=0),
            "max_per_second": max_window,
            "busiest_host": busiest,
        }


def response(status: bytes, body: bytes, keep_alive: bool) -> bytes:
    connection = b"keep-alive" if keep_alive else b"close"
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: "
        + connection
        + b"\r\n\r\n"
        + body
    )


def answer(path: str, counters: HostCounters) -> tuple[bytes, bytes]:
    if path == CONTROL + "reset":
        counters.reset()
        return b"200 OK", b"{}"
    if path == CONTROL + "stats":
        return b"200 OK", json.dumps(counters.summary()).encode()
    number = path.removeprefix("/p/")
    if not number.isdigit():
        return b"404 Not Found", b"<p>Not found</p>"
    return REPLIES[reply_kind(int(number))]


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    counters: HostCounters,
    latency: float,
) -> None:
    host = writer.get_extra_info("sockname")[0]
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
            lowered = {name.strip().lower(): value.strip() for name, value in headers.items()}
            length = int(lowered.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            keep_alive = lowered.get("connection", "").lower() != "close"
            counted = method == "GET" and not path.startswith(CONTROL)
            if counted:
                counters.arrive(host)
                await asyncio.sleep(latency)
            try:
                status, body = answer(path, counters)
                writer.write(response(status, body, keep_alive))
                await writer.drain()
            finally:
                if counted:
                    counters.leave(host)
            if not keep_alive:
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(hosts: int, latency: float) -> None:
    """Listen on every host's address on one port; print the port once all are listening."""
    counters = HostCounters()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(reader, writer, counters, latency)

    first = await asyncio.start_server(handle, host_address(0), 0, backlog=512)
    port = first.sockets[0].getsockname()[1]
    servers = [first]
    for index in range(1, hosts):
        servers.append(await asyncio.start_server(handle, host_address(index), port, backlog=512))
    print(port, flush=True)
    await asyncio.Event().wait()


class FakeHosts:
    """The server subprocess (``--serve``), so its work does not share this process's GIL."""

    def __init__(self, hosts: int, latency: float) -> None:
        command = [sys.executable, __file__, "--serve", "--hosts", str(hosts)]
        command += ["--latency", str(latency)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("the fake hosts did not start")
        self.port = int(line)

    def control(self, what: str) -> dict[str, object]:
        url = f"http://{host_address(0)}:{self.port}{CONTROL}{what}"
        reply = requests.get(url, timeout=60)
        reply.raise_for_status()
        return dict(reply.json())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


# ---------------------------------------------------------------------------- setting up


def write_platform(directory: Path, hosts: int) -> None:
    """One platform whose domains are every host's address, with a soft-404 phrase."""
    domains = ", ".join(f'"{host_address(i)}"' for i in range(hosts))
    text_ = f"""
id: benchhosts
name: Bench hosts
domains: [{domains}]
deadline_hours: 48
channels:
  - type: email
    to: abuse@benchhosts.example
removed_when:
  - {{means: gone, status: [404, 410]}}
  - {{means: gone, body_contains: ["{GONE_PHRASE}"]}}
"""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "benchhosts.yaml").write_text(text_.lstrip(), encoding="utf-8")


def configure_run(
    workdir: Path, database_url: str, prefix: str, args: argparse.Namespace
) -> Settings:
    """The benchmark's settings: removal confirmed at once, and the batch and politeness
    settings it was given."""
    return configure(
        database_url=database_url,
        platforms_dir=workdir / "platforms",
        queue_prefix=prefix,
        extra={
            "TAKEDOWN_REMOVAL_CONFIRM_SECONDS": "0",
            "TAKEDOWN_CHECK_BATCH_SIZE": str(args.batch_size),
            "TAKEDOWN_CHECK_PARALLEL": str(args.parallel),
            "TAKEDOWN_HOST_RATE_PER_SECOND": str(args.rate),
            "TAKEDOWN_HOST_BURST": str(args.burst),
            "TAKEDOWN_HOST_MAX_IN_FLIGHT": str(args.max_in_flight),
        },
    )


@contextmanager
def fresh_database(url: str | None, workdir: Path, size: int) -> Iterator[str]:
    """A new SQLite file, or the named PostgreSQL database created anew (and dropped after)."""
    if url is None:
        yield f"sqlite:///{workdir / f'bench-{size}.db'}"
        return
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("--database-url: a PostgreSQL server, such as postgresql+psycopg://...")
    with postgres_database(postgres_server(url), prefix="takedown_bench") as created:
        yield created


def insert_links(links: int, hosts: int, port: int, per_case: int) -> float:
    """Cases of ``per_case`` links each, written with bulk inserts; the seconds it took."""
    started = time.perf_counter()
    now = utcnow()
    case_ids = [uuid.uuid4().hex for _ in range(0, links, per_case)]
    cases = [
        {
            "id": case_id,
            "reference": f"{new_reference(now)}-{number}",
            "victim_name": "Bench Victim",
            "victim_email": "victim@bench.example",
            "language": "en",
            "minor": False,
            "notify": True,
            "created_at": now,
        }
        for number, case_id in enumerate(case_ids)
    ]
    with get_engine().begin() as connection:
        connection.execute(insert(Case), cases)
    for start in range(0, links, INSERT_CHUNK * 5):
        with get_engine().begin() as connection:
            for chunk in range(start, min(start + INSERT_CHUNK * 5, links), INSERT_CHUNK):
                rows = [
                    {
                        "id": uuid.uuid4().hex,
                        "case_id": case_ids[n // per_case],
                        "position": n % per_case + 1,
                        "url": link(n, hosts, port),
                        "url_hash": keyring().link_hash(link(n, hosts, port)),
                        "host": host_address(host_of_link(n, hosts)),
                        "platform_id": "benchhosts",
                        "status": "unknown",
                        "created_at": now,
                    }
                    for n in range(chunk, min(chunk + INSERT_CHUNK, links))
                ]
                connection.execute(insert(Item), rows)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- the naive loop


def naive_loop(sample: int, hosts: int, port: int, settings: Settings) -> tuple[float, int]:
    """Seconds for SAMPLE links checked one after another, and how many were judged right."""
    rules = [
        RemovalRule(means=Means.GONE, status=[404, 410]),
        RemovalRule(means=Means.GONE, body_contains=[GONE_PHRASE]),
    ]
    right = 0
    with requests.Session() as session:
        started = time.perf_counter()
        for n in range(sample):
            with session.get(link(n, hosts, port), timeout=10, stream=True) as reply:
                seen = judge(reply, rules, False, settings)
            right += seen.outcome == expected_status(n)
        return time.perf_counter() - started, right


# ---------------------------------------------------------------------------- measuring


def checked_total() -> int:
    with get_engine().connect() as connection:
        count = connection.scalar(
            select(func.count()).select_from(Item).where(Item.last_checked_at.is_not(None))
        )
    return int(count or 0)


@dataclass
class Progress:
    checked: int
    seconds: float  # from sending the nightly task to when `checked` last grew
    finished: bool
    rss_at: dict[int, int] = field(default_factory=dict)  # percent done -> worker tree RSS


def watch(links: int, started: float, memory: PeakMemory, args: argparse.Namespace) -> Progress:
    """Poll until every link is checked, progress stops for `stall` s, or `timeout`."""
    checked, last_growth = 0, started
    rss_at: dict[int, int] = {}
    while True:
        now_checked = checked_total()
        now = time.perf_counter()
        if now_checked != checked:
            checked, last_growth = now_checked, now
        for percent in (25, 50, 75, 100):
            if checked * 100 >= percent * links and percent not in rss_at:
                rss_at[percent] = memory.last_bytes
        if checked >= links:
            return Progress(checked, now - started, True, rss_at)
        if now - last_growth > args.stall or now - started > args.timeout:
            return Progress(checked, last_growth - started, False, rss_at)
        time.sleep(POLL_SECONDS)


@dataclass
class PipelineRun:
    progress: Progress
    peak_rss_bytes: int
    processes: int
    errors: list[str]


def run_pipeline(
    settings: Settings, links: int, args: argparse.Namespace, log: Path
) -> PipelineRun:
    app = app_for(settings)
    worker = start_worker(["--pool", args.pool, "--concurrency", str(args.concurrency)], log)
    memory = PeakMemory(worker.pid).start()
    try:
        wait_until_ready(app, worker)
        started = time.perf_counter()
        app.send_task("takedown.tasks.nightly")
        progress = watch(links, started, memory, args)
    except BaseException:
        sys.stderr.write(log.read_text(encoding="utf-8", errors="replace")[-4000:])
        raise
    finally:
        memory.stop()
        worker.stop()
    return PipelineRun(progress, memory.peak_bytes, memory.processes, worker_errors(log))


def status_counts() -> dict[str, int]:
    with get_engine().connect() as connection:
        rows = connection.execute(select(Item.status, func.count()).group_by(Item.status)).all()
        checks = connection.scalar(select(func.count()).select_from(Check))
    counts = {str(status): int(count) for status, count in rows}
    counts["checks rows"] = int(checks or 0)
    return counts


# ---------------------------------------------------------------------------- reporting


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def report_run(links: int, insert_seconds: float, naive_rate: float, run: PipelineRun) -> bool:
    progress = run.progress
    rate = progress.checked / progress.seconds if progress.seconds > 0 else 0.0
    incomplete = "" if progress.finished else f" - INCOMPLETE: stopped at {progress.checked}"
    print(f"  insert:    {links} links in {insert_seconds:.1f} s (not part of the rate)")
    print(
        f"  pipeline:  {progress.checked} links in {progress.seconds:.1f} s = "
        f"{rate:.0f} links/s (polled every {POLL_SECONDS} s){incomplete}"
    )
    print(f"  ratio:     pipeline/naive = {rate / naive_rate:.1f}")
    during = ", ".join(f"{p}%: {mib(size)}" for p, size in sorted(progress.rss_at.items()))
    print(
        f"  memory:    worker peak RSS {mib(run.peak_rss_bytes)} over {run.processes} "
        f"processes; RSS at {during}"
    )
    if run.errors:
        print(f"  worker:    {len(run.errors)} error line(s) logged; the first: {run.errors[0]}")
    seconds_per_100k = progress.seconds * 100_000 / links
    met = progress.finished and seconds_per_100k < AIM_SECONDS_PER_100K
    print(
        f"  aim:       {seconds_per_100k:.0f} s per 100,000 links (aim < "
        f"{AIM_SECONDS_PER_100K:.0f} s): {'met' if met else 'NOT met'}"
    )
    return progress.finished


def report_politeness(stats: dict[str, object], links: int, args: argparse.Namespace) -> bool:
    bound = int(args.burst + args.rate * 1.0)
    in_flight, per_second = int(str(stats["max_in_flight"])), int(str(stats["max_per_second"]))
    ok = in_flight <= args.max_in_flight and per_second <= bound and stats["requests"] == links
    print(
        f"  polite:    the hosts saw {stats['requests']} GETs over {stats['hosts']} hosts; "
        f"most in flight at one host {in_flight} (cap {args.max_in_flight}); most within "
        f"any 1 s at one host {per_second} (bound burst + rate x 1 s = {bound}; "
        f"{stats['busiest_host']}): {'OK' if ok else 'FAILED'}"
    )
    return ok


def report_statuses(links: int) -> bool:
    counts = status_counts()
    removed = sum(expected_status(n) == CheckOutcome.REMOVED for n in range(links))
    expected = {"online": links - removed, "removed": removed, "checks rows": links}
    ok = counts == expected
    print(f"  statuses:  {counts} (expected {expected}): {'OK' if ok else 'FAILED'}")
    return ok


# ---------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add = parser.add_argument
    add("--links", type=int, nargs="+", default=[100_000], help="links (100000); several ok")
    add("--hosts", type=int, default=1000, help="distinct hosts (1000, at most 62500)")
    add("--per-case", type=int, default=100, help="links per case (100)")
    add("--sample", type=int, default=2000, help="links the naive loop checks (2000)")
    add("--latency", type=float, default=0.01, help="the hosts' answer delay (0.01 s)")
    add("--database-url", help="PostgreSQL URL (default: a SQLite file in a temp directory)")
    add("--pool", choices=["prefork", "threads"], default="prefork", help="(prefork)")
    add("--concurrency", type=int, default=2, help="worker processes or threads (2)")
    add("--batch-size", type=int, default=200, help="TAKEDOWN_CHECK_BATCH_SIZE (200)")
    add("--parallel", type=int, default=16, help="TAKEDOWN_CHECK_PARALLEL (16)")
    add("--rate", type=float, default=2.0, help="TAKEDOWN_HOST_RATE_PER_SECOND (2)")
    add("--burst", type=int, default=4, help="TAKEDOWN_HOST_BURST (4)")
    add("--max-in-flight", type=int, default=2, help="TAKEDOWN_HOST_MAX_IN_FLIGHT (2)")
    add("--stall", type=float, default=60, help="give up after this long without progress (60)")
    add("--timeout", type=float, default=1800, help="give up after (1800 s)")
    add("--serve", action="store_true", help=argparse.SUPPRESS)  # the fake hosts' subprocess
    return parser.parse_args()


def run_size(
    links: int, args: argparse.Namespace, hosts: FakeHosts, naive_rate: float, workdir: Path
) -> tuple[bool, int]:
    """One size from scratch: database, links, worker, nightly run. OK, and the peak RSS."""
    prefix = f"takedown-bench-nightly-{uuid.uuid4().hex[:8]}-"
    print(f"N={links} links over {args.hosts} hosts, {args.per_case} links a case:")
    with fresh_database(args.database_url, workdir, links) as database_url:
        settings = configure_run(workdir, database_url, prefix, args)
        migrate()
        insert_seconds = insert_links(links, args.hosts, hosts.port, args.per_case)
        hosts.control("reset")
        try:
            run = run_pipeline(settings, links, args, workdir / f"worker-{links}.log")
        finally:
            deleted = delete_keys(prefix)
        ok = report_run(links, insert_seconds, naive_rate, run)
        ok = report_politeness(hosts.control("stats"), links, args) and ok
        ok = report_statuses(links) and ok
        get_engine().dispose()
    print(f"  redis:     {deleted} key(s) of prefix {prefix} deleted")
    return ok, run.peak_rss_bytes


def main() -> int:
    args = parse_args()
    if args.serve:
        asyncio.run(serve(args.hosts, args.latency))
        return 0
    hosts = FakeHosts(args.hosts, args.latency)
    ok, peaks = True, {}
    try:
        with tempfile.TemporaryDirectory(prefix="takedown-bench-nightly-") as tmp:
            workdir = Path(tmp)
            write_platform(workdir / "platforms", args.hosts)
            settings = configure_run(workdir, f"sqlite:///{workdir / 'unused.db'}", "unused-", args)
            database = args.database_url or "SQLite (a new file in a temporary directory)"
            print(
                f"takedown nightly benchmark: database {database}, broker {REDIS_URL}, "
                f"{os.cpu_count()} CPUs"
            )
            print(
                f"settings:  worker --pool {args.pool} --concurrency {args.concurrency}; "
                f"CHECK_BATCH_SIZE={args.batch_size} CHECK_PARALLEL={args.parallel} "
                f"HOST_RATE_PER_SECOND={args.rate} HOST_BURST={args.burst} "
                f"HOST_MAX_IN_FLIGHT={args.max_in_flight} REMOVAL_CONFIRM_SECONDS=0; "
                f"hosts answer after {args.latency * 1000:.0f} ms on port {hosts.port}"
            )
            naive_seconds, right = naive_loop(args.sample, args.hosts, hosts.port, settings)
            naive_rate = args.sample / naive_seconds
            print(
                f"naive:     {args.sample} links one after another in {naive_seconds:.1f} s = "
                f"{naive_rate:.0f} links/s ({right}/{args.sample} judged as expected)"
            )
            ok = right == args.sample
            for links in args.links:
                size_ok, peaks[links] = run_size(links, args, hosts, naive_rate, workdir)
                ok = ok and size_ok
    finally:
        hosts.stop()
    if len(peaks) > 1:
        sizes = ", ".join(f"N={links}: {mib(peak)}" for links, peak in peaks.items())
        print(f"memory:    worker peak RSS by link count: {sizes}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
