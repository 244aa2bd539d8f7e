"""Noticing that the broker lost its messages: wiped (``FLUSHDB``), or restarted without
keeping its data.

Every sweep sets a marker key in the broker's database, if it is not there, in one atomic
step (``SET NX``). A sweep that finds it had to set it knows that every message the broker
held may be gone, and publishes every queued request at once, instead of each waiting
``TAKEDOWN_REDELIVER_AFTER_SECONDS`` for its message to be declared lost. The claim keeps a
duplicate message harmless, so nothing is sent twice. The first sweep after the service
starts finds no marker either, and publishes what is queued, which is as harmless.

Only Redis brokers named ``redis://`` or ``rediss://`` are watched; with any other, a lost
message waits for the redelivery window, as it did before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis

from takedown.config import Settings
from takedown.store.broker import broker_redis

log = logging.getLogger(__name__)


def marker_key(settings: Settings) -> str:
    return f"{settings.queue_prefix}takedown:sweep-marker"


@contextmanager
def watching_for_lost_messages(settings: Settings) -> Iterator[bool]:
    """Whether the marker was gone (and is now set again): the broker's messages may be gone
    with it. Should the sweep that acts on it fail, the marker is removed again, so that the
    next sweep publishes everything in its place. Never raises on the broker's account: a
    broker that cannot be asked now is asked at the next sweep."""
    client = broker_redis(settings)
    lost = client is not None and _set_marker(client, settings)
    try:
        yield lost
    except BaseException:
        if lost and client is not None:
            with suppress(redis.RedisError):
                client.delete(marker_key(settings))
        raise


def _set_marker(client: redis.Redis, settings: Settings) -> bool:
    try:
        return bool(client.set(marker_key(settings), "1", nx=True))
    except (redis.RedisError, ValueError) as error:
        log.warning("the broker could not be asked for its marker (%s)", type(error).__name__)
        return False
