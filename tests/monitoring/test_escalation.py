"""Escalation: one follow-up citing the first ticket, then the next target; never a resend."""

from __future__ import annotations

import uuid
from datetime import timedelta

from takedown.cases.requests import preview_notice, retry_request
from takedown.catalogue.escalation import FirstReport, target_for
from takedown.catalogue.legal import legal_for
from takedown.catalogue.platforms import catalogue_for
from takedown.catalogue.schema import EmailChannel, ManualChannel, Platform
from takedown.config import Settings, bundled_dir
from takedown.delivery.deliver import deliver
from takedown.delivery.lifecycle import move
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


def test_no_coordinator_is_asked_about_a_notice_that_did_not_invoke_the_dsa(
    environment: Settings,
) -> None:
    # An AI-made image of an adult in Germany: no German offence covers it, so the notice
    # invoked the platform's own policy, and Article 53 gives the coordinator nothing to judge.
    url = f"https://regulated.example/p/{uuid.uuid4().hex[:8]}"
    first = sent_request(environment, url, country="DE", synthetic=True)[1]
    with session_scope() as session:
        assert session.get_one(RemovalRequest, first).legal_basis == "terms"
        sweep(session, environment, utcnow() + timedelta(hours=49))
    (own,) = follow_ups(first)
    deliver(own.id)
    with session_scope() as session:
        sweep(session, environment, utcnow() + timedelta(hours=49 * 2))
    assert [r.escalation_step for r in follow_ups(first)] == [0]


REGULATED = Platform.model_validate(
    {
        "id": "regulated",
        "name": "Regulated",
        "legal_bases": ["dsa", "terms"],
        "domains": ["regulated.example"],
        "deadline_hours": 48,
        "channels": [{"type": "manual", "url": "https://regulated.example/report"}],
        "escalation": [{"dsa_coordinator": "victims_country"}],
    }
)
LEGAL = legal_for(bundled_dir("legal"))


def test_a_coordinator_that_takes_no_complaints_yet_is_skipped() -> None:
    # Poland's temporary coordinator has no powers under Article 53 (legal/coordinators.yaml).
    assert target_for(REGULATED, 1, FirstReport("dsa", "PL"), LEGAL) is None
    assert target_for(REGULATED, 1, FirstReport("dsa", "PT"), LEGAL) is not None


def test_a_complaint_page_whose_form_was_not_verified_says_so_in_the_package() -> None:
    target = target_for(REGULATED, 1, FirstReport("dsa", "DK"), LEGAL)
    assert target is not None
    name, channel = target
    assert "Konkurrence- og Forbrugerstyrelsen" in name
    assert isinstance(channel, ManualChannel)
    assert any("was not verified" in step for step in channel.instructions)
    verified = target_for(REGULATED, 1, FirstReport("dsa", "MT"), LEGAL)
    assert verified is not None
    assert isinstance(verified[1], ManualChannel)
    assert not any("was not verified" in step for step in verified[1].instructions)


def test_a_coordinator_that_publishes_an_address_for_complaints_is_written_to_there() -> None:
    target = target_for(REGULATED, 1, FirstReport("dsa", "IE"), LEGAL)
    assert target is not None
    name, channel = target
    assert name == (
        "Coimisiún na Meán (Media Commission), the Digital Services Coordinator of Ireland"
    )
    assert isinstance(channel, EmailChannel)
    assert channel.to == "usersupport@cnam.ie"
    # Outside the EU there is none; nor without a country.
    assert target_for(REGULATED, 1, FirstReport("dsa", "US"), LEGAL) is None
    assert target_for(REGULATED, 1, FirstReport("dsa", None), LEGAL) is None


def test_a_failed_follow_up_is_sent_again_to_its_target_not_to_a_platform_channel(
    environment: Settings,
) -> None:
    _, coordinator = overdue_to_the_coordinator(environment, "DE")
    with session_scope() as session:
        request = session.get_one(RemovalRequest, coordinator.id)
        move(session, request, RequestState.SENDING, "test")
        move(session, request, RequestState.FAILED, "test")
    with session_scope() as session:
        request = session.get_one(RemovalRequest, coordinator.id)
        assert retry_request(session, request, environment, actor=TEST_ACTOR) == "manual"
        assert (request.state, request.escalation_step, request.package) == ("queued", 1, None)


def test_the_platforms_own_inbox_for_a_follow_up_is_the_one_that_takes_the_first_report() -> None:
    routed = Platform.model_validate(
        {
            "id": "routed",
            "name": "Routed",
            "legal_bases": ["dsa", "terms"],
            "domains": ["routed.example"],
            "deadline_hours": 48,
            "channels": [
                {"type": "email", "for_bases": ["dsa"], "to": "dsa@routed.example"},
                {"type": "email", "for_bases": ["terms"], "to": "policy@routed.example"},
            ],
        }
    )
    for basis, inbox in (("dsa", "dsa@routed.example"), ("terms", "policy@routed.example")):
        target = target_for(routed, 0, FirstReport(basis, "FI"), LEGAL)
        assert target is not None
        assert isinstance(target[1], EmailChannel)
        assert target[1].to == inbox
