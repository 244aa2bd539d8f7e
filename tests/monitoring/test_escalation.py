"""Escalation: one follow-up citing the first ticket, then the next target; never a resend."""

from __future__ import annotations

import uuid
from datetime import timedelta

from takedown.cases.requests import preview_notice
from takedown.catalogue.platforms import catalogue_for
from takedown.config import Settings
from takedown.delivery.deliver import deliver
from takedown.monitoring.checks import Seen
from takedown.monitoring.recording import record_checks
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import Item, RemovalRequest
from takedown.store.states import CheckOutcome, RequestState
from takedown.testing.cases import TEST_ACTOR, sent_request
from takedown.testing.smtp_sink import SmtpSink
from takedown.worker.housekeeping import sweep


def sent(settings: Settings, url: str) -> str:
    return sent_request(settings, url)[1]  # ticket T-1, a 48-hour deadline


def follow_ups(request_id: str) -> list[RemovalRequest]:
    with session_scope() as session:
        item = session.get_one(RemovalRequest, request_id).item
        return [r for r in item.requests if r.escalates_id is not None]


def test_an_overdue_request_gets_one_follow_up_then_the_next_target(
    environment: Settings, smtp: SmtpSink
) -> None:
    url = f"https://escalating.example/p/overdue-{uuid.uuid4().hex[:8]}"
    first = sent(environment, url)
    with session_scope() as session:
        sweep(session, environment, utcnow() + timedelta(hours=49))
    (follow_up,) = follow_ups(first)
    assert (follow_up.escalation_step, follow_up.state) == (0, "queued")
    with session_scope() as session:
        assert session.get_one(RemovalRequest, first).state == RequestState.ESCALATED

    assert deliver(follow_up.id) is False
    (mail,) = [m for m in smtp.to("ncii@escalating.example") if url in m.message.get_content()]
    body = mail.message.get_content()
    assert mail.message["Subject"].startswith("Follow-up: removal request TD-")
    assert "their reference T-1" in body
    assert "This is not a new report of the same" in body

    with session_scope() as session:  # the follow-up's own deadline passes too
        sweep(session, environment, utcnow() + timedelta(hours=49 + 49))
    steps = sorted((r.escalation_step, r.state) for r in follow_ups(first))
    assert steps == [(0, "escalated"), (1, "queued")]
    legal = next(r for r in follow_ups(first) if r.escalation_step == 1)
    deliver(legal.id)
    (to_legal,) = [
        m for m in smtp.to("legal@representative.example") if url in m.message.get_content()
    ]
    assert "To the EU legal representative of Escalating" in to_legal.message.get_content()

    with session_scope() as session:  # no target left: it stays overdue for the caseworker
        sweep(session, environment, utcnow() + timedelta(hours=49 * 3))
        sweep(session, environment, utcnow() + timedelta(hours=49 * 4))
    assert len(follow_ups(first)) == 2


def test_a_platform_with_nowhere_to_escalate_stays_overdue(environment: Settings) -> None:
    first = sent(environment, "https://formsite.example/p/nowhere")
    with session_scope() as session:
        sweep(session, environment, utcnow() + timedelta(hours=49))
    assert follow_ups(first) == []
    with session_scope() as session:
        assert session.get_one(RemovalRequest, first).state == RequestState.OVERDUE


def test_confirmed_removal_closes_the_request_and_its_follow_ups(environment: Settings) -> None:
    first = sent(environment, "https://escalating.example/p/closed")
    with session_scope() as session:
        sweep(session, environment, utcnow() + timedelta(hours=49))
    (follow_up,) = follow_ups(first)
    catalogue = catalogue_for(environment.platforms_dir)
    gone = Seen(CheckOutcome.REMOVED, "HTTP 404", 404)
    for hours in (50, 55):
        with session_scope() as session:
            visit = (follow_up.item_id, gone, utcnow() + timedelta(hours=hours))
            record_checks(session, [visit], environment, catalogue)
    with session_scope() as session:
        states = {r.id: r.state for r in session.get_one(Item, follow_up.item_id).requests}
    assert states == {first: "removed", follow_up.id: "withdrawn"}


def test_the_preview_of_a_follow_up_is_the_follow_up_that_will_be_sent(
    environment: Settings,
) -> None:
    first = sent(environment, f"https://escalating.example/p/preview-{uuid.uuid4().hex[:8]}")
    with session_scope() as session:
        sweep(session, environment, utcnow() + timedelta(hours=49))
    (follow_up,) = follow_ups(first)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, follow_up.id)
        preview = preview_notice(session, request, environment, actor=TEST_ACTOR)
    assert preview.notice.subject.startswith("Follow-up: removal request TD-")
    assert "their reference T-1" in preview.notice.body
