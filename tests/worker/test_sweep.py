"""The sweep task, as beat runs it, against a Redis of the test's own that it may wipe."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import pytest
import redis
from kombu.exceptions import OperationalError as BrokerUnavailable

from takedown.config import Settings
from takedown.testing.cases import queued_case
from takedown.testing.environment import Configure
from takedown.testing.redis_server import RedisServer, RedisUnavailable
from takedown.testing.services import unavailable
from takedown.worker import tasks
from takedown.worker.publish import publish_now


@pytest.fixture
def broker() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except RedisUnavailable as error:
        unavailable(f"this test needs a Redis of its own to wipe: {error}")
    try:
        yield server
    finally:
        server.stop()


def published(client: redis.Redis, settings: Settings, mine: list[str]) -> list[str]:
    """Which of ``mine`` the delivery messages waiting on the broker are for; the messages
    are taken off it. (The PostgreSQL test database holds other tests' requests too.)"""
    queue = f"{settings.queue_prefix}submissions"
    raw: list[bytes] = client.lrange(queue, 0, -1)  # type: ignore[assignment]
    client.delete(queue)
    ids: list[str] = []
    for message in raw:
        args, _, _ = json.loads(base64.b64decode(json.loads(message)["body"]))
        ids.extend(request_id for request_id in args if request_id in mine)
    return ids


@pytest.mark.usefixtures("environment")
def test_a_sweep_that_finds_the_broker_wiped_publishes_every_queued_request_at_once(
    broker: RedisServer, configure: Configure
) -> None:
    settings = configure(
        TAKEDOWN_BROKER_URL=broker.url(),
        TAKEDOWN_QUEUE_PREFIX=f"sweep-{uuid.uuid4().hex[:8]}-",
        # A message counts as lost only after five minutes: far longer than this test.
        TAKEDOWN_REDELIVER_AFTER_SECONDS="300",
    )
    client = broker.client()
    links = [f"https://mailsite.example/p/{n}" for n in range(3)]
    queued = queued_case(settings, links)
    assert publish_now(queued.request_ids)
    mine = queued.request_ids
    tasks.sweep()  # the first sweep of a new service: it republishes what is queued
    published(client, settings, mine)
    tasks.sweep()
    assert published(client, settings, mine) == []  # each message is still on its way

    broker.flush()  # the broker loses every message it held

    tasks.sweep()
    assert sorted(published(client, settings, mine)) == sorted(mine)


@pytest.mark.usefixtures("environment")
def test_a_sweep_that_fails_after_seeing_the_wipe_leaves_it_for_the_next_sweep(
    broker: RedisServer, configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = configure(
        TAKEDOWN_BROKER_URL=broker.url(),
        TAKEDOWN_QUEUE_PREFIX=f"sweep-{uuid.uuid4().hex[:8]}-",
        TAKEDOWN_REDELIVER_AFTER_SECONDS="300",
    )
    client = broker.client()
    queued = queued_case(settings, [f"https://mailsite.example/p/{n}" for n in range(2)])
    assert publish_now(queued.request_ids)
    tasks.sweep()
    published(client, settings, queued.request_ids)
    broker.flush()

    def broker_gone(_request_ids: object) -> None:
        raise BrokerUnavailable("the broker went away mid-publish")

    with monkeypatch.context() as patched:
        patched.setattr(tasks, "publish", broker_gone)
        with pytest.raises(BrokerUnavailable):
            tasks.sweep()
    tasks.sweep()
    assert sorted(published(client, settings, queued.request_ids)) == sorted(queued.request_ids)
