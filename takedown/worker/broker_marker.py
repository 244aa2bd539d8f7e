"""Noticing that the broker lost its messages: wiped (``FLUSHDB``), or restarted without
keeping its data.

Every sweep leaves a marker key in the broker's database. A sweep that finds it gone knows
that every message the broker held may be gone too, and publishes every queued request at
once, instead of each waiting ``TAKEDOWN_REDELIVER_AFTER_SECONDS`` for its message to be
declared lost. The claim keeps a duplicate message harmless, so nothing is sent twice. The
first sweep after the service starts finds no marker either, and publishes what is queued,
which is as harmless.
"""

from __future__ import annotations

import logging

import redis

from takedown.config import Settings

log = logging.getLogger(__name__)


def _client(settings: Settings) -> redis.Redis | None:
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return None  # the demo's in-process broker loses nothing it does not lose entirely
    return redis.Redis.from_url(settings.broker_url, socket_connect_timeout=5)


def marker_key(settings: Settings) -> str:
    return f"{settings.queue_prefix}takedown:sweep-marker"


def messages_lost(settings: Settings) -> bool:
    """True when the marker is gone: the broker's messages may be gone with it."""
    client = _client(settings)
    if client is None:
        return False
    try:
        return not client.exists(marker_key(settings))
    except redis.RedisError as error:
        # Unreachable now: nothing could be published anyway; the next sweep looks again.
        log.warning("the broker could not be asked for its marker (%s)", type(error).__name__)
        return False


def leave_marker(settings: Settings) -> None:
    """After the sweep published what it found: the broker holds its messages again."""
    client = _client(settings)
    if client is not None:
        client.set(marker_key(settings), "1")
