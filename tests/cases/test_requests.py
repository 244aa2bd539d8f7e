"""What a caseworker does to one request, called as every door calls it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from takedown.cases.requests import (
    change_basis,
    confirm_removed,
    mark_sent,
    package_of,
    retry_request,
)
from takedown.config import Settings
from takedown.delivery.deliver import deliver
from takedown.delivery.lifecycle import move
from takedown.errors import Conflict, InputError
from takedown.messages.alerts import open_alerts
from takedown.store.audit import history
from takedown.store.db import session_scope
from takedown.store.models import Notification, RemovalRequest
from takedown.store.states import RequestState
from takedown.testing.cases import TEST_ACTOR, queued_case, sent_request
from takedown.testing.smtp_sink import SmtpSink


def test_a_request_whose_platform_file_was_removed_can_still_be_marked_sent(
    environment: Settings,
) -> None:
    (request_id,) = queued_case(environment, ["https://mailsite.example/p/gone"]).request_ids
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        move(session, request, RequestState.SENDING, "test")
        move(session, request, RequestState.FAILED, "test")
        request.platform_id = "renamed-since"  # no file of that name any more
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        mark_sent(session, request, "T-7", environment, actor=TEST_ACTOR)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        # Recorded as the person says; its platform's deadline can no longer be known.
        assert (request.state, request.ticket, request.deadline_at) == ("sent", "T-7", None)


def test_a_manual_package_is_shown_once_there_is_one_and_each_viewing_is_audited(
    environment: Settings,
) -> None:
    (request_id,) = queued_case(environment, ["https://handsite.example/p/1"]).request_ids
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        with pytest.raises(Conflict, match=f"request {request_id[:8]} has no manual package"):
            package_of(session, request, actor=TEST_ACTOR)
    assert deliver(request_id, environment) is False  # a manual channel: a package is made
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert request.state == RequestState.AWAITING_CASEWORKER
        package = package_of(session, request, actor=TEST_ACTOR)
        case_id = request.item.case_id
    assert "https://handsite.example/p/1" in package
    with session_scope() as session:
        viewed = [e for e in history(session, case_id) if e.action == "package viewed"]
    assert [(e.actor, e.request) for e in viewed] == [(TEST_ACTOR, request_id)]


def test_an_eu_notice_takes_the_dsa_form_and_another_basis_the_platforms_inbox(
    environment: Settings, smtp: SmtpSink
) -> None:
    (request_id,) = queued_case(
        environment, ["https://routedsite.example/p/1"], country="FI"
    ).request_ids
    assert deliver(request_id, environment) is False
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert (request.legal_basis, request.state) == ("dsa", "awaiting_caseworker")
        package = request.package or ""
    assert "Open https://routedsite.example/dsa" in package
    # What the platform file could not verify is in front of the caseworker.
    assert "Not verified in takedown's file for Routedsite; check it here:" in package
    assert "The labels of the DSA form were not verified." in package

    with session_scope() as session:
        reference = session.get_one(RemovalRequest, request_id).item.case.reference
        assert [a.request for a in open_alerts(session) if a.case == reference] == [request_id]

    # Under the platform's own policy instead, the notice goes to its inbox, freshly written;
    # the old package, and the alert to submit it, are gone, so it is never submitted too.
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        change_basis(session, request, "terms", environment, actor=TEST_ACTOR)
        assert (request.state, request.channel, request.package) == ("queued", "email", None)
        assert [a for a in open_alerts(session) if a.case == reference] == []
    assert deliver(request_id, environment) is False
    assert [m for m in smtp.to("ncii@routedsite.example") if "routedsite.example/p/1" in (
        m.message.get_content())]  # fmt: skip


def test_a_caseworker_confirms_a_removal_a_check_cannot_see_and_the_victim_is_told(
    environment: Settings,
) -> None:
    _, request_id = sent_request(environment, "https://mailsite.example/p/hidden")
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        with pytest.raises(InputError, match="'guessed' is not one of: platform-answered"):
            confirm_removed(session, request, "guessed", actor=TEST_ACTOR)
        confirm_removed(session, request, "platform-answered", actor=TEST_ACTOR)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert (request.state, request.item.status) == ("removed", "removed")
        case_id = request.item.case_id
        events = session.scalars(
            select(Notification.event)
            .where(Notification.case_id == case_id)
            .order_by(Notification.id)
        )
        assert list(events) == ["requests_sent", "all_removed"]
        confirmed = [e for e in history(session, case_id) if e.action == "removal confirmed"]
        assert [(e.actor, e.detail) for e in confirmed] == [(TEST_ACTOR, "platform-answered")]
        # Done once: the request is no longer one that waits for its removal.
        with pytest.raises(Conflict, match="mark-removed is only for requests that are"):
            confirm_removed(session, request, "seen-signed-in", actor=TEST_ACTOR)


def test_a_follow_up_keeps_the_law_of_the_report_it_cites(environment: Settings) -> None:
    (request_id,) = queued_case(environment, ["https://mailsite.example/p/cited"]).request_ids
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        request.escalation_step = 1  # as a follow-up is queued
        with pytest.raises(Conflict, match="is a follow-up: it cites the first report"):
            change_basis(session, request, "terms", environment, actor=TEST_ACTOR)


def test_a_retry_whose_platform_no_longer_has_a_channel_for_it_says_what_to_do(
    environment: Settings,
) -> None:
    (request_id,) = queued_case(
        environment, ["https://routedsite.example/p/moved"], country="FI"
    ).request_ids
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        move(session, request, RequestState.SENDING, "test")
        move(session, request, RequestState.FAILED, "test")
        # A basis none of the platform's channels takes (as a changed file can leave it).
        request.legal_basis = "take_it_down"
        with pytest.raises(Conflict, match="choose another basis first"):
            retry_request(session, request, environment, actor=TEST_ACTOR)
