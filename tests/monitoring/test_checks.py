"""Deciding whether a link is online, removed or unknown, against a real HTTP server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from takedown.catalogue.removal_rules import Means, RemovalRule
from takedown.config import Settings
from takedown.monitoring.checks import check_link
from takedown.store.states import CheckOutcome
from takedown.testing.environment import Configure
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply

SOFT = [
    RemovalRule(means=Means.GONE, status=[404, 410]),
    RemovalRule(means=Means.GONE, body_contains=["This content is no longer available"]),
]


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
    plain = [RemovalRule(means=Means.GONE, status=[404])]
    assert (
        check_link(page(site, Reply(200, "x")), plain, True, settings).outcome
        == CheckOutcome.ONLINE
    )


# A platform whose "not available" page also stands for private videos and regional blocks,
# and whose signed media links expire: each kind of evidence as a platform file writes it.
KINDS = [
    RemovalRule(means=Means.GONE, status=[404, 410]),
    RemovalRule(means=Means.GONE, body_contains=["This video has been removed"]),
    RemovalRule(means=Means.PRIVATE, body_contains=["This video is private"]),
    RemovalRule(means=Means.BLOCKED, body_contains=["not available in your country"]),
    RemovalRule(means=Means.GONE, redirected_to=["/removed.png"]),
    RemovalRule(means=Means.EXPIRED, expires_param="ex", status=[404]),
]


@pytest.mark.parametrize(
    ("body", "outcome", "words"),
    [
        ("<h1>This video has been removed</h1>", CheckOutcome.REMOVED, "'no longer available'"),
        ("<h1>This video is private</h1>", CheckOutcome.UNKNOWN, "hidden behind a private"),
        ("<p>Video not available in your country</p>", CheckOutcome.UNKNOWN, "region"),
        # The removal wording first, the private one later in the page: private still wins.
        ("This video has been removed" + "x" * 40_000 + "This video is private",
         CheckOutcome.UNKNOWN, "hidden behind a private"),
        ("<video src='/v/1.mp4'>", CheckOutcome.ONLINE, "HTTP 200"),
    ],
)  # fmt: skip
def test_only_a_gone_rule_confirms_removal_and_any_other_kind_makes_it_unknown(
    settings: Settings, site: FakePlatform, body: str, outcome: CheckOutcome, words: str
) -> None:
    seen = check_link(page(site, Reply(200, body)), KINDS, False, settings)
    assert seen.outcome == outcome
    assert words in seen.reason


def test_a_redirect_to_the_removed_placeholder_is_removal_but_the_placeholder_itself_is_not(
    settings: Settings, site: FakePlatform
) -> None:
    site.script("/removed.png", Reply(200, "PNG"))
    moved = page(site, Reply(302, "", {"Location": site.url("/removed.png")}))
    seen = check_link(moved, KINDS, False, settings)
    assert seen.outcome == CheckOutcome.REMOVED
    assert seen.reason == "HTTP 200, redirected to an address with '/removed.png'"
    # Asked for directly, the placeholder is just a picture that is online.
    assert check_link(site.url("/removed.png"), KINDS, False, settings).outcome == (
        CheckOutcome.ONLINE
    )
    # A redirect elsewhere (a login page, another host's copy) is no evidence of removal.
    site.script("/login", Reply(200, "Sign in"))
    elsewhere = page(site, Reply(302, "", {"Location": site.url("/login")}))
    assert check_link(elsewhere, KINDS, False, settings).outcome == CheckOutcome.ONLINE


def test_an_expired_signed_link_is_unknown_and_asks_for_a_fresh_link(
    settings: Settings, site: FakePlatform
) -> None:
    path = f"/attachments/{uuid.uuid4().hex[:8]}/photo.jpg"
    site.script(path, Reply(404, "This content is no longer available."))
    expired = f"{site.url(path)}?ex={0x65A00000:x}&is=659e0000&hm=ab12"  # January 2024
    seen = check_link(expired, KINDS, False, settings)
    assert seen.outcome == CheckOutcome.UNKNOWN
    assert "the link expired on 2024-01-11" in seen.reason
    assert "ask for a fresh link" in seen.reason
    # Still valid (expires in 2100), the same 404 is the platform's: removed.
    valid = f"{site.url(path)}?ex={4102444800:x}&is=659e0000&hm=ab12"
    assert check_link(valid, KINDS, False, settings).outcome == CheckOutcome.REMOVED
    # A value that is not a time (a link cut short) cannot show the link is valid: unknown.
    garbled = check_link(f"{site.url(path)}?ex=zz", KINDS, False, settings)
    assert garbled.outcome == CheckOutcome.UNKNOWN
    assert "the link's 'ex' expiry is not a time" in garbled.reason
    overflowing = check_link(f"{site.url(path)}?ex={'f' * 18}", KINDS, False, settings)
    assert overflowing.outcome == CheckOutcome.UNKNOWN
    # A link without its signature is answered like an expired one: unknown too.
    unsigned = check_link(site.url(path), KINDS, False, settings)
    assert unsigned.outcome == CheckOutcome.UNKNOWN
    assert "the link has no 'ex' expiry (an unsigned link)" in unsigned.reason


def test_for_a_minor_a_status_that_a_private_page_could_share_is_unknown(
    settings: Settings, site: FakePlatform
) -> None:
    private_or_gone = [
        RemovalRule(means=Means.GONE, redirected_to=["/removed.png"]),
        RemovalRule(means=Means.PRIVATE, body_contains=["This video is private"]),
    ]
    site.script("/removed.png", Reply(200, "PNG"))
    moved = page(site, Reply(302, "", {"Location": site.url("/removed.png")}))
    seen = check_link(moved, private_or_gone, True, settings)
    assert seen.outcome == CheckOutcome.UNKNOWN
    assert "only the page could tell whether the content is private" in seen.reason
    # The adult's case reads the placeholder's page, finds no private wording: removed.
    assert check_link(moved, private_or_gone, False, settings).outcome == CheckOutcome.REMOVED


def test_a_5xx_is_unknown_even_where_a_rule_lists_its_status(
    settings: Settings, site: FakePlatform
) -> None:
    odd = [RemovalRule(means=Means.GONE, status=[503])]
    seen = check_link(page(site, Reply(503, "")), odd, False, settings)
    assert seen.outcome == CheckOutcome.UNKNOWN


SERVED = [
    RemovalRule(means=Means.GONE, body_contains=["This video has been removed"]),
    RemovalRule(means=Means.ONLINE, body_contains=['"playabilityStatus":{"status":"OK"']),
    RemovalRule(means=Means.PRIVATE, body_contains=["This video is private"]),
]


def test_words_typed_into_a_live_page_cannot_make_it_look_removed(
    settings: Settings, site: FakePlatform
) -> None:
    # The uploader wrote the removal wording into the title; the player still plays it.
    live = page(site, Reply(200, '<title>This video has been removed</title><script>'
                            '{"playabilityStatus":{"status":"OK"}}</script>'))  # fmt: skip
    seen = check_link(live, SERVED, False, settings)
    assert seen.outcome == CheckOutcome.ONLINE
    assert seen.reason == "HTTP 200, the page still plays the content"
    # Without the mark of playing, the same words are the platform's: removed.
    gone = page(site, Reply(200, "<div>This video has been removed</div>"))
    assert check_link(gone, SERVED, False, settings).outcome == CheckOutcome.REMOVED
    # A doubt outweighs the mark: a private page is unknown however it looks otherwise.
    both = page(site, Reply(200, 'This video is private {"playabilityStatus":{"status":"OK"}'))
    assert check_link(both, SERVED, False, settings).outcome == CheckOutcome.UNKNOWN


def test_a_removal_read_in_a_page_longer_than_the_cap_is_unknown_where_more_could_follow(
    settings: Settings, site: FakePlatform
) -> None:
    capped = settings.model_copy(update={"check_max_body_bytes": 32 * 1024})
    long_page = "This video has been removed" + "x" * (64 * 1024)
    seen = check_link(page(site, Reply(200, long_page)), SERVED, False, capped)
    assert seen.outcome == CheckOutcome.UNKNOWN
    assert "longer than TAKEDOWN_CHECK_MAX_BODY_BYTES (32768)" in seen.reason
    # With only "gone" wording to look for, the first phrase is enough (as before).
    gone_only = [SERVED[0]]
    assert check_link(page(site, Reply(200, long_page)), gone_only, False, capped).outcome == (
        CheckOutcome.REMOVED
    )


CURLY = "<p>Sorry, this page isn’t available</p>".encode()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # No charset declared: read as UTF-8, not as the ISO-8859-1 HTTP once assumed.
        ("text/html", CURLY),
        # The ’ split between two 16 KiB chunks (its first byte is the first chunk's last).
        ("text/html; charset=utf-8", b"x" * 16360 + CURLY),
        ("text/html; charset=no-such-charset", CURLY),
    ],
)
def test_a_page_is_decoded_as_it_is_sent_even_across_chunks_and_with_a_bogus_charset(
    settings: Settings, site: FakePlatform, content_type: str, body: bytes
) -> None:
    rules = [RemovalRule(means=Means.PRIVATE, body_contains=["Sorry, this page isn’t available"])]
    url = page(site, Reply(200, body.decode("utf-8"), {"Content-Type": content_type}))
    seen = check_link(url, rules, False, settings)
    assert seen.outcome == CheckOutcome.UNKNOWN, seen.reason


def test_a_page_in_a_declared_charset_other_than_utf8_is_read_in_it(
    settings: Settings, site: FakePlatform
) -> None:
    rules = [RemovalRule(means=Means.GONE, body_contains=["Sivua ei löydy"])]
    latin = "<p>Sivua ei löydy</p>".encode("iso-8859-1")
    url = page(site, Reply(200, latin, {"Content-Type": "text/html; charset=ISO-8859-1"}))
    assert check_link(url, rules, False, settings).outcome == CheckOutcome.REMOVED
