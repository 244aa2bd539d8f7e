"""Removal requests through workers that are killed, a broker that is wiped and restarted:
how many are lost, sent twice or left ambiguous, and how long the backlog takes to drain.

What runs, on loopback only:

- a PostgreSQL database created for the run (``--postgres-url`` names the server; the
  database ``takedown_bench_faults_<random>`` is dropped at the end), a private
  ``redis-server`` on a free port (takedown.testing.redis_server: the machine's shared Redis
  is never flushed), a fake platform with a web form answering after ``--latency`` seconds
  and an SMTP sink, both in this process;
- two ``takedown worker`` processes (prefork, ``--concurrency 2`` each) and one beat
  (``celery beat``, as compose.yaml runs it), each in its own process group;
- two runs of ``--n`` requests (default 1,000; three in four to the web form, one in four by
  email), each from publishing until every request is at rest (sent, ambiguous or failed):
  the baseline with no fault, then the same number with faults. The faults fire when the
  number of requests at rest crosses thresholds drawn at random (``--seed``) between 3 % and
  85 % of the run: ``--kills`` SIGKILLs (half to one pool process of a random worker, half to
  a whole worker's process group, which is then started again at once, as a supervisor
  would), ``--wipes`` FLUSHDBs of the broker and ``--restarts`` restarts of the Redis
  process (killed, started again empty).

Then the workers are restarted with production's ``TAKEDOWN_REDELIVER_AFTER_SECONDS``
(300 s), and ``--wipe-n`` requests (200) are drained twice: as a baseline, and published with
the broker wiped at once (the workers hold a few messages; the rest are lost), timed from the
wipe until every request is at rest. A quick recovery there is the sweep noticing the wipe
(takedown.worker.broker_marker), not the redelivery window.

Then it waits three sweeps more, so anything that would be sent again has time to go, and
counts what the platform and the mail sink received per link. It prints: requests, kills,
wipes, restarts, lost (never received and not flagged for a person, or still not at rest),
duplicated (received more than once), ambiguous (split into received once / never), failed,
and the time to drain of both runs. The exit status is 1 when a request was lost or
duplicated.

Settings are short, in production's proportions (``TAKEDOWN_SWEEP_SECONDS`` 1,
``TAKEDOWN_REDELIVER_AFTER_SECONDS`` 3, ``TAKEDOWN_TASK_TIME_LIMIT_SECONDS`` 10,
``TAKEDOWN_SENDER_LEASE_SECONDS`` 2), so that a request left ``sending`` by a kill is
flagged within seconds rather than production's lease and sweep (20 s and 60 s). The
backstop ``TAKEDOWN_SENDING_TIMEOUT_SECONDS`` is set far beyond the run, so the lease alone
does it.

Run it with ``make bench-faults`` (``.venv/bin/python bench/faults.py``).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from harness import configure, postgres_server
from sqlalchemy import func, select

from takedown.config import Settings
from takedown.store.db import migrate, session_scope
from takedown.store.models import RemovalRequest
from takedown.store.states import AT_REST, RequestState
from takedown.testing.cases import queued_case
from takedown.testing.databases import postgres_database
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply
from takedown.testing.processes import BIN, TakedownProcess, wait_until
from takedown.testing.redis_server import RedisServer
from takedown.testing.smtp_sink import SmtpSink
from takedown.worker.publish import publish_now

FORM_PATH = "/benchform/intake"
MAILBOX = "ncii@benchmail.example"
SWEEP_SECONDS = 1.0
REDELIVER_AFTER_SECONDS = 3.0
# The default of TAKEDOWN_REDELIVER_AFTER_SECONDS, for the wipe part of the run.
PRODUCTION_REDELIVERY = 300.0
TASK_TIME_LIMIT_SECONDS = 10.0
SENDER_LEASE_SECONDS = 2.0
SENDING_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 0.2

PLATFORMS = {
    "benchform": """
name: Benchform
domains: ["benchform.example"]
deadline_hours: 48
legal_bases: [terms]
source: SITE/benchform/help
checked: 2026-11-22
channels:
  - type: webform
    submit_url: SITEFORM_PATH
    fields: {url: "{{ item.url }}", details: "{{ notice.body }}"}
    success: {status: [200], ticket_pattern: "ticket=([0-9A-Z-]+)"}
""",
    "benchmail": """
name: Benchmail
domains: ["benchmail.example"]
deadline_hours: 48
legal_bases: [terms]
source: SITE/benchmail/help
checked: 2026-11-22
channels:
  - type: email
    to: MAILBOX
""",
}


# ---------------------------------------------------------------------------- setting up


def fresh_database(server_url: str) -> AbstractContextManager[str]:
    """A database of this run's own on the server of ``server_url``, dropped afterwards."""
    return postgres_database(postgres_server(server_url), prefix="takedown_bench_faults")


def write_platforms(directory: Path, site: FakePlatform) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in PLATFORMS.items():
        text_ = body.replace("FORM_PATH", FORM_PATH).replace("SITE", site.base_url)
        text_ = text_.replace("MAILBOX", MAILBOX)
        (directory / f"{name}.yaml").write_text(f"id: {name}{text_}", encoding="utf-8")


def queue_run(settings: Settings, n: int, run: str) -> dict[str, str]:
    """One case of N links (three in four on the web form), a queued request each, not yet
    published; {request id: link}."""
    urls = [
        f"https://{'benchmail' if i % 4 == 3 else 'benchform'}.example/{run}/{i:05d}"
        for i in range(n)
    ]
    bench_victim = {"victim_name": "Bench Victim", "victim_email": "victim@bench.example"}
    return queued_case(settings, urls, language="en", **bench_victim).links


# ---------------------------------------------------------------------------- processes


def new_worker(workdir: Path, name: str) -> TakedownProcess:
    return TakedownProcess.worker(
        workdir / name / "worker.log", "--loglevel", "INFO", "--concurrency", "2"
    )


def new_beat(workdir: Path) -> TakedownProcess:
    directory = workdir / "beat"
    command = [str(BIN / "celery"), "-A", "takedown.worker.celery_app:app", "beat"]
    command += ["--loglevel", "WARNING", "--schedule", str(directory / "schedule")]
    return TakedownProcess(command, directory / "beat.log")


# ---------------------------------------------------------------------------- faults


@dataclass
class Faults:
    """What breaks, and when: each fault fires once the count at rest passes its threshold."""

    plan: list[tuple[int, str]]
    done: Counter[str] = field(default_factory=Counter)
    last_at: float = 0.0

    @classmethod
    def drawn(cls, n: int, kills: int, wipes: int, restarts: int, rng: random.Random) -> Faults:
        kinds = ["pool process"] * (kills - kills // 2) + ["whole worker"] * (kills // 2)
        kinds += ["broker wipe"] * wipes + ["broker restart"] * restarts
        rng.shuffle(kinds)
        thresholds = sorted(rng.randint(int(0.03 * n), int(0.85 * n)) for _ in kinds)
        return cls(list(zip(thresholds, kinds, strict=True)))

    def fire_due(
        self,
        at_rest: int,
        workers: list[TakedownProcess],
        broker: RedisServer,
        rng: random.Random,
        started: float,
    ) -> None:
        while self.plan and self.plan[0][0] <= at_rest:
            _, kind = self.plan.pop(0)
            if kind == "pool process":
                candidates = [(w, child) for w in workers for child in w.pool()]
                if not candidates:  # both workers between a kill and a restart: later
                    self.plan.insert(0, (at_rest + 1, kind))
                    return
                _, child = rng.choice(candidates)
                child.send_signal(signal.SIGKILL)
            elif kind == "whole worker":
                worker = rng.choice(workers)
                worker.kill_group()
                worker.start()  # at once, as a supervisor would
            elif kind == "broker wipe":
                broker.flush()
            else:
                broker.restart()
            self.done[kind] += 1
            self.last_at = time.perf_counter() - started


# ---------------------------------------------------------------------------- measuring


def states(request_ids: list[str]) -> Counter[str]:
    with session_scope() as session:
        rows = session.execute(
            select(RemovalRequest.state, func.count())
            .where(RemovalRequest.id.in_(request_ids))
            .group_by(RemovalRequest.state)
        ).all()
    return Counter({state: count for state, count in rows})  # noqa: C416


@dataclass
class Drained:
    seconds: float
    finished: bool


def drain(
    requests: dict[str, str],
    timeout: float,
    on_progress: Callable[[int, float], None] | None = None,
) -> Drained:
    ids = list(requests)
    started = time.perf_counter()
    if not publish_now(ids):
        raise RuntimeError("the broker could not be reached to publish")
    while True:
        now = states(ids)
        at_rest = sum(count for state, count in now.items() if state in AT_REST)
        elapsed = time.perf_counter() - started
        if at_rest == len(ids):
            return Drained(elapsed, finished=True)
        if elapsed > timeout:
            return Drained(elapsed, finished=False)
        if on_progress is not None:
            on_progress(at_rest, started)
        time.sleep(POLL_SECONDS)


def wiped_after_publishing(
    requests: dict[str, str], broker: RedisServer, timeout: float
) -> Drained:
    """Publish, wipe the broker at once (the workers hold a few messages; the rest are lost),
    and time from the wipe until every request is at rest."""
    ids = list(requests)
    if not publish_now(ids):
        raise RuntimeError("the broker could not be reached to publish")
    broker.flush()
    wiped = time.perf_counter()
    while True:
        at_rest = sum(count for state, count in states(ids).items() if state in AT_REST)
        elapsed = time.perf_counter() - wiped
        if at_rest == len(ids) or elapsed > timeout:
            return Drained(elapsed, finished=at_rest == len(ids))
        time.sleep(POLL_SECONDS)


def restart_with(workers: list[TakedownProcess], variables: dict[str, str]) -> None:
    for worker in workers:
        worker.stop()
        worker.environment |= variables
        worker.start()
    for worker in workers:
        wait_until(worker.ready, 60, "a worker starting")


LINK = re.compile(r"https://benchmail\.example/[0-9a-z]+/\d{5}")


def receipts(site: FakePlatform, smtp: SmtpSink) -> Counter[str]:
    """How many times each link reached its platform, by form or by email."""
    got: Counter[str] = Counter(r.form.get("url", "") for r in site.requests_to(FORM_PATH))
    for mail in smtp.to(MAILBOX):
        got.update(set(LINK.findall(mail.message.get_content())))
    return got


@dataclass
class Tally:
    requests: int
    lost: list[str]
    duplicated: list[str]
    ambiguous_received: int
    ambiguous_never: int
    failed: int
    sent_once: int


def tally(requests: dict[str, str], got: Counter[str]) -> Tally:
    with session_scope() as session:
        rows = session.execute(
            select(RemovalRequest.id, RemovalRequest.state).where(
                RemovalRequest.id.in_(list(requests))
            )
        ).all()
    lost, duplicated = [], []
    ambiguous_received = ambiguous_never = failed = sent_once = 0
    for request_id, state in rows:
        times = got[requests[request_id]]
        if times > 1:
            duplicated.append(request_id)
        if state == RequestState.AMBIGUOUS:
            ambiguous_received += times == 1
            ambiguous_never += times == 0
        elif state == RequestState.FAILED:
            failed += 1
        elif state == RequestState.SENT and times == 1:
            sent_once += 1
        elif times == 0 or state not in AT_REST:
            # Not at rest, or "sent" with nothing at the platform: nobody would ever know.
            lost.append(request_id)
    return Tally(
        len(requests), lost, duplicated, ambiguous_received, ambiguous_never, failed, sent_once
    )


# ---------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add = parser.add_argument
    add("--n", type=int, default=1000, help="requests per run (1000)")
    add("--kills", type=int, default=10, help="SIGKILLs, half pool processes (10)")
    add("--wipes", type=int, default=2, help="broker FLUSHDBs (2)")
    add("--restarts", type=int, default=1, help="broker restarts (1)")
    add("--wipe-n", type=int, default=200, help="requests queued when the broker is wiped (200)")
    add("--latency", type=float, default=0.02, help="the platform's answer delay (0.02 s)")
    add("--seed", type=int, default=None, help="for the fault thresholds (random)")
    add(
        "--postgres-url",
        default=os.environ.get(
            "TAKEDOWN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL server to create the run's database on",
    )
    add("--timeout", type=float, default=600, help="give up a run after (600 s)")
    return parser.parse_args()


def report(name: str, run: Drained, result: Tally) -> None:
    state = "" if run.finished else " - INCOMPLETE"
    print(f"{name}: {result.requests} requests drained in {run.seconds:.1f} s{state}")


def main() -> int:
    args = parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory(prefix="takedown-faults-") as tmp,
        FakePlatform() as site,
        SmtpSink() as smtp,
        RedisServer() as broker,
        fresh_database(args.postgres_url) as database_url,
    ):
        workdir = Path(tmp)
        site.script(FORM_PATH, Reply(200, "ok ticket=BF-1", delay=args.latency))
        write_platforms(workdir / "platforms", site)
        settings = configure(
            database_url=database_url,
            platforms_dir=workdir / "platforms",
            broker_url=broker.url(),
            smtp_port=smtp.port,
            extra={
                "TAKEDOWN_SWEEP_SECONDS": str(SWEEP_SECONDS),
                "TAKEDOWN_REDELIVER_AFTER_SECONDS": str(REDELIVER_AFTER_SECONDS),
                "TAKEDOWN_HTTP_CONNECT_TIMEOUT_SECONDS": "1",
                "TAKEDOWN_HTTP_READ_TIMEOUT_SECONDS": "3",
                "TAKEDOWN_SMTP_TIMEOUT_SECONDS": "3",
                "TAKEDOWN_TASK_TIME_LIMIT_SECONDS": str(TASK_TIME_LIMIT_SECONDS),
                "TAKEDOWN_SENDING_TIMEOUT_SECONDS": str(SENDING_TIMEOUT_SECONDS),
                "TAKEDOWN_SENDER_LEASE_SECONDS": str(SENDER_LEASE_SECONDS),
            },
        )
        migrate()
        print(
            f"takedown fault benchmark: {args.n} requests per run (3/4 web form, 1/4 email), "
            f"PostgreSQL, a private redis-server, 2 workers (prefork, 2 processes each) and "
            f"1 beat; seed {seed}; os.cpu_count() = {os.cpu_count()}"
        )
        workers = [new_worker(workdir, "one"), new_worker(workdir, "two")]
        beat = new_beat(workdir)
        try:
            for process in [*workers, beat]:
                process.start()
            for worker in workers:
                wait_until(worker.ready, 60, "a worker starting")

            baseline = queue_run(settings, args.n, "base")
            base_run = drain(baseline, args.timeout)

            faults = Faults.drawn(args.n, args.kills, args.wipes, args.restarts, rng)
            faulty = queue_run(settings, args.n, "faults")

            def on_progress(at_rest: int, started: float) -> None:
                faults.fire_due(at_rest, workers, broker, rng, started)

            fault_run = drain(faulty, args.timeout, on_progress)

            # The broker wiped with requests queued: with production's redelivery window, so
            # that only the sweep noticing the wipe can explain a quick recovery.
            restart_with(workers, {"TAKEDOWN_REDELIVER_AFTER_SECONDS": str(PRODUCTION_REDELIVERY)})
            wipe_base = drain(queue_run(settings, args.wipe_n, "wipebase"), args.timeout)
            wiped = queue_run(settings, args.wipe_n, "wiped")
            wipe_run = wiped_after_publishing(wiped, broker, args.timeout)
            # Time for anything that would be sent again to go out, before counting.
            time.sleep(3 * SWEEP_SECONDS + REDELIVER_AFTER_SECONDS)
            got = receipts(site, smtp)
        finally:
            for process in [beat, *workers]:
                process.stop()

        base, hit, wipe = tally(baseline, got), tally(faulty, got), tally(wiped, got)
        report("baseline, no faults", base_run, base)
        report("with faults        ", fault_run, hit)
        done = faults.done
        print(
            f"faults:     {done['pool process'] + done['whole worker']} kills "
            f"({done['pool process']} pool processes, {done['whole worker']} whole workers "
            f"restarted at once), {done['broker wipe']} broker wipes (FLUSHDB), "
            f"{done['broker restart']} broker restart; the last at {faults.last_at:.1f} s, "
            f"drained {fault_run.seconds - faults.last_at:.1f} s later (a send cut short by a "
            f"kill waits for its lease to lapse, {SENDER_LEASE_SECONDS:g} s here, and a sweep)"
        )
        print(
            f"wipe:       {args.wipe_n} requests drained in {wipe_base.seconds:.1f} s without a "
            f"fault; published again and the broker wiped at once: all at rest "
            f"{wipe_run.seconds:.1f} s after the wipe (sweep every {SWEEP_SECONDS:g} s; "
            f"TAKEDOWN_REDELIVER_AFTER_SECONDS {PRODUCTION_REDELIVERY:g} s, which a lost "
            "message would otherwise have waited)" + ("" if wipe_run.finished else " - INCOMPLETE")
        )
        for name, result in (("baseline", base), ("faults", hit), ("wipe", wipe)):
            print(
                f"{name + ':':<11} requests {result.requests}, lost {len(result.lost)}, "
                f"duplicated {len(result.duplicated)}, ambiguous "
                f"{result.ambiguous_received + result.ambiguous_never} "
                f"(received once {result.ambiguous_received}, never {result.ambiguous_never}), "
                f"failed {result.failed}, sent exactly once {result.sent_once}"
            )
        ok = all(not r.lost and not r.duplicated for r in (base, hit, wipe))
        ok = ok and base_run.finished and fault_run.finished and wipe_run.finished
        print(f"verdict:    {'nothing lost, nothing sent twice' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
