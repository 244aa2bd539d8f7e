"""Politeness per host, shared by every worker through the real Redis."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from takedown.monitoring.politeness import HostPoliteness, Slot

HOST = "fotogram.example"


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def connect(redis_url: str) -> Iterator[Callable[[], redis.Redis]]:
    """New connections, as separate worker processes would each have, closed afterwards."""
    opened: list[redis.Redis] = []

    def new_connection() -> redis.Redis:
        opened.append(redis.Redis.from_url(redis_url))
        return opened[-1]

    yield new_connection
    for connection in opened:
        connection.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    """A key prefix of the test's own, and its keys deleted afterwards."""
    own = f"test-politeness-{uuid.uuid4().hex}:"
    yield own
    leftovers = list(client.scan_iter(match=f"{own}*"))
    if leftovers:
        client.delete(*leftovers)


def keys_under(client: redis.Redis, prefix: str) -> list[bytes]:
    return list(client.scan_iter(match=f"{prefix}*"))


def granted(slot: Slot | None) -> Slot:
    assert slot is not None, "expected a slot, was refused"
    return slot


def test_the_burst_is_allowed_and_the_next_request_waits_for_a_token_to_refill(
    client: redis.Redis, prefix: str
) -> None:
    polite = HostPoliteness(client, prefix, rate=20, burst=3, max_in_flight=100)

    for _ in range(3):
        granted(polite.try_acquire(HOST)).release()
    refused = polite.try_acquire(HOST)
    time.sleep(0.06)  # one token refills in 1/20 s
    refilled = polite.try_acquire(HOST)

    assert refused is None
    granted(refilled).release()
    assert polite.try_acquire(HOST) is None


def test_two_workers_share_one_bucket_per_host(
    connect: Callable[[], redis.Redis], prefix: str
) -> None:
    first = HostPoliteness(connect(), prefix, 0.01, 2, 100)
    second = HostPoliteness(connect(), prefix, 0.01, 2, 100)

    granted(first.try_acquire(HOST)).release()
    granted(second.try_acquire(HOST)).release()

    assert first.try_acquire(HOST) is None
    assert second.try_acquire(HOST) is None


def test_one_host_spending_its_tokens_leaves_other_hosts_untouched(
    client: redis.Redis, prefix: str
) -> None:
    polite = HostPoliteness(client, prefix, rate=0.01, burst=1, max_in_flight=1)
    busy = granted(polite.try_acquire("busy.example"))

    other = polite.try_acquire("other.example")

    assert polite.try_acquire("busy.example") is None
    granted(other).release()
    busy.release()


def test_the_concurrency_cap_holds_across_workers_and_a_release_frees_a_slot(
    connect: Callable[[], redis.Redis], prefix: str
) -> None:
    first = HostPoliteness(connect(), prefix, 1000, 100, max_in_flight=2)
    second = HostPoliteness(connect(), prefix, 1000, 100, max_in_flight=2)
    one = granted(first.try_acquire(HOST))
    two = granted(second.try_acquire(HOST))

    assert first.try_acquire(HOST) is None
    assert second.try_acquire(HOST) is None

    one.release()
    one.release()  # idempotent: must not free the other worker's slot
    three = granted(first.try_acquire(HOST))
    assert second.try_acquire(HOST) is None
    with two, three:
        pass
    granted(second.try_acquire(HOST)).release()


def test_the_slot_of_a_worker_that_died_is_reclaimed_when_its_lease_ends(
    client: redis.Redis, prefix: str
) -> None:
    polite = HostPoliteness(client, prefix, 1000, 100, max_in_flight=1, lease_seconds=0.2)
    dead = granted(polite.try_acquire(HOST))  # never released by its worker
    assert polite.try_acquire(HOST) is None

    time.sleep(0.3)
    alive = granted(polite.try_acquire(HOST))

    dead.release()  # a late release of the stale lease frees nothing of the new one
    assert polite.try_acquire(HOST) is None
    alive.release()


def test_a_request_refused_for_lack_of_a_slot_costs_no_token(
    client: redis.Redis, prefix: str
) -> None:
    polite = HostPoliteness(client, prefix, rate=0.01, burst=2, max_in_flight=1)
    holding = granted(polite.try_acquire(HOST))

    refusals = [polite.try_acquire(HOST) for _ in range(5)]
    holding.release()

    assert refusals == [None] * 5
    granted(polite.try_acquire(HOST)).release()  # the second token is still there
    assert polite.try_acquire(HOST) is None  # and there was no third


def test_a_request_refused_for_lack_of_a_token_keeps_no_slot(
    client: redis.Redis, prefix: str
) -> None:
    polite = HostPoliteness(client, prefix, rate=20, burst=1, max_in_flight=1)
    granted(polite.try_acquire(HOST)).release()

    refusals = [polite.try_acquire(HOST) for _ in range(5)]
    time.sleep(0.06)

    assert refusals == [None] * 5
    granted(polite.try_acquire(HOST)).release()  # the only slot was not leaked


def test_wait_for_returns_as_soon_as_a_token_refills(client: redis.Redis, prefix: str) -> None:
    polite = HostPoliteness(client, prefix, rate=20, burst=1, max_in_flight=10)
    taken = time.monotonic()  # the only token goes now; the next one is due 1/20 s later
    granted(polite.try_acquire(HOST)).release()

    slot = polite.wait_for(HOST, timeout=2)
    waited = time.monotonic() - taken

    # A slot, so it did not wait out the timeout; and not before the token was due (an order,
    # which a busy machine can only make later, never earlier).
    granted(slot).release()
    assert waited >= 0.045


def test_wait_for_gives_up_at_the_timeout_while_the_host_stays_saturated(
    client: redis.Redis, prefix: str
) -> None:
    polite = HostPoliteness(client, prefix, rate=1000, burst=100, max_in_flight=1)
    holding = granted(polite.try_acquire(HOST))

    started = time.monotonic()
    slot = polite.wait_for(HOST, timeout=0.3)
    waited = time.monotonic() - started

    # It gave up, and not before the timeout (pytest-timeout catches one that never does).
    assert slot is None
    assert waited >= 0.3
    holding.release()


def test_wait_for_takes_a_slot_released_by_another_worker(client: redis.Redis, prefix: str) -> None:
    polite = HostPoliteness(client, prefix, rate=1000, burst=100, max_in_flight=1)
    holding = granted(polite.try_acquire(HOST))
    released_at: list[float] = []

    def release() -> None:
        released_at.append(time.monotonic())
        holding.release()

    threading.Timer(0.1, release).start()
    slot = polite.wait_for(HOST, timeout=5)
    taken_at = time.monotonic()

    # The slot it got is the one released, after the release: not a timeout, not before.
    granted(slot).release()
    assert released_at
    assert taken_at >= released_at[0]


def test_every_key_has_a_ttl_and_is_gone_once_it_holds_nothing(
    client: redis.Redis, prefix: str
) -> None:
    polite = HostPoliteness(client, prefix, rate=20, burst=1, max_in_flight=1, lease_seconds=0.2)
    granted(polite.try_acquire(HOST))  # never released: only the lease's end removes it

    keys = keys_under(client, prefix)
    ttls = [client.pttl(key) for key in keys]
    time.sleep(0.3)

    assert len(keys) == 2
    assert all(0 < ttl <= 201 for ttl in ttls), ttls
    assert keys_under(client, prefix) == []


def test_eight_threads_hammering_one_host_get_no_more_than_the_bucket_allows(
    connect: Callable[[], redis.Redis], prefix: str
) -> None:
    rate, burst = 50, 5
    grants = 0
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        nonlocal grants
        polite = HostPoliteness(connect(), prefix, rate, burst, 1000)
        while not stop.is_set():
            slot = polite.try_acquire(HOST)
            if slot is not None:
                slot.release()
                with lock:
                    grants += 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    # Never more than the bucket allows in the time it ran, however slow the machine; and
    # tokens refilled (polite is not the same as stingy), without saying how fast.
    assert grants <= burst + rate * elapsed + 2
    assert grants > burst


@pytest.mark.parametrize(
    ("rate", "burst", "max_in_flight", "lease_seconds", "message"),
    [
        (0, 1, 1, 60, "rate must be a positive"),
        (float("inf"), 1, 1, 60, "rate must be a positive"),
        (1, 0, 1, 60, "burst must be at least 1"),
        (1, 1, 0, 60, "max_in_flight must be at least 1"),
        (1, 1, 1, 0, "lease_seconds must be a positive"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_the_name_of_the_setting(
    client: redis.Redis,
    rate: float,
    burst: int,
    max_in_flight: int,
    lease_seconds: float,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        HostPoliteness(client, "unused:", rate, burst, max_in_flight, lease_seconds)


def test_a_release_that_cannot_reach_redis_is_logged_and_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = redis.Redis(
        port=closed_port, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    slot = Slot(unreachable, f"{HOST}:leases", uuid.uuid4().hex, HOST)

    with slot:
        pass  # a request that was sent must not look failed because the release failed

    assert "frees itself when its lease ends" in caplog.text
    unreachable.close()
