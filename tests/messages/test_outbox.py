"""The outbox of emails to people: a send whose worker died is flagged and never sent twice,
and a send that fails for good stops and is shown to the caseworkers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from takedown.channels.base import Outcome, Result
from takedown.config import Settings, get_settings
from takedown.messages.alerts import email_due, flag_stuck_emails, open_alerts, raise_for_case
from takedown.messages.notifications import record_event, send_due
from takedown.messages.outbox import ALERT_EMAILS, NOTIFICATIONS, claim, due_now, record_outcome
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import Alert, Case, Notification
from takedown.store.states import MessageState
from takedown.testing.cases import open_test_case, queued_case
from takedown.testing.environment import Configure
from takedown.testing.smtp_sink import SmtpSink
from takedown.worker.housekeeping import sweep


def victim_address() -> str:
    return f"aino-{uuid.uuid4().hex[:8]}@example.org"


def a_claimed_progress_email(victim: str, seconds_ago: float) -> str:
    """A progress email to ``victim`` that a worker claimed ``seconds_ago`` and never recorded
    (it was killed): its case's id."""
    with session_scope() as session:
        case = open_test_case(session, victim_email=victim)
        record_event(session, case.id, "requests_sent")
        case_id = case.id
    claimed_at = utcnow() - timedelta(seconds=seconds_ago)
    with session_scope() as session:
        ids = session.scalars(select(Notification.id).where(Notification.case_id == case_id))
        assert claim(session, NOTIFICATIONS, list(ids), claimed_at)
    return case_id


def notification_states(case_id: str) -> list[str]:
    with session_scope() as session:
        query = select(Notification.state).where(Notification.case_id == case_id)
        return list(session.scalars(query))


def alerts_about(case_id: str) -> list[str]:
    with session_scope() as session:
        reference = session.get_one(Case, case_id).reference
        return [alert.what for alert in open_alerts(session) if alert.case == reference]


def test_a_progress_email_whose_worker_died_is_flagged_and_never_sent_twice(
    environment: Settings, smtp: SmtpSink
) -> None:
    victim = victim_address()
    dead = a_claimed_progress_email(victim, environment.sending_timeout_seconds + 5)
    alive = a_claimed_progress_email(victim_address(), 1)  # a worker sending now
    with session_scope() as session:
        assert sweep(session, environment).messages_flagged >= 1
    assert notification_states(dead) == [MessageState.AMBIGUOUS]
    assert notification_states(alive) == [MessageState.SENDING]
    (what,) = alerts_about(dead)
    assert "progress email to the victim may not have been sent" in what
    # It may have gone: it is not sent again, and the next sweep does not tell twice.
    send_due(environment)
    assert smtp.to(victim) == []
    with session_scope() as session:
        sweep(session, environment)
    assert len(alerts_about(dead)) == 1


@pytest.mark.usefixtures("environment")
def test_an_alert_email_refused_for_good_stops_and_shows_in_the_alerts(
    smtp: SmtpSink, configure: Configure
) -> None:
    inbox = f"team-{uuid.uuid4().hex[:8]}@helpline.example"
    settings = configure(TAKEDOWN_CASEWORKER_EMAIL=inbox)
    queued = queued_case(settings, ["https://handsite.example/p/1"])
    with session_scope() as session:
        raise_for_case(session, queued.case_id, "look at this case")
    smtp.refuse(inbox, "550 5.1.1 No such mailbox")  # once: the next try would be accepted

    now = utcnow()
    assert email_due(settings, now) == 0
    much_later = now + timedelta(seconds=settings.retry_max_seconds * 10)
    assert email_due(settings, much_later) == 0  # not tried again
    assert smtp.to(inbox) == []
    with session_scope() as session:
        (alert,) = [a for a in open_alerts(session) if a.case == queued.reference]
    assert alert.email == MessageState.FAILED
    assert "550" in (alert.email_error or "")


@pytest.mark.usefixtures("environment")
def test_an_alert_email_deferred_past_a_requests_attempts_is_still_sent_in_the_end(
    smtp: SmtpSink, configure: Configure
) -> None:
    inbox = f"team-{uuid.uuid4().hex[:8]}@helpline.example"
    settings = configure(TAKEDOWN_CASEWORKER_EMAIL=inbox)
    queued = queued_case(settings, ["https://handsite.example/p/2"])
    with session_scope() as session:
        raise_for_case(session, queued.case_id, "look at this case")
    deferrals = settings.max_attempts + 1  # a relay down longer than a request would wait
    smtp.refuse(inbox, *["451 4.3.0 Try again later"] * deferrals)
    now = utcnow()
    for attempt in range(deferrals):
        assert email_due(settings, now + timedelta(days=attempt)) == 0
    assert email_due(settings, now + timedelta(days=deferrals)) >= 1
    assert any(queued.reference in m.message.get_content() for m in smtp.to(inbox))


@pytest.mark.usefixtures("environment")
def test_the_events_of_one_progress_email_are_tried_again_together(smtp: SmtpSink) -> None:
    victim = victim_address()
    with session_scope() as session:
        case = open_test_case(session, victim_email=victim)
        for event in ("requests_sent", "content_removed", "content_reappeared"):
            record_event(session, case.id, event)
        case_id = case.id
    smtp.refuse(victim, "451 4.3.0 Try again later")
    send_due(get_settings())
    with session_scope() as session:
        rows = session.scalars(select(Notification).where(Notification.case_id == case_id))
        retries = {(row.state, row.attempts, row.next_attempt_at) for row in rows}
    ((state, attempts, retry_at),) = retries  # one message: one time for all its events
    assert (state, attempts) == (MessageState.PENDING, 1)
    assert retry_at is not None


@pytest.mark.usefixtures("environment")
def test_a_message_waiting_out_its_back_off_cannot_be_claimed_early(smtp: SmtpSink) -> None:
    victim = victim_address()
    with session_scope() as session:
        case = open_test_case(session, victim_email=victim)
        record_event(session, case.id, "requests_sent")
        case_id = case.id
    smtp.refuse(victim, "451 4.3.0 Try again later")
    now = utcnow()
    send_due(get_settings(), now)
    with session_scope() as session:
        (row,) = session.scalars(select(Notification).where(Notification.case_id == case_id))
        assert row.next_attempt_at is not None
        # Another worker read the row as due a moment before: its claim must now fail.
        assert not claim(session, NOTIFICATIONS, [row.id], now)
        assert claim(session, NOTIFICATIONS, [row.id], row.next_attempt_at)


def test_an_outcome_arriving_after_the_sweep_flagged_the_send_leaves_it_ambiguous(
    environment: Settings,
) -> None:
    case_id = a_claimed_progress_email(victim_address(), environment.sending_timeout_seconds + 5)
    with session_scope() as session:
        sweep(session, environment)
    with session_scope() as session:
        ids = list(session.scalars(select(Notification.id).where(Notification.case_id == case_id)))
        delivered = Result(Outcome.DELIVERED)
        assert record_outcome(session, NOTIFICATIONS, ids, delivered, environment, utcnow()) is None
    assert notification_states(case_id) == [MessageState.AMBIGUOUS]
    assert len(alerts_about(case_id)) == 1


@pytest.mark.usefixtures("environment")
def test_one_stuck_alert_email_counts_once_however_many_alerts_it_told_of(
    configure: Configure,
) -> None:
    settings = configure(TAKEDOWN_CASEWORKER_EMAIL=f"team-{uuid.uuid4().hex[:8]}@example.org")
    with session_scope() as session:
        for _ in range(3):
            case = open_test_case(session, victim_email=victim_address())
            raise_for_case(session, case.id, "look at this case")
    long_ago = utcnow() - timedelta(seconds=settings.sending_timeout_seconds + 5)
    with session_scope() as session:
        ids = list(session.scalars(select(Alert.id).where(due_now(ALERT_EMAILS, long_ago))))
        assert len(ids) >= 3
        assert claim(session, ALERT_EMAILS, ids, long_ago)
    with session_scope() as session:
        assert flag_stuck_emails(session, settings, utcnow()) == 1
