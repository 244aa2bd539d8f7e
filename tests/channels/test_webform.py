"""The web-form channel against a real HTTP server on loopback: every answer classified."""

from __future__ import annotations

import socket
from urllib.parse import quote

import pytest

from takedown.channels.base import Outcome
from takedown.channels.webform import WebformSender
from takedown.config import Settings
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.jobs import JobFactory
from takedown.testing.loopback import Reply


def test_the_csrf_token_of_the_form_page_is_sent_back_and_the_ticket_captured(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    url = "https://formsite.example/p/csrf-ticket"
    result = WebformSender(settings).deliver(job_for("formsite", url))

    assert result.outcome == Outcome.DELIVERED
    assert result.ticket is not None
    assert result.ticket.startswith("FS-")
    posted = [r for r in site.requests_to("/formsite/report") if r.form.get("url") == url]
    assert len(posted) == 1
    assert posted[0].form["csrf_token"], "the hidden input came back"
    assert "TD-2026-TEST01" in posted[0].form["details"]
    assert posted[0].form["email"] == "reports@helpline.example"


def test_a_503_is_transient_and_says_so_in_words(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    site.script("/flaky/intake", Reply(503, "<h1>Service Unavailable</h1>"))
    result = WebformSender(settings).deliver(job_for("flaky", "https://flaky.example/v/503"))
    assert result.outcome == Outcome.TRANSIENT
    assert result.http_status == 503
    assert result.error == (
        "Flaky's form is unavailable or busy (HTTP 503): the page said 'Service Unavailable'"
    )


@pytest.mark.parametrize("header", ["7", "Sun, 22 Nov 2099 00:00:00 GMT"])
def test_a_429_carries_its_retry_after_in_seconds_or_as_a_date(
    settings: Settings, site: FakePlatform, job_for: JobFactory, header: str
) -> None:
    site.script("/ratelimited/intake", Reply(429, "Too many", {"Retry-After": header}))
    result = WebformSender(settings).deliver(
        job_for("ratelimited", "https://ratelimited.example/1")
    )
    assert result.outcome == Outcome.TRANSIENT
    assert result.retry_after is not None
    assert result.retry_after >= 7


def test_a_400_is_permanent_and_quotes_the_page_without_the_link(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    url = "https://refusing.example/p/secret-path"
    encoded = quote(url, safe="")
    site.script(
        "/refusing/intake",
        Reply(
            400, f"<p>Please fill in all fields ({url}) <a href='/r?u={encoded}'>{encoded}</a></p>"
        ),
    )
    result = WebformSender(settings).deliver(job_for("refusing", url))
    assert result.outcome == Outcome.PERMANENT
    assert result.http_status == 400
    assert "Please fill in all fields" in (result.error or "")
    assert "secret-path" not in (result.excerpt or "") + (result.error or "")


def test_a_read_time_out_after_sending_is_ambiguous(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    url = "https://slow.example/p/timeout"
    site.script("/slow/intake", Reply(200, "ticket=LATE", delay=2.5))  # read time-out is 1 s
    result = WebformSender(settings).deliver(job_for("slow", url))
    assert result.outcome == Outcome.AMBIGUOUS
    assert result.error == (
        "Slow's form may have received the report but gave no answer (no answer within the "
        "read time-out); check with Slow before sending again"
    )
    assert len([r for r in site.requests_to("/slow/intake") if r.form.get("url") == url]) == 1


def test_a_success_page_without_a_ticket_is_ambiguous_not_delivered(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    site.script("/untracked/intake", Reply(200, "<p>Something went wrong</p>"))
    result = WebformSender(settings).deliver(job_for("untracked", "https://untracked.example/1"))
    assert result.outcome == Outcome.AMBIGUOUS
    assert "shows no report number" in (result.error or "")


def test_a_success_like_status_the_file_does_not_list_is_ambiguous_not_a_failure(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    # A fallback channel after this would report the same content twice.
    site.script("/untracked/intake", Reply(204, ""))
    result = WebformSender(settings).deliver(job_for("untracked", "https://untracked.example/204"))
    assert result.outcome == Outcome.AMBIGUOUS
    assert "HTTP 204, which its platform file does not list as success" in (result.error or "")


def test_a_redirect_the_file_does_not_list_is_ambiguous_and_never_followed_or_resent(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    # The thank-you page's host refuses connections: following it must not look unsent.
    site.script("/untracked/intake", Reply(303, "", {"Location": "http://127.0.0.1:1/thanks"}))
    url = "https://untracked.example/303"
    result = WebformSender(settings).deliver(job_for("untracked", url))
    assert result.outcome == Outcome.AMBIGUOUS
    assert "HTTP 303, which its platform file does not list as success" in (result.error or "")
    assert len([r for r in site.requests_to("/untracked/intake") if r.form.get("url") == url]) == 1


def test_a_listed_redirect_is_delivered_with_the_ticket_from_the_confirmation_page(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    site.script("/redirecting/intake", Reply(303, "", {"Location": "/redirecting/thanks"}))
    site.script("/redirecting/thanks", Reply(200, "<p>Thanks! Your ticket=RD-42</p>"))
    result = WebformSender(settings).deliver(
        job_for("redirecting", "https://redirecting.example/1")
    )
    assert (result.outcome, result.ticket, result.http_status) == (Outcome.DELIVERED, "RD-42", 303)


def test_an_unreadable_confirmation_page_costs_the_ticket_not_a_second_report(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    site.script("/redirecting/intake", Reply(303, "", {"Location": "http://127.0.0.1:1/gone"}))
    url = "https://redirecting.example/unreadable"
    result = WebformSender(settings).deliver(job_for("redirecting", url))
    assert (result.outcome, result.ticket) == (Outcome.DELIVERED, None)
    assert "confirmation page could not be read" in (result.error or "")
    assert (
        len([r for r in site.requests_to("/redirecting/intake") if r.form.get("url") == url]) == 1
    )


def test_a_host_that_does_not_resolve_is_transient_with_the_guard_on(
    settings: Settings, job_for: JobFactory
) -> None:
    job = job_for("flaky", "https://flaky.example/v/dns")
    # .invalid never resolves (RFC 6761): nothing can be contacted.
    config = job.channel_config.model_copy(update={"submit_url": "https://intake.invalid/x"})
    job = type(job)(**{**job.__dict__, "channel_config": config})
    guarded = settings.model_copy(update={"allow_private_targets": False})
    result = WebformSender(guarded).deliver(job)
    assert result.outcome == Outcome.TRANSIENT
    assert "the host intake.invalid could not be resolved" in (result.error or "")


def test_a_refused_connection_is_transient_because_nothing_was_sent(
    settings: Settings, job_for: JobFactory
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    job = job_for("flaky", "https://flaky.example/v/refused")
    config = job.channel_config.model_copy(update={"submit_url": f"http://127.0.0.1:{port}/x"})
    job = type(job)(**{**job.__dict__, "channel_config": config})
    result = WebformSender(settings).deliver(job)
    assert result.outcome == Outcome.TRANSIENT
    assert "could not be reached" in (result.error or "")


def test_loopback_targets_are_refused_unless_allowed(
    settings: Settings, site: FakePlatform, job_for: JobFactory
) -> None:
    site.script("/flaky/intake", Reply(202, "ticket=SHOULD-NOT-ARRIVE"))
    guarded = settings.model_copy(update={"allow_private_targets": False})
    url = "https://flaky.example/v/private"
    result = WebformSender(guarded).deliver(job_for("flaky", url))
    assert result.outcome == Outcome.PERMANENT
    assert "not a public address" in (result.error or "")
    assert not [r for r in site.requests_to("/flaky/intake") if r.form.get("url") == url]
