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


def overdue_to_the_coordinator(settings: Settings, country: str | None) -> list[RemovalRequest]:
    """A sent request to Regulated, past its deadline and past its follow-up's: the
    follow-ups, by step."""
    url = f"https://regulated.example/p/{uuid.uuid4().hex[:8]}"
    first = sent_request(settings, url, country=country)[1]
    with session_scope() as session:
        sweep(session, settings, utcnow() + timedelta(hours=49))
    (own,) = follow_ups(first)
    assert deliver(own.id) is False
    with session_scope() as session:
        sweep(session, settings, utcnow() + timedelta(hours=49 * 2))
    return sorted(follow_ups(first), key=lambda r: r.escalation_step or 0)


def test_the_coordinator_written_to_is_that_of_the_victims_country_by_its_published_address(
    environment: Settings, smtp: SmtpSink
) -> None:
    # Ireland's coordinator publishes an address for complaints (legal/coordinators.yaml).
    _, coordinator = overdue_to_the_coordinator(environment, "IE")
    assert (coordinator.escalation_step, coordinator.channel) == (1, "email")
    assert deliver(coordinator.id) is False
    with session_scope() as session:
        request = session.get_one(RemovalRequest, coordinator.id)
        assert request.state == RequestState.SENT
        url = request.item.url
    (mail,) = [m for m in smtp.to("usersupport@cnam.ie") if url in m.message.get_content()]
    body = mail.message.get_content()
    assert "Coimisiún na Meán (Media Commission), the Digital Services Coordinator of Ireland" in (
        body
    )
    assert "their reference T-1" in body  # it cites the first report, never resends it


def test_a_coordinator_without_a_published_address_gets_a_package_for_its_complaint_form(
    environment: Settings,
) -> None:
    _, coordinator = overdue_to_the_coordinator(environment, "DE")
    assert coordinator.channel == "manual"
    deliver(coordinator.id)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, coordinator.id)
        assert request.state == RequestState.AWAITING_CASEWORKER
        package = request.package or ""
    assert "Open https://www.dsc.bund.de/DSC/DE/3Verbraucher/3VB/start.html" in package
    assert "Article 53 of the Digital Services Act" in package
    assert "the Digital Services Coordinator of Germany" in package
    # A regulator's form is not the platform's: the platform file's doubts are not shown.
    assert "Not verified in takedown's file" not in package


def test_finland_has_no_verified_complaint_channel_so_the_package_says_so(
    environment: Settings,
) -> None:
    _, coordinator = overdue_to_the_coordinator(environment, "FI")
    deliver(coordinator.id)
    with session_scope() as session:
        package = session.get_one(RemovalRequest, coordinator.id).package or ""
    assert "Traficom" in package
    assert "takedown has no verified complaint address or form for this coordinator" in package


def test_outside_the_eu_there_is_no_coordinator_to_write_to(environment: Settings) -> None:
    (own,) = overdue_to_the_coordinator(environment, "US")
    assert own.escalation_step == 0
    with session_scope() as session:
        assert session.get_one(RemovalRequest, own.id).state == RequestState.OVERDUE
