"""Deciding whether a link is online, removed, or unknown.

"Removed" must be true: a network error, a time-out, a 5xx or an unexpected status is
*unknown*, never removed. What a page says is read only as far as needed to find a
platform's "no longer available" phrase, and never stored. For a case involving a minor,
nothing but the status line is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter

import requests

from takedown.catalogue.schema import RemovedRule
from takedown.config import Settings
from takedown.safety.netguard import new_session, reason
from takedown.store.states import CheckOutcome

CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class Seen:
    outcome: CheckOutcome
    reason: str
    http_status: int | None = None
    duration_ms: float = 0.0


def _phrase_in_body(response: requests.Response, phrases: list[str], limit: int) -> bool:
    """Stream the page looking for any phrase; stop at the first match or at ``limit``."""
    wanted = [p.casefold() for p in phrases]
    overlap = max(len(p) for p in wanted)
    window, read = "", 0
    for chunk in response.iter_content(CHUNK_BYTES, decode_unicode=False):
        read += len(chunk)
        # Keep the tail of the previous chunk: a phrase may straddle the boundary.
        window = (
            window[-overlap:] + chunk.decode(response.encoding or "utf-8", "replace").casefold()
        )
        if any(phrase in window for phrase in wanted):
            return True
        if read >= limit:
            break
    return False


def judge(response: requests.Response, rule: RemovedRule, minor: bool, settings: Settings) -> Seen:
    status = response.status_code
    if status in rule.status:
        return Seen(CheckOutcome.REMOVED, f"HTTP {status}", status)
    if status == 429 or status >= 500:
        return Seen(
            CheckOutcome.UNKNOWN, f"the platform is busy or failing (HTTP {status})", status
        )
    if not 200 <= status < 300:
        return Seen(CheckOutcome.UNKNOWN, f"HTTP {status} tells nothing about removal", status)
    if not rule.body_contains:
        return Seen(CheckOutcome.ONLINE, f"HTTP {status}", status)
    if minor:
        # Reading the page would download the content; the status line cannot tell.
        return Seen(
            CheckOutcome.UNKNOWN,
            f"HTTP {status}; this platform shows removal only in the page, which is never "
            "read for a case involving a minor",
            status,
        )
    if _phrase_in_body(response, rule.body_contains, settings.check_max_body_bytes):
        return Seen(
            CheckOutcome.REMOVED, f"HTTP {status} with a 'no longer available' page", status
        )
    return Seen(CheckOutcome.ONLINE, f"HTTP {status}", status)


def check_link(url: str, rule: RemovedRule, minor: bool, settings: Settings) -> Seen:
    """Visit the link once. Never raises for what the network or the platform does."""
    session = new_session(settings.allow_private_targets)
    session.headers["User-Agent"] = "takedown (+checking that reported content is gone)"
    timeout = (settings.http_connect_timeout_seconds, settings.http_read_timeout_seconds)
    clock = perf_counter()
    try:
        # stream=True: only the status line and headers arrive until the body is asked for.
        with session.get(url, timeout=timeout, stream=True) as response:
            seen = judge(response, rule, minor, settings)
    except requests.RequestException as error:
        seen = Seen(CheckOutcome.UNKNOWN, f"the link could not be reached ({reason(error)})")
    duration_ms = (perf_counter() - clock) * 1000
    return Seen(seen.outcome, seen.reason, seen.http_status, duration_ms)
