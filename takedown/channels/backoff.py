"""Back-off: how long a failed send waits before the next try. One formula for requests,
victims' notifications and caseworker alerts.
"""

from __future__ import annotations

import random

from takedown.config import Settings


def retry_delay(attempt: int, settings: Settings, retry_after: float | None) -> float:
    """Exponential back-off with jitter, capped, and never sooner than the platform asked."""
    backoff: float = settings.retry_base_seconds * 2.0 ** (attempt - 1)
    backoff = min(settings.retry_max_seconds, backoff * random.uniform(1.0, 1.25))
    if retry_after is not None:
        backoff = max(backoff, min(retry_after, settings.retry_max_seconds))
    return backoff
