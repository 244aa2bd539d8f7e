"""Deciding whether a link is online, removed or unknown, against a real HTTP server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from takedown.catalogue.schema import RemovedRule
from takedown.config import Settings
from takedown.monitoring.checks import check_link
from takedown.store.states import CheckOutcome
from takedown.testing.environment import Configure
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply

SOFT = RemovedRule(status=[404, 410], body_contains=["This content is no longer available"])


@pytest.fixture
def settings(
    test_environment: Callable[..., dict[str, str]], configure: Configure, tmp_path: Path
) -> Settings:
    # No database is opened here; the setting still names one that would keep its data.
    return configure(**test_environment(f"sqlite:///{tmp_path / 'unused.db'}"))


def page(site: FakePlatform, *replies: Reply) -> str:
    path = f"/content/{uuid.uuid4().hex[:8]}"
    site.script(path, *replies)
    return site.url(path)


@pytest.mark.parametrize(
    ("reply", "outcome", "reason"),
    [
        (Reply(404, "Not found"), CheckOutcome.REMOVED, "HTTP 404"),
        (Reply(410, "Gone"), CheckOutcome.REMOVED, "HTTP 410"),
        (Reply(200, "<p>This content is no longer available.</p>"), CheckOutcome.REMOVED,
         "HTTP 200 with a 'no longer available' page"),
        (Reply(200, "<p>THIS CONTENT IS NO LONGER AVAILABLE</p>"), CheckOutcome.REMOVED,
         "HTTP 200 with a 'no longer available' page"),
        (Reply(200, "<img src='/p/1.jpg'>"), CheckOutcome.ONLINE, "HTTP 200"),
        (Reply(500, "oops"), CheckOutcome.UNKNOWN, "the platform is busy or failing (HTTP 500)"),
        (Reply(503, "maintenance"), CheckOutcome.UNKNOWN,
         "the platform is busy or failing (HTTP 503)"),
        (Reply(429, "slow down"), CheckOutcome.UNKNOWN,
         "the platform is busy or failing (HTTP 429)"),
        (Reply(403, "forbidden"), CheckOutcome.UNKNOWN, "HTTP 403 tells nothing about removal"),
        (Reply(300, "choose"), CheckOutcome.UNKNOWN, "HTTP 300 tells nothing about removal"),
        (Reply(299, "odd but fine"), CheckOutcome.ONLINE, "HTTP 299"),
    ],
)  # fmt: skip
def test_a_link_is_judged_by_the_platforms_removed_rule(
    settings: Settings, site: FakePlatform, reply: Reply, outcome: CheckOutcome, reason: str
) -> None:
    # What the caseworker reads in `takedown check`: the verdict, why, and the status seen.
    seen = check_link(page(site, reply), SOFT, False, settings)
    assert (seen.outcome, seen.reason, seen.http_status) == (outcome, reason, reply.status)


def test_a_5xx_is_never_called_removed_even_when_it_says_the_phrase(
    settings: Settings, site: FakePlatform
) -> None:
    url = page(site, Reply(503, "This content is no longer available"))
    seen = check_link(url, SOFT, False, settings)
    assert seen.outcome == CheckOutcome.UNKNOWN
    assert seen.reason == "the platform is busy or failing (HTTP 503)"


def test_a_time_out_or_an_unreachable_host_is_unknown(
    settings: Settings, site: FakePlatform
) -> None:
    slow = page(site, Reply(404, "gone", delay=2))  # read time-out is 1 s in the tests
    assert check_link(slow, SOFT, False, settings).outcome == CheckOutcome.UNKNOWN
    refused = check_link("http://127.0.0.1:1/x", SOFT, False, settings)
    assert refused.outcome == CheckOutcome.UNKNOWN
    assert "could not be reached" in refused.reason


def test_a_phrase_straddling_two_chunks_is_found(settings: Settings, site: FakePlatform) -> None:
    padding = "x" * (16 * 1024 - 10)
    url = page(site, Reply(200, padding + "This content is no longer available"))
    assert check_link(url, SOFT, False, settings).outcome == CheckOutcome.REMOVED


def served(site: FakePlatform, url: str) -> int:
    return site.served.get(url.removeprefix(site.base_url), 0)


# A page of 1 MiB served slowly, so that what a check stopped reading is never served.
BIG = 1024 * 1024
TRICKLE = 0.01


def test_the_page_is_read_no_further_than_the_cap(settings: Settings, site: FakePlatform) -> None:
    capped = settings.model_copy(update={"check_max_body_bytes": 32 * 1024})
    phrase = "This content is no longer available"
    url = page(site, Reply(200, "x" * BIG + phrase, trickle=TRICKLE))
    assert check_link(url, SOFT, False, capped).outcome == CheckOutcome.ONLINE
    # What the platform sent: the cap and a piece or two in flight, not the megabyte.
    assert served(site, url) < 128 * 1024


def test_for_a_minor_only_the_status_line_is_used_and_the_page_never_read(
    settings: Settings, site: FakePlatform
) -> None:
    # The phrase is in the first bytes: reading anything at all would find it.
    url = page(site, Reply(200, "This content is no longer available" + "x" * BIG, trickle=TRICKLE))
    seen = check_link(url, SOFT, True, settings)
    assert seen.outcome == CheckOutcome.UNKNOWN
    assert "never read for a case involving a minor" in seen.reason
    # Nothing of the page was downloaded: at most the piece the server had sent before the
    # check hung up (a page sent whole arrives in the socket at once).
    assert served(site, url) <= 2 * 16 * 1024
    assert (
        check_link(page(site, Reply(404, "")), SOFT, True, settings).outcome == CheckOutcome.REMOVED
    )
    plain = RemovedRule(status=[404])
    assert (
        check_link(page(site, Reply(200, "x")), plain, True, settings).outcome
        == CheckOutcome.ONLINE
    )
