"""Faults, for real: workers killed with SIGKILL mid-submission, the broker wiped and
restarted, PostgreSQL connections cut, and two worker processes racing for one request.

Every test runs real `takedown worker` subprocesses (prefork, as in production) against a
PostgreSQL database of its own, a private `redis-server` this module may flush and restart
(never the machine's shared one), the loopback fake platform and the SMTP sink. What counts
is what the platform and the mail sink actually received, per link: exactly once, or, for a
request whose worker died after it may have sent, `ambiguous` and never sent again.

PostgreSQL only: it is what production runs (compose.yaml), connections that drop are a
client-server matter, and a killed process there leaves locks and transactions to the
server to clean up, which is the behaviour worth testing. SQLite's crash safety is SQLite's.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import sqlalchemy
from sqlalchemy import select

from takedown.config import Settings
from takedown.store.db import engine_for, migrate, session_scope
from takedown.store.models import Attempt, RemovalRequest, Transition
from takedown.store.states import AT_REST, RequestState
from takedown.testing.cases import queued_case
from takedown.testing.environment import QUICK, local_environment, overridden_environment
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Received, Reply
from takedown.testing.processes import TAKEDOWN, TakedownProcess, wait_until
from takedown.testing.redis_server import RedisServer, RedisUnavailable
from takedown.testing.services import unavailable
from takedown.testing.smtp_sink import SmtpSink
from takedown.worker.publish import publish, publish_now

# Short enough that recovery shows within a test, in the proportions of production: a lost
# message is sent again REDELIVER_AFTER after it was published, at the next sweep; a request
# left `sending` by a dead worker is ambiguous at the first sweep after its lease lapsed
# (SENDER_LEASE after it was last renewed). SENDING_TIMEOUT, the backstop, is set far beyond
# every bound here, so that a test passes only if the lease does its work.
SWEEP_SECONDS = 0.5
REDELIVER_AFTER_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 3.0
TASK_TIME_LIMIT_SECONDS = 10.0
SENDER_LEASE_SECONDS = 1.5
SENDING_TIMEOUT_SECONDS = 600.0
# Generous room for what the machine adds: a worker reconnecting to a restarted broker backs
# off for a few seconds, a worker takes seconds to start, and two cores are shared.
SLACK_SECONDS = 30.0
RECOVERY_BOUND = REDELIVER_AFTER_SECONDS + 4 * SWEEP_SECONDS + SLACK_SECONDS
STUCK_BOUND = SENDER_LEASE_SECONDS + RECOVERY_BOUND
# A platform that holds a submission without answering. The kill follows the submission's
# arrival within a moment, while the worker waits for the answer; one that came after the
# read time-out would leave an attempt row (an ambiguous time-out), which the tests refuse.
HOLD = Reply(200, "ok ticket=HELD-1", delay=30)

PLATFORM = """id: {id}
name: {name}
domains: ["{id}.example"]
deadline_hours: 48
legal_bases: [terms]
source: {site}/{id}/help
checked: 2026-11-22
channels:
"""
WEBFORM = """  - type: webform
    submit_url: {site}/{id}/intake
    fields: {{url: "{{{{ item.url }}}}", details: "{{{{ notice.body }}}}"}}
    success: {{status: [200], ticket_pattern: "ticket=([0-9A-Z-]+)"}}
"""
EMAIL = """  - type: email
    to: ncii@{id}.example
"""
# By role: `killed` holds submissions, the steady ones answer (each test scripts them for
# itself), `contested` is the race's. Links are unique per test, and counted per link.
FAULT_PLATFORMS = {
    "killed": WEBFORM,
    "steadyform": WEBFORM,
    "steadymail": EMAIL,
    "contested": WEBFORM,
}


@pytest.fixture(scope="module")
def broker() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except RedisUnavailable as error:
        unavailable(f"the fault tests need a Redis of their own to flush and restart: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fault_platforms(site: FakePlatform, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fault-platforms")
    for name, channel in FAULT_PLATFORMS.items():
        fields = {"id": name, "name": name.capitalize(), "site": site.base_url}
        text = PLATFORM.format(**fields) + channel.format(**fields)
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


@dataclass
class Faults:
    """One scenario's running world: its settings and variables, and what it can break."""

    settings: Settings
    variables: dict[str, str]
    broker: RedisServer
    database_url: str
    site: FakePlatform
    smtp: SmtpSink
    workdir: Path


@pytest.fixture
def faults(
    broker: RedisServer,
    fault_platforms: Path,
    site: FakePlatform,
    smtp: SmtpSink,
    tmp_path: Path,
    fresh_postgres_url: str,
) -> Iterator[Faults]:
    """One test's world: a PostgreSQL database of its own (dropped after it), the broker,
    the platforms and the mail sink."""
    database_url = fresh_postgres_url
    prefix = f"takedown-faults-{uuid.uuid4().hex[:8]}-"
    variables = local_environment(
        database_url=database_url,
        broker_url=broker.url(),
        platforms_dir=fault_platforms,
        secret_key=os.environ["TAKEDOWN_SECRET_KEY"],
        queue_prefix=prefix,
        smtp_port=smtp.port,
    )
    variables |= QUICK | {
        "TAKEDOWN_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "TAKEDOWN_REDELIVER_AFTER_SECONDS": str(REDELIVER_AFTER_SECONDS),
        "TAKEDOWN_HTTP_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT_SECONDS),
        "TAKEDOWN_HTTP_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT_SECONDS),
        "TAKEDOWN_TASK_TIME_LIMIT_SECONDS": str(TASK_TIME_LIMIT_SECONDS),
        "TAKEDOWN_SENDING_TIMEOUT_SECONDS": str(SENDING_TIMEOUT_SECONDS),
        "TAKEDOWN_SENDER_LEASE_SECONDS": str(SENDER_LEASE_SECONDS),
    }
    with overridden_environment(variables) as settings:
        migrate()
        yield Faults(settings, variables, broker, database_url, site, smtp, tmp_path)
        engine_for(database_url).dispose()


# ---------------------------------------------------------------------------- workers


class Worker(TakedownProcess):
    def sweeps(self) -> int:
        return self.lines().count("takedown.tasks.sweep[") // 2  # received, then succeeded

    def kill_the_process_that_sent(self, submission: Received) -> int:
        """SIGKILL the pool process whose connection carried this submission."""
        for child in psutil.Process(self.pid).children():
            try:
                ports = {c.laddr.port for c in child.net_connections("tcp") if c.laddr}
            except psutil.NoSuchProcess:  # one killed a moment ago, not yet replaced
                continue
            if submission.client_port in ports:
                child.kill()
                return int(child.pid)
        raise AssertionError("no pool process holds the submission's connection")


@contextmanager
def worker(faults: Faults, name: str, *, beat: bool = True) -> Iterator[Worker]:
    """A `takedown worker` (prefork, two processes) in a process group of its own, so that
    it can be killed whole. A second worker of the same name reuses the directory, and so
    the beat schedule file, as a restarted service would."""
    options = ["--loglevel", "INFO", "--pool", "prefork", "--concurrency", "2"]
    command = [str(TAKEDOWN), "worker", *options, *(["--beat"] if beat else [])]
    log = faults.workdir / name / "worker.log"
    running = Worker(command, log, {**os.environ, **faults.variables})
    try:
        yield running.start().wait_ready(60)
    finally:
        running.stop(20)


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    try:
        wait_until(condition, seconds, what)
    except TimeoutError as error:
        raise AssertionError(str(error)) from None


def several_sweeps_later(running: Worker) -> None:
    """Wait for sweeps spanning a redelivery window and two more: time enough for anything
    the sweeper would send again to go out."""
    target = running.sweeps() + int(REDELIVER_AFTER_SECONDS / SWEEP_SECONDS) + 2
    wait_for(lambda: running.sweeps() >= target, 60, "more sweeps")


# ---------------------------------------------------------------------------- requests


def links(platform: str, count: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    # Zero-padded, so that no link is the beginning of another (-1 of -10) in a mail body.
    return [f"https://{platform}.example/p/{run}-{i:04d}" for i in range(count)]


def queue_links(faults: Faults, urls: list[str], *, publish_them: bool = True) -> dict[str, str]:
    """One case with these links, a queued request for each; {request id: link}."""
    requests = queued_case(faults.settings, urls, language="en").links
    if publish_them:
        assert publish_now(list(requests))
    return requests


@dataclass(frozen=True)
class Seen:
    state: str
    attempts: int  # attempt rows: a worker killed before recording leaves none
    claims: int  # moves to `sending`
    last_error: str | None


def seen(request_ids: Iterable[str]) -> dict[str, Seen]:
    ids = list(request_ids)
    for _ in range(5):
        try:
            return _seen(ids)
        except sqlalchemy.exc.OperationalError:
            # The test's own connection, cut by the PostgreSQL test along with the workers'.
            time.sleep(0.1)
    return _seen(ids)


def _seen(request_ids: list[str]) -> dict[str, Seen]:
    with session_scope() as session:
        requests = session.scalars(
            select(RemovalRequest).where(RemovalRequest.id.in_(request_ids))
        ).all()

        def per_request(column: Any, *where: Any) -> Counter[str]:
            return Counter(session.scalars(select(column).where(column.in_(request_ids), *where)))

        attempts = per_request(Attempt.request_id)
        claims = per_request(Transition.request_id, Transition.to_state == RequestState.SENDING)
        return {r.id: Seen(r.state, attempts[r.id], claims[r.id], r.last_error) for r in requests}


def count_in(request_ids: Iterable[str], state: str) -> int:
    return sum(s.state == state for s in seen(request_ids).values())


def all_at_rest(request_ids: Iterable[str]) -> bool:
    return all(s.state in AT_REST for s in seen(request_ids).values())


def submissions(faults: Faults, url: str) -> list[Received]:
    platform = url.split("://", 1)[1].split(".", 1)[0]
    return [r for r in faults.site.requests_to(f"/{platform}/intake") if r.form.get("url") == url]


def received(faults: Faults, url: str) -> int:
    """How many times the platform got this link's request, by form or by email."""
    platform = url.split("://", 1)[1].split(".", 1)[0]
    if FAULT_PLATFORMS[platform] is EMAIL:
        inbox = faults.smtp.to(f"ncii@{platform}.example")
        return sum(url in mail.message.get_content() for mail in inbox)
    return len(submissions(faults, url))


def receipts(faults: Faults, requests: dict[str, str]) -> dict[str, int]:
    return {request_id: received(faults, url) for request_id, url in requests.items()}


def settled(faults: Faults, requests: dict[str, str]) -> bool:
    """Every request at rest, or one already sent twice: no need to wait any longer."""
    return all_at_rest(requests) or any(n > 1 for n in receipts(faults, requests).values())


# ---------------------------------------------------------------------------- killed workers

STUCK = "the worker sending this request stopped before recording the outcome"


def test_both_pool_processes_killed_mid_submission_leave_their_requests_ambiguous_not_resent(
    faults: Faults,
) -> None:
    faults.site.script("/killed/intake", HOLD)
    faults.site.script("/steadyform/intake", Reply(200, "ok ticket=SF-0"))
    with worker(faults, "w") as running:
        killed = queue_links(faults, links("killed", 2))
        # Each of the two pool processes holds one submission the platform has not answered.
        wait_for(lambda: all(submissions(faults, u) for u in killed.values()), 30, "both sent")
        pids = {
            running.kill_the_process_that_sent(submissions(faults, u)[0]) for u in killed.values()
        }
        wait_for(lambda: all_at_rest(killed), STUCK_BOUND, "the requests at rest")
        # The pool replaced its killed processes: the worker still delivers.
        after = queue_links(faults, links("steadyform", 2))
        wait_for(lambda: all_at_rest(after), RECOVERY_BOUND, "requests after the kills")
        several_sweeps_later(running)

    assert len(pids) == 2
    for request in seen(killed).values():
        # No attempt row: the outcome was never recorded, so this is the kill, not a time-out.
        assert (request.state, request.attempts, request.claims) == ("ambiguous", 0, 1)
        assert STUCK in (request.last_error or "")
    assert receipts(faults, killed) == dict.fromkeys(killed, 1)
    assert {s.state for s in seen(after).values()} == {"sent"}
    assert receipts(faults, after) == dict.fromkeys(after, 1)


def test_a_slow_send_outlasting_its_lease_is_kept_alive_and_not_called_ambiguous(
    faults: Faults,
) -> None:
    # Answered after 2.5 s: longer than the lease (1.5 s), shorter than the read time-out.
    faults.site.script("/steadyform/intake", Reply(200, "ok ticket=SLOW-1", delay=2.5))
    with worker(faults, "w") as running:
        slow = queue_links(faults, links("steadyform", 2))
        wait_for(lambda: all_at_rest(slow), RECOVERY_BOUND, "the slow requests at rest")
        several_sweeps_later(running)
    # Sweeps ran every 0.5 s while they were sent: only the renewed lease kept them sending.
    assert {s.state for s in seen(slow).values()} == {"sent"}
    assert receipts(faults, slow) == dict.fromkeys(slow, 1)


def test_a_worker_killed_whole_mid_submission_is_recovered_by_a_fresh_worker(
    faults: Faults,
) -> None:
    faults.site.script("/killed/intake", HOLD)
    faults.site.script("/steadyform/intake", Reply(200, "ok ticket=SF-0", delay=0.1))
    with worker(faults, "w") as first:
        held = queue_links(faults, links("killed", 1))
        wait_for(lambda: submissions(faults, *held.values()), 30, "the held submission")
        behind = queue_links(faults, links("steadyform", 12))
        wait_for(lambda: count_in(behind, "sent") >= 2, 30, "two requests behind it sent")
        first.kill_group()
    requests = held | behind
    left = [request_id for request_id, s in seen(behind).items() if s.state != "sent"]
    assert left, "the kill came too late to leave anything to recover"

    with worker(faults, "w") as second:  # the same directory: its beat schedule survived
        wait_for(lambda: settled(faults, requests), STUCK_BOUND, "every request at rest")
        several_sweeps_later(second)

    now = seen(requests)
    assert (now[next(iter(held))].state, now[next(iter(held))].attempts) == ("ambiguous", 0)
    for request_id, request in now.items():
        if request.state == "ambiguous":
            # Left `sending` by the kill: perhaps sent, so flagged for a person, never resent.
            assert request.attempts == 0
            assert STUCK in (request.last_error or "")
            assert received(faults, requests[request_id]) <= 1
        else:
            assert request.state == "sent"
            assert received(faults, requests[request_id]) == 1


# ---------------------------------------------------------------------------- the broker


def test_a_wiped_and_a_restarted_broker_lose_no_request_and_send_none_twice(
    faults: Faults,
) -> None:
    faults.site.script("/steadyform/intake", Reply(200, "ok ticket=SF-1", delay=0.1))
    requests = queue_links(faults, links("steadyform", 30) + links("steadymail", 10))
    queue = faults.broker.client()
    submissions_queue = f"{faults.settings.queue_prefix}submissions"
    with worker(faults, "w"):
        wait_for(lambda: count_in(requests, "sent") >= 5, 60, "5 requests sent")
        waiting = queue.llen(submissions_queue)
        faults.broker.flush()
        wait_for(lambda: count_in(requests, "sent") >= 15, RECOVERY_BOUND, "15 requests sent")
        faults.broker.restart()
        wait_for(lambda: settled(faults, requests), RECOVERY_BOUND, "every request at rest")
    assert waiting > 0, "the wipe came too late to lose any message"
    assert receipts(faults, requests) == dict.fromkeys(requests, 1)
    assert {s.state for s in seen(requests).values()} == {"sent"}


# ---------------------------------------------------------------------------- PostgreSQL


def drop_connections(database_url: str) -> int:
    """Terminate every other session of this database, as a failover or a restart would."""
    engine = sqlalchemy.create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            terminated = connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return len(terminated.all())
    finally:
        engine.dispose()


@contextmanager
def connections_cut_every(database_url: str, seconds: float) -> Iterator[list[int]]:
    """Cut every connection to the database again and again while the block runs; yields
    how many each cut terminated."""
    cuts: list[int] = []
    done = threading.Event()

    def cut() -> None:
        while not done.wait(seconds):
            cuts.append(drop_connections(database_url))

    cutter = threading.Thread(target=cut, daemon=True)
    cutter.start()
    try:
        yield cuts
    finally:
        done.set()
        cutter.join(10)


def test_workers_recover_from_dropped_database_connections_and_send_each_request_once(
    faults: Faults,
) -> None:
    faults.site.script("/steadyform/intake", Reply(200, "ok ticket=SF-2", delay=0.05))
    requests = queue_links(faults, links("steadyform", 40) + links("steadymail", 20))
    with worker(faults, "w"):
        with connections_cut_every(faults.database_url, 0.3) as cuts:
            wait_for(lambda: count_in(requests, "sent") >= 40, RECOVERY_BOUND, "40 sent")
        wait_for(lambda: settled(faults, requests), RECOVERY_BOUND, "every request at rest")
    assert sum(cuts) > 0, f"no cut found a connection: {cuts}"
    assert receipts(faults, requests) == dict.fromkeys(requests, 1)
    assert {s.state for s in seen(requests).values()} == {"sent"}


# ---------------------------------------------------------------------------- racing


def test_two_worker_processes_racing_for_the_same_requests_send_each_once(
    faults: Faults,
) -> None:
    faults.site.script("/contested/intake", Reply(200, "ok ticket=CT-1", delay=0.2))
    # No beat: only the duplicates published here, side by side, reach the two workers.
    with worker(faults, "one", beat=False) as one, worker(faults, "two", beat=False) as two:
        requests = queue_links(faults, links("contested", 16), publish_them=False)
        publish([request_id for request_id in requests for _ in range(4)])
        wait_for(lambda: settled(faults, requests), 60, "every request at rest")
        handled = re.compile(r"deliver_request\[[-0-9a-f]+\] (succeeded|raised)")
        wait_for(
            lambda: len(handled.findall(one.lines() + two.lines())) >= 64,
            30,
            "every duplicate message handled",
        )
    assert one.lines().count("delivered, ticket") > 0, "worker one sent nothing: no race"
    assert two.lines().count("delivered, ticket") > 0, "worker two sent nothing: no race"
    assert receipts(faults, requests) == dict.fromkeys(requests, 1)
    assert {s.state for s in seen(requests).values()} == {"sent"}
    assert {s.claims for s in seen(requests).values()} == {1}
