"""Deciding whether a link is online, removed, or unknown.

"Removed" must be true: a network error, a time-out, a 5xx or an unexpected status is
*unknown*, never removed, and so is an answer that a platform also gives for a link that
expired, content gone private or a regional block (a rule whose ``means`` is not ``gone``).
What a page says is read only as far as needed, and never stored. For a case involving a
minor, nothing but the status line (and the address it was finally answered from) is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter
from urllib.parse import parse_qs, urlsplit

import requests

from takedown.catalogue.removal_rules import WHY_UNKNOWN, Means, RemovalRule
from takedown.config import Settings
from takedown.safety.netguard import new_session, reason
from takedown.store.columns import utcnow
from takedown.store.states import CheckOutcome

CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class Seen:
    outcome: CheckOutcome
    reason: str
    http_status: int | None = None
    duration_ms: float = 0.0


def _phrases_in_body(
    response: requests.Response, phrases: set[str], enough: set[str], limit: int
) -> set[str]:
    """The phrases (casefolded) the page contains. Reading stops at ``limit`` bytes, at the
    end of the page, or as soon as one of ``enough`` is found."""
    overlap = max(len(p) for p in phrases)
    window, read, found = "", 0, set()
    for chunk in response.iter_content(CHUNK_BYTES, decode_unicode=False):
        read += len(chunk)
        # Keep the tail of the previous chunk: a phrase may straddle the boundary.
        window = (
            window[-overlap:] + chunk.decode(response.encoding or "utf-8", "replace").casefold()
        )
        found |= {phrase for phrase in phrases if phrase in window}
        if found & enough or found == phrases or read >= limit:
            break
    return found


def expiry_of(url: str, parameter: str) -> datetime | str | None:
    """When a signed link expires, from its query parameter of hexadecimal Unix seconds;
    ``"unsigned"`` when it has none; None when the value is not a time."""
    values = parse_qs(urlsplit(url).query).get(parameter)
    if not values:
        return "unsigned"
    try:
        return datetime.fromtimestamp(int(values[-1], 16), UTC)
    except (ValueError, OverflowError, OSError):
        return None  # not a time: the rule cannot tell


def _without_body(
    rule: RemovalRule, response: requests.Response, url: str, now: datetime
) -> str | None:
    """What the rule saw, when its conditions other than the page's words all hold."""
    if not rule.admits(response.status_code):
        return None
    seen = [f"HTTP {response.status_code}"]
    if rule.redirected_to:
        final = response.url.casefold()
        if not response.history or not any(p.casefold() in final for p in rule.redirected_to):
            return None
        # The final address is not stored (a check keeps no links): what it contained is.
        hit = next(p for p in rule.redirected_to if p.casefold() in final)
        seen.append(f"redirected to an address with {hit!r}")
    if rule.expires_param:
        expiry = expiry_of(url, rule.expires_param)
        if expiry == "unsigned":
            # A link copied without its signature is answered like an expired one.
            seen.append(f"the link has no {rule.expires_param!r} expiry (an unsigned link)")
        elif isinstance(expiry, datetime) and expiry <= now:
            seen.append(f"the link expired on {expiry:%Y-%m-%d %H:%M} UTC")
        else:
            return None
    return ", ".join(seen)


def _verdict(rule: RemovalRule, seen: str, phrase: str | None) -> Seen:
    if phrase is not None and rule.means == Means.GONE:
        seen += " with a 'no longer available' page"
    elif phrase is not None:
        seen += f": the page says {phrase!r}"
    if rule.means == Means.GONE:
        return Seen(CheckOutcome.REMOVED, seen)
    return Seen(CheckOutcome.UNKNOWN, f"{seen}; {WHY_UNKNOWN[rule.means]}")


def judge(
    response: requests.Response,
    rules: list[RemovalRule],
    minor: bool,
    settings: Settings,
    url: str | None = None,
    now: datetime | None = None,
) -> Seen:
    """What one answer at a link tells, by the platform's rules: a rule that says the content
    may still exist (private, expired, blocked) always outweighs one that says it is gone."""
    status = response.status_code
    if status == 429 or status >= 500:
        return Seen(
            CheckOutcome.UNKNOWN, f"the platform is busy or failing (HTTP {status})", status
        )
    now, url = now or utcnow(), url or response.url
    candidates = [
        (rule, seen) for rule in rules if (seen := _without_body(rule, response, url, now))
    ]
    fired: list[tuple[RemovalRule, str, str | None]] = [
        (rule, seen, None) for rule, seen in candidates if not rule.body_contains
    ]
    reading = [(rule, seen) for rule, seen in candidates if rule.body_contains]
    if reading and not minor:
        phrases = {p.casefold() for rule, _ in reading for p in rule.body_contains}
        # A phrase that proves nothing ends the reading; "gone" ones need the rest read too.
        enough = {
            p.casefold() for r, _ in reading if r.means != Means.GONE for p in r.body_contains
        }
        if not enough:
            enough = phrases
        found = _phrases_in_body(response, phrases, enough, settings.check_max_body_bytes)
        for rule, seen in reading:
            hit = next((p for p in rule.body_contains if p.casefold() in found), None)
            if hit is not None:
                fired.append((rule, seen, hit))
    verdicts = [_verdict(rule, seen, phrase) for rule, seen, phrase in fired]
    doubt = [v for v in verdicts if v.outcome == CheckOutcome.UNKNOWN]
    if doubt:
        return Seen(doubt[0].outcome, doubt[0].reason, status)
    if reading and minor:
        unread = _unread_for_a_minor(reading, bool(verdicts), status)
        if unread is not None:
            return unread
    if verdicts:
        return Seen(verdicts[0].outcome, verdicts[0].reason, status)
    if 200 <= status < 300:
        return Seen(CheckOutcome.ONLINE, f"HTTP {status}", status)
    return Seen(CheckOutcome.UNKNOWN, f"HTTP {status} tells nothing about removal", status)


def _unread_for_a_minor(
    reading: list[tuple[RemovalRule, str]], gone: bool, status: int
) -> Seen | None:
    """What a status line alone tells where the rules would read the page, which is never
    read for a case involving a minor (reading it would download the content)."""
    never_read = "which is never read for a case involving a minor"
    if any(rule.means != Means.GONE for rule, _ in reading):
        return Seen(
            CheckOutcome.UNKNOWN,
            f"HTTP {status}; only the page could tell whether the content is private, "
            f"expired or blocked, {never_read}",
            status,
        )
    if gone:
        return None  # the status or the redirect already said so
    return Seen(
        CheckOutcome.UNKNOWN,
        f"HTTP {status}; this platform shows removal only in the page, {never_read}",
        status,
    )


def check_link(url: str, rules: list[RemovalRule], minor: bool, settings: Settings) -> Seen:
    """Visit the link once. Never raises for what the network or the platform does."""
    session = new_session(settings.allow_private_targets)
    session.headers["User-Agent"] = "takedown (+checking that reported content is gone)"
    timeout = (settings.http_connect_timeout_seconds, settings.http_read_timeout_seconds)
    clock = perf_counter()
    try:
        # stream=True: only the status line and headers arrive until the body is asked for.
        with session.get(url, timeout=timeout, stream=True) as response:
            seen = judge(response, rules, minor, settings, url)
    except requests.RequestException as error:
        seen = Seen(CheckOutcome.UNKNOWN, f"the link could not be reached ({reason(error)})")
    duration_ms = (perf_counter() - clock) * 1000
    return Seen(seen.outcome, seen.reason, seen.http_status, duration_ms)
