"""Politeness toward each host: a request rate and a cap on requests in flight, per host.

- **Shared across workers.** The state lives in Redis, not in a process, because Celery's
  ``rate_limit`` is per worker: ten workers would send ten times the rate a platform allows.
- **Atomic.** One Lua script checks the token bucket and the concurrency cap and takes both
  or neither, so that racing workers never overshoot and a refusal never costs a token or
  leaves a slot behind.
- **Expiring keys.** Every key expires once it no longer holds information (a bucket that
  has refilled, leases that have all gone stale), so that millions of hosts seen once leave
  nothing behind.
- **Leases.** A concurrency slot is a lease that goes stale after ``lease_seconds``, so that
  a worker killed mid-request cannot hold a host's slot for ever.

The scripts read the Redis server's clock (``TIME``), not the worker's, so that workers on
machines whose clocks disagree still share one bucket fairly. Needs Redis 5 or later.
"""

from __future__ import annotations

import logging
import math
import random
import time
import uuid
from types import TracebackType

import redis

log = logging.getLogger(__name__)

# While a host's concurrency slots are all taken, no hint says when one is released, so a
# waiting worker asks again this often (or sooner, when the oldest lease goes stale).
SLOT_POLL_SECONDS = 0.05

# KEYS[1]: the host's bucket, a hash {tokens, at}; a missing bucket is a full one.
# KEYS[2]: the host's leases, a sorted set of lease id -> time taken.
# ARGV: rate, burst, max_in_flight, lease_seconds, lease id.
# Returns {granted, microseconds until a token, slots full, microseconds until a lease
# goes stale}. Numbers written to Redis go through string.format: Lua would otherwise print
# them with 14 significant digits, losing the sub-millisecond part of a Unix time.
_ACQUIRE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_in_flight = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000

redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.6f', now - lease))
local full = redis.call('ZCARD', KEYS[2]) >= max_in_flight

local tokens = burst
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
if stored[1] and stored[2] then
  local elapsed = math.max(0, now - tonumber(stored[2]))
  tokens = math.min(burst, tonumber(stored[1]) + elapsed * rate)
end

if full or tokens < 1 then
  local token_wait = 0
  if tokens < 1 then token_wait = (1 - tokens) / rate end
  local lease_wait = 0
  if full then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    lease_wait = math.max(0, tonumber(oldest[2]) + lease - now)
  end
  return {0, math.ceil(token_wait * 1000000), full and 1 or 0, math.ceil(lease_wait * 1000000)}
end

local left = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', left), 'at', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - left) / rate * 1000) + 1)
redis.call('ZADD', KEYS[2], string.format('%.6f', now), ARGV[5])
redis.call('PEXPIRE', KEYS[2], math.ceil(lease * 1000) + 1)
return {1, 0, 0, 0}
"""


class Slot:
    """One request's place among a host's requests in flight; ``release()`` when done."""

    def __init__(self, client: redis.Redis, key: str, lease: str, host: str) -> None:
        self.host = host
        self._client = client
        self._key = key
        self._lease = lease
        self._released = False

    def release(self) -> None:
        """Free the slot. Calling it again does nothing.

        A Redis error is logged, not raised: the lease goes stale on its own, and an error
        here must not turn a request that was sent into one that looks failed (and is sent
        again).
        """
        if self._released:
            return
        self._released = True
        try:
            self._client.zrem(self._key, self._lease)
        except redis.RedisError as error:
            log.warning(
                "could not release a slot for %s (%s); it frees itself when its lease ends",
                self.host,
                error,
            )

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class HostPoliteness:
    """At most ``rate`` requests a second to one host on average (``burst`` at once after a
    quiet spell), and at most ``max_in_flight`` at the same time, across every worker that
    uses the same Redis and ``prefix``."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        rate: float,
        burst: int,
        max_in_flight: int,
        lease_seconds: float = 60,
    ) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number of requests a second, not {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1 request, not {burst}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1 request, not {max_in_flight}")
        if not (lease_seconds > 0 and math.isfinite(lease_seconds)):
            raise ValueError(f"lease_seconds must be a positive number, not {lease_seconds}")
        self._client = client
        self._prefix = prefix
        self._args = (repr(float(rate)), burst, max_in_flight, repr(float(lease_seconds)))
        self._acquire = client.register_script(_ACQUIRE)

    def try_acquire(self, host: str) -> Slot | None:
        """A slot if the host's bucket has a token and a concurrency slot is free, else
        None (and then nothing was taken)."""
        slot, _ = self._attempt(host)
        return slot

    def wait_for(self, host: str, timeout: float) -> Slot | None:
        """A slot as soon as one can be had, or None once ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            slot, pause = self._attempt(host)
            if slot is not None:
                return slot
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            # Jitter, so that workers waiting for the same host do not all wake on the same
            # token, one winning and the others waking together again for the next.
            time.sleep(min(pause * (1 + random.random() / 10), remaining))

    def _attempt(self, host: str) -> tuple[Slot | None, float]:
        """A slot, or None with how long to wait before asking again."""
        host = host.lower()
        if not host:
            raise ValueError("a host name is needed to be polite to it")
        # The braces are a Redis Cluster hash tag: both keys of a host live on one node, as
        # a script touching both requires.
        bucket = f"{self._prefix}{{{host}}}:tokens"
        leases = f"{self._prefix}{{{host}}}:leases"
        lease = uuid.uuid4().hex
        reply = self._acquire(keys=[bucket, leases], args=[*self._args, lease])
        granted, token_wait_us, full, lease_wait_us = (int(value) for value in reply)
        if granted:
            return Slot(self._client, leases, lease, host), 0.0
        pause = token_wait_us / 1_000_000
        if full:
            pause = max(pause, min(SLOT_POLL_SECONDS, lease_wait_us / 1_000_000))
        return None, max(pause, 0.001)
