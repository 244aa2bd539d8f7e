"""Delivery end to end: the database, real Redis, a real `takedown worker --beat` subprocess,
and loopback fakes. Every test runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.cases.service import find_case
from takedown.catalogue.platforms import catalogue_for
from takedown.store.db import session_scope
from takedown.store.models import RemovalRequest
from takedown.testing.cases import TEST_ACTOR, open_test_case, seen, wait_at_rest
from takedown.testing.loopback import Reply
from takedown.testing.processes import TAKEDOWN
from takedown.testing.stack import Stack
from takedown.worker.publish import publish, publish_now


def unique(url: str) -> str:
    """The link made unique, so that the two database runs never see each other's posts."""
    return f"{url}-{uuid.uuid4().hex[:8]}"


def queue_link(
    stack: Stack, url: str, *, publish_it: bool = True, victim: str = "aino@example.org"
) -> str:
    catalogue = catalogue_for(stack.settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session, victim_email=victim)
        add_links(session, case, [url], catalogue, actor=TEST_ACTOR)
        request_id = queue_case(
            session, find_case(session, case.id), catalogue, actor=TEST_ACTOR
        ).request_ids[0]
    if publish_it:
        assert publish_now([request_id])
    return request_id


def posts(stack: Stack, path: str, url: str) -> list[float]:
    return [r.at for r in stack.site.requests_to(path) if r.form.get("url") == url]


def test_a_csrf_protected_form_is_submitted_and_the_ticket_stored(stack: Stack) -> None:
    url = unique("https://formsite.example/p/e2e-csrf")
    done = wait_at_rest(queue_link(stack, url))
    assert done.state == "sent"
    assert done.ticket is not None
    assert done.ticket.startswith("FS-")
    assert done.outcomes == [("webform", "delivered")]
    (posted,) = [r for r in stack.site.requests_to("/formsite/report") if r.form.get("url") == url]
    assert "Aino" not in str(posted.form)
    assert "aino@example.org" not in str(posted.form)


def test_a_503_is_retried_and_the_second_attempt_is_recorded(stack: Stack) -> None:
    stack.site.script("/flaky/intake", Reply(503, "down"), Reply(202, "ok ticket=FL-77"))
    url = unique("https://flaky.example/v/e2e-503")
    done = wait_at_rest(queue_link(stack, url))
    assert (done.state, done.ticket, done.attempts) == ("sent", "FL-77", 2)
    assert done.outcomes == [("webform", "transient"), ("webform", "delivered")]
    assert len(posts(stack, "/flaky/intake", url)) == 2


def test_a_429_retry_after_is_honoured_before_the_next_attempt(stack: Stack) -> None:
    stack.site.script(
        "/ratelimited/intake",
        Reply(429, "slow down", {"Retry-After": "2"}),
        Reply(202, "ticket=RL-1"),
    )
    url = unique("https://ratelimited.example/v/e2e-429")
    done = wait_at_rest(queue_link(stack, url))
    assert done.state == "sent"
    first, second = posts(stack, "/ratelimited/intake", url)
    # The back-off alone would be ~0.3 s; the platform asked for 2.
    assert second - first >= 2.0


def test_a_400_fails_permanently_with_the_platforms_words(stack: Stack) -> None:
    stack.site.script("/refusing/intake", Reply(400, "<p>Please fill in all fields</p>"))
    url = unique("https://refusing.example/v/e2e-400")
    done = wait_at_rest(queue_link(stack, url))
    assert done.state == "failed"
    assert done.last_error == (
        "Refusing's form refused the report (HTTP 400): the page said 'Please fill in all fields'"
    )
    assert len(posts(stack, "/refusing/intake", url)) == 1


def test_a_failed_request_is_emailed_to_the_caseworkers_without_its_link(stack: Stack) -> None:
    stack.site.script("/refusing/intake", Reply(400, "no"))
    url = unique("https://refusing.example/v/e2e-alert")
    request_id = queue_link(stack, url)
    assert wait_at_rest(request_id).state == "failed"
    inbox = str(stack.settings.caseworker_email)
    deadline = time.monotonic() + 15
    while not any(request_id[:8] in mail.message.get_content() for mail in stack.smtp.to(inbox)):
        assert time.monotonic() < deadline, "no alert email reached the caseworkers"
        time.sleep(0.2)
    (mail,) = [m for m in stack.smtp.to(inbox) if request_id[:8] in m.message.get_content()]
    body = mail.message.get_content()
    assert "request failed on every channel" in body
    with session_scope() as session:
        reference = session.get_one(RemovalRequest, request_id).item.case.reference
    assert reference in body
    assert "refusing" not in mail.message.as_string().lower()  # neither link nor host


def test_a_caseworker_sends_a_failed_request_again_once_the_cause_is_fixed(stack: Stack) -> None:
    stack.site.script("/refusing/intake", Reply(400, "form closed for maintenance"))
    url = unique("https://refusing.example/v/e2e-retry")
    request_id = queue_link(stack, url)
    assert wait_at_rest(request_id).state == "failed"

    stack.site.script("/refusing/intake", Reply(202, "ticket=AGAIN-1"))
    again = subprocess.run(
        [str(TAKEDOWN), "retry", request_id[:8]],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert again.returncode == 0, again.stderr
    done = wait_at_rest(request_id)
    assert (done.state, done.ticket) == ("sent", "AGAIN-1")
    assert done.outcomes == [("webform", "permanent"), ("webform", "delivered")]


def test_retries_stop_after_the_configured_number_of_attempts(stack: Stack) -> None:
    stack.site.script("/flaky/intake", Reply(502, "bad gateway"))
    url = unique("https://flaky.example/v/e2e-gives-up")
    done = wait_at_rest(queue_link(stack, url))
    assert done.state == "failed"
    assert done.attempts == stack.settings.max_attempts == 3
    assert (done.last_error or "").startswith("gave up after 3 attempts; the last: ")
    assert len(posts(stack, "/flaky/intake", url)) == 3


def test_a_read_time_out_is_ambiguous_and_never_sent_again(stack: Stack) -> None:
    stack.site.script("/slow/intake", Reply(202, "ticket=SLOW", delay=2.5))
    url = unique("https://slow.example/v/e2e-timeout")
    request_id = queue_link(stack, url)
    assert wait_at_rest(request_id).state == "ambiguous"
    time.sleep(3 * stack.settings.sweep_seconds + 1)  # several sweeps go by
    assert seen(request_id).state == "ambiguous"
    assert len(posts(stack, "/slow/intake", url)) == 1


def test_an_smtp_451_is_retried_and_then_delivered(stack: Stack) -> None:
    stack.smtp.refuse("ncii@brokenmail.example", "451 4.7.1 Greylisted, try again")
    url = unique("https://brokenmail.example/p/e2e-451")
    done = wait_at_rest(queue_link(stack, url))
    assert done.state == "sent"
    assert done.outcomes == [("email", "transient"), ("email", "delivered")]
    (mail,) = [
        m for m in stack.smtp.to("ncii@brokenmail.example") if url in m.message.get_content()
    ]
    assert "Aino" not in mail.message.as_string()
    assert "aino@example.org" not in mail.message.as_string()


def test_an_smtp_550_fails_permanently(stack: Stack) -> None:
    stack.smtp.refuse("ncii@brokenmail.example", "550 5.1.1 Unknown mailbox")
    done = wait_at_rest(queue_link(stack, unique("https://brokenmail.example/p/e2e-550")))
    assert done.state == "failed"
    assert "550 5.1.1 Unknown mailbox" in (done.last_error or "")


def test_a_manual_platform_waits_for_the_caseworker_who_marks_it_sent(stack: Stack) -> None:
    url = unique("https://handsite.example/m/e2e-manual")
    request_id = queue_link(stack, url)
    waiting = wait_at_rest(request_id)
    assert waiting.state == "awaiting_caseworker"
    assert waiting.package is not None
    assert "Open https://handsite.example/help/report" in waiting.package
    assert url in waiting.package
    assert f"takedown mark-sent {request_id} --ticket" in waiting.package

    marked = subprocess.run(
        [str(TAKEDOWN), "mark-sent", request_id, "--ticket", "HS-123"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert marked.returncode == 0, marked.stderr
    assert (seen(request_id).state, seen(request_id).ticket) == ("sent", "HS-123")


def test_a_permanent_failure_falls_back_to_the_next_channel(stack: Stack) -> None:
    stack.site.script("/fallbacksite/intake", Reply(404, "no such form"))
    url = unique("https://fallbacksite.example/p/e2e-fallback")
    done = wait_at_rest(queue_link(stack, url))
    assert done.state == "sent"
    assert done.outcomes == [("webform", "permanent"), ("email", "delivered")]
    assert any(url in m.message.get_content() for m in stack.smtp.to("abuse@fallbacksite.example"))


def test_the_same_request_published_five_times_is_sent_once(stack: Stack) -> None:
    stack.site.script("/racy/intake", Reply(202, "ticket=RC-1", delay=0.3))
    url = unique("https://racy.example/p/e2e-duplicates")
    request_id = queue_link(stack, url, publish_it=False)
    publish([request_id] * 5)
    assert wait_at_rest(request_id).state == "sent"
    time.sleep(1)
    assert len(posts(stack, "/racy/intake", url)) == 1


def test_a_request_whose_message_never_reached_the_broker_is_sent_by_the_sweeper(
    stack: Stack,
) -> None:
    stack.site.script("/lost/intake", Reply(202, "ticket=LOST-1"))
    request_id = queue_link(stack, unique("https://lost.example/p/e2e-lost"), publish_it=False)
    done = wait_at_rest(request_id, seconds=15)
    assert (done.state, done.ticket) == ("sent", "LOST-1")


def test_the_nightly_run_checks_every_watched_link_once_a_night(stack: Stack) -> None:
    from takedown.store.models import Check, Item
    from takedown.worker.celery_app import app_for

    gone, there = unique("/content/nightly-gone"), unique("/content/nightly-there")
    stack.site.script(gone, Reply(404, "Not found"))
    stack.site.script(there, Reply(200, "<img src='/1.jpg'>"))
    catalogue = catalogue_for(stack.settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session)
        added = add_links(
            session,
            case,
            [stack.site.url(gone), stack.site.url(there)],
            catalogue,
            actor=TEST_ACTOR,
        )
        item_ids = [item.id for item in added.added]

    def checks() -> int:
        with session_scope() as session:
            return session.query(Check).filter(Check.item_id.in_(item_ids)).count()

    app_for(stack.settings).send_task("takedown.tasks.nightly")
    deadline = time.monotonic() + 60
    while checks() < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert checks() == 2
    with session_scope() as session:
        statuses = {session.get_one(Item, i).url: session.get_one(Item, i).status for i in item_ids}
    assert statuses == {stack.site.url(gone): "unknown", stack.site.url(there): "online"}

    app_for(stack.settings).send_task("takedown.tasks.nightly")  # the same night again
    time.sleep(3)
    assert checks() == 2


def test_the_victim_is_told_in_finnish_when_the_request_goes_out(stack: Stack) -> None:
    victim = f"victim-{uuid.uuid4().hex[:8]}@example.org"
    url = unique("https://mailsite.example/p/e2e-told")
    assert wait_at_rest(queue_link(stack, url, victim=victim)).state == "sent"
    deadline = time.monotonic() + 20  # beat's next sweep sends the notification task
    while not stack.smtp.to(victim) and time.monotonic() < deadline:
        time.sleep(0.2)
    (mail,) = stack.smtp.to(victim)
    assert mail.message["Content-Language"] == "fi"
    assert mail.message["Subject"].startswith("Päivitys asiaasi TD-")
    assert url not in mail.message.as_string()
