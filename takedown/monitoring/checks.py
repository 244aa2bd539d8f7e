"""Deciding whether a link is online, removed, or unknown.

"Removed" must be true: a network error, a time-out, a 5xx or an unexpected status is
*unknown*, never removed, and so is an answer that a platform also gives for a link that
expired, content gone private or a regional block (a rule whose ``means`` is a doubt), and
a page that says "removed" but still carries the mark of playing the content (``online``),
since anyone can type those words into a live page. What a page says is read only as far
as needed, and never stored. For a case involving a minor, the page is never read: only the
final answer's status line and headers, and the address it came from (the HTTP client reads
and discards the small bodies of the redirects on the way).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter
from urllib.parse import parse_qs, urlsplit

import requests

from takedown.catalogue.removal_rules import DOUBTS, WHY_UNKNOWN, Means, RemovalRule
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


@dataclass(frozen=True)
class Read:
    """What reading a page found: the phrases (casefolded), and whether it got to the end."""

    found: set[str]
    whole: bool


def _decoder(response: requests.Response) -> codecs.IncrementalDecoder:
    # The charset the platform declares, else UTF-8 (not the ISO-8859-1 requests assumes for
    # text/html, which would never match a phrase with a ’ in it); one that does not exist
    # is read as UTF-8 rather than stopping the whole batch of checks.
    content_type = response.headers.get("Content-Type", "")
    declared = "charset=" in content_type.lower()
    charset = requests.utils.get_encoding_from_headers(response.headers) if declared else None
    charset = charset or "utf-8"
    try:
        return codecs.getincrementaldecoder(charset)(errors="replace")
    except LookupError:
        return codecs.getincrementaldecoder("utf-8")(errors="replace")


def _phrases_in_body(
    response: requests.Response, phrases: set[str], enough: set[str], limit: int
) -> Read:
    """Which phrases (casefolded) the page contains. Reading stops at ``limit`` bytes, at the
    end of the page, or as soon as one of ``enough`` (or every phrase) is found."""
    overlap = max(len(p) for p in phrases)
    decoder = _decoder(response)
    window, read, found = "", 0, set()
    for chunk in response.iter_content(CHUNK_BYTES, decode_unicode=False):
        read += len(chunk)
        # Keep the tail of the previous chunk: a phrase may straddle the boundary (and the
        # incremental decoder keeps a character split between chunks whole).
        window = window[-overlap:] + decoder.decode(chunk).casefold()
        found |= {phrase for phrase in phrases if phrase in window}
        if found == phrases:
            return Read(found, whole=True)  # nothing further down could add to it
        if found & enough or read >= limit:
            return Read(found, whole=False)
    return Read(found, whole=True)


def expiry_problem(url: str, parameter: str, now: datetime) -> str | None:
    """Why a signed link cannot show anything about its content, from its query parameter
    of hexadecimal Unix seconds; None while the link is still valid."""
    values = parse_qs(urlsplit(url).query).get(parameter)
    if not values:
        # A link copied without its signature is answered like an expired one.
        return f"the link has no {parameter!r} expiry (an unsigned link)"
    try:
        expiry = datetime.fromtimestamp(int(values[-1], 16), UTC)
    except (ValueError, OverflowError, OSError):
        return f"the link's {parameter!r} expiry is not a time"
    return f"the link expired on {expiry:%Y-%m-%d %H:%M} UTC" if expiry <= now else None


def _without_body(
    rule: RemovalRule, response: requests.Response, url: str, now: datetime
) -> str | None:
    """What the rule saw, when its conditions other than the page's words all hold."""
    if not rule.admits(response.status_code):
        return None
    if rule.path_starts_with and not urlsplit(url).path.startswith(tuple(rule.path_starts_with)):
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
        problem = expiry_problem(url, rule.expires_param, now)
        if problem is None:
            return None
        seen.append(problem)
    return ", ".join(seen)


@dataclass(frozen=True)
class _Fired:
    rule: RemovalRule
    seen: str
    phrase: str | None = None

    def verdict(self) -> Seen:
        seen, means = self.seen, self.rule.means
        if self.phrase is not None and means == Means.GONE:
            seen += " with a 'no longer available' page"
        elif self.phrase is not None and means == Means.ONLINE:
            seen += ", the page still plays the content"
        elif self.phrase is not None:
            seen += f": the page says {self.phrase!r}"
        if means == Means.GONE:
            return Seen(CheckOutcome.REMOVED, seen)
        if means == Means.ONLINE:
            return Seen(CheckOutcome.ONLINE, seen)
        return Seen(CheckOutcome.UNKNOWN, f"{seen}; {WHY_UNKNOWN[means]}")


def judge(
    response: requests.Response,
    rules: list[RemovalRule],
    minor: bool,
    settings: Settings,
    url: str | None = None,
    now: datetime | None = None,
) -> Seen:
    """What one answer at a link tells, by the platform's rules. A rule that says the
    content may still exist (private, expired, blocked) outweighs one that says it is
    still served ("online"), which outweighs one that says it is gone."""
    status = response.status_code
    if status == 429 or status >= 500:
        return Seen(
            CheckOutcome.UNKNOWN, f"the platform is busy or failing (HTTP {status})", status
        )
    now, url = now or utcnow(), url or response.url
    candidates = [
        (rule, seen) for rule in rules if (seen := _without_body(rule, response, url, now))
    ]
    fired = [_Fired(rule, seen) for rule, seen in candidates if not rule.body_contains]
    reading = [(rule, seen) for rule, seen in candidates if rule.body_contains]
    unread = None
    if reading and minor:
        unread = _unread_for_a_minor(reading, fired, status)
    elif reading:
        phrases = {p.casefold() for rule, _ in reading for p in rule.body_contains}
        # A doubt ends the reading; "gone" and "online" marks need the rest read too, unless
        # there is nothing else to look for.
        doubts = {p.casefold() for r, _ in reading if r.means in DOUBTS for p in r.body_contains}
        only_gone = all(rule.means == Means.GONE for rule, _ in reading)
        page = _phrases_in_body(
            response, phrases, phrases if only_gone else doubts, settings.check_max_body_bytes
        )
        for rule, seen in reading:
            hit = next((p for p in rule.body_contains if p.casefold() in page.found), None)
            if hit is not None:
                fired.append(_Fired(rule, seen, hit))
        if not page.whole and not only_gone:
            unread = _unread_end(fired, status, settings)
    if unread is not None:
        return unread
    by_kind = sorted(
        fired, key=lambda f: (f.rule.means not in DOUBTS, f.rule.means != Means.ONLINE)
    )
    if by_kind:
        verdict = by_kind[0].verdict()
        return Seen(verdict.outcome, verdict.reason, status)
    if 200 <= status < 300:
        return Seen(CheckOutcome.ONLINE, f"HTTP {status}", status)
    return Seen(CheckOutcome.UNKNOWN, f"HTTP {status} tells nothing about removal", status)


def _unread_end(fired: list[_Fired], status: int, settings: Settings) -> Seen | None:
    """A page read only in part can still say "gone" only if nothing further down could
    have outweighed it: where the rules look for more, it is unknown."""
    if any(f.rule.means != Means.GONE for f in fired):
        return None  # a doubt or a mark of being served already decides
    if not fired:
        return None  # nothing says gone: online or unknown, as the status says
    return Seen(
        CheckOutcome.UNKNOWN,
        f"HTTP {status}: the page says the content is gone, but it is longer than "
        f"TAKEDOWN_CHECK_MAX_BODY_BYTES ({settings.check_max_body_bytes}) and what further "
        "down could show it is still there, private or blocked was not read",
        status,
    )


def _unread_for_a_minor(
    reading: list[tuple[RemovalRule, str]], fired: list[_Fired], status: int
) -> Seen | None:
    """What a status line alone tells where the rules would read the page, which is never
    read for a case involving a minor (reading it would download the content)."""
    never_read = "which is never read for a case involving a minor"
    if any(f.rule.means in DOUBTS for f in fired):
        return None  # the status or the redirect already says the check cannot tell
    if any(rule.means != Means.GONE for rule, _ in reading):
        return Seen(
            CheckOutcome.UNKNOWN,
            f"HTTP {status}; only the page could tell whether the content is private, "
            f"expired, blocked or still there, {never_read}",
            status,
        )
    if fired:
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
