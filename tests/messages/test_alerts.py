"""Caseworker alerts: raised when only a person can move a request on, settled when one does,
and emailed to the caseworkers' inbox without the link."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.cases.requests import retry_request, withdraw_request
from takedown.catalogue.platforms import catalogue_for
from takedown.config import Settings
from takedown.delivery.lifecycle import move
from takedown.messages.alerts import email_due, open_alerts
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import RemovalRequest
from takedown.store.states import RequestState
from takedown.testing.cases import TEST_ACTOR, open_test_case
from takedown.testing.environment import Configure
from takedown.testing.smtp_sink import SmtpSink

SECRET_LINK = "https://mailsite.example/p/very-private-1"


def a_request(settings: Settings) -> tuple[str, str]:
    """A queued request; its id and its case's reference."""
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session)
        add_links(session, case, [SECRET_LINK], catalogue, actor=TEST_ACTOR)
        request_id = queue_case(session, case, catalogue, actor=TEST_ACTOR).request_ids[0]
        return request_id, case.reference


def end_in(request_id: str, *states: RequestState) -> None:
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        for state in (RequestState.SENDING, *states):
            move(session, request, state, "test")


def alerts_of(reference: str) -> list[str]:
    with session_scope() as session:
        return [alert.what for alert in open_alerts(session) if alert.case == reference]


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (RequestState.FAILED, "request failed on every channel"),
        (RequestState.AMBIGUOUS, "may have reached the platform"),
        (RequestState.AWAITING_CASEWORKER, "package ready to submit by hand"),
    ],
)
def test_a_request_waiting_for_a_person_raises_an_alert(
    environment: Settings, state: RequestState, words: str
) -> None:
    request_id, reference = a_request(environment)
    assert alerts_of(reference) == []
    end_in(request_id, state)
    (what,) = alerts_of(reference)
    assert words in what


def test_a_retry_by_the_caseworker_settles_the_alert(environment: Settings) -> None:
    request_id, reference = a_request(environment)
    end_in(request_id, RequestState.FAILED)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        retry_request(session, request, environment, actor=TEST_ACTOR)
    assert alerts_of(reference) == []


def test_a_withdrawal_settles_the_alert(environment: Settings) -> None:
    request_id, reference = a_request(environment)
    end_in(request_id, RequestState.AWAITING_CASEWORKER)
    with session_scope() as session:
        withdraw_request(session, session.get_one(RemovalRequest, request_id), actor=TEST_ACTOR)
    assert alerts_of(reference) == []


@pytest.mark.usefixtures("environment")
def test_new_alerts_are_emailed_once_in_one_message_without_the_link(
    smtp: SmtpSink, configure: Configure
) -> None:
    inbox = f"team-{uuid.uuid4().hex[:8]}@helpline.example"
    settings = configure(TAKEDOWN_CASEWORKER_EMAIL=inbox)
    first, first_reference = a_request(settings)
    second, second_reference = a_request(settings)
    end_in(first, RequestState.FAILED)
    end_in(second, RequestState.AMBIGUOUS)

    assert email_due(settings) >= 2
    (mail,) = smtp.to(inbox)
    body = mail.message.get_content()
    for expected in (first_reference, second_reference, first[:8], second[:8]):
        assert expected in body
    assert "very-private" not in mail.message.as_string()
    assert "mailsite" not in mail.message.as_string()

    assert email_due(settings) == 0  # told once
    assert len(smtp.to(inbox)) == 1


@pytest.mark.usefixtures("environment")
def test_an_alert_email_the_relay_refuses_is_tried_again_later(
    smtp: SmtpSink, configure: Configure
) -> None:
    inbox = f"team-{uuid.uuid4().hex[:8]}@helpline.example"
    settings = configure(TAKEDOWN_CASEWORKER_EMAIL=inbox)
    request_id, reference = a_request(settings)
    end_in(request_id, RequestState.FAILED)
    smtp.refuse(inbox, "451 4.3.0 Mailbox busy")

    now = utcnow()
    assert email_due(settings, now) == 0
    assert smtp.to(inbox) == []
    assert email_due(settings, now) == 0  # backing off: not before the retry delay
    later = now + timedelta(seconds=settings.retry_base_seconds + 1)
    assert email_due(settings, later) >= 1
    (mail,) = smtp.to(inbox)
    assert reference in mail.message.get_content()


def test_without_a_caseworker_address_alerts_stay_in_the_tool(
    environment: Settings, smtp: SmtpSink, configure: Configure
) -> None:
    environment = configure(TAKEDOWN_CASEWORKER_EMAIL="")  # as compose passes it
    assert environment.caseworker_email is None
    request_id, reference = a_request(environment)
    end_in(request_id, RequestState.FAILED)
    assert email_due(environment) == 0
    assert not any(reference in mail.message.get_content() for mail in smtp.messages)
    assert len(alerts_of(reference)) == 1
