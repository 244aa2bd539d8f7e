"""The broker's Redis, for the little state the workers share outside the database: the
per-host politeness of the checks, and the sweep's marker that notices a wiped broker.
"""

from __future__ import annotations

from functools import lru_cache

import redis

from takedown.config import Settings


def broker_redis(settings: Settings) -> redis.Redis | None:
    """A client of the broker's Redis, one per process and address; None when the broker is
    not Redis (the demo's in-process broker, where one process is all there is)."""
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return None
    return _client(settings.broker_url)


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # A refused connection fails in seconds, not at the operating system's time-out.
    return redis.Redis.from_url(url, socket_connect_timeout=5)
