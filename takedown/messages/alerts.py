"""Caseworker alerts: what a person must look at, kept until acknowledged and, when
``TAKEDOWN_CASEWORKER_EMAIL`` is set, emailed there.

An alert is raised when content comes back online after its removal, and when a request
reaches a state only a person can move it out of (failed, ambiguous, a package to submit by
hand). Alerts name the case reference and the request, never the link: the link is for
`takedown status`, behind the caseworker's own access, not for an inbox.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from takedown.channels.base import Outcome, Result
from takedown.channels.email import EmailSender, email_message
from takedown.config import Settings
from takedown.errors import NotFound
from takedown.messages.outbox import ALERT_EMAILS, claim, due_now, flag_stuck, record_outcome
from takedown.store.audit import record
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import Alert, Case, Item, RemovalRequest
from takedown.store.read_models import OpenAlert
from takedown.store.states import MessageState, RequestState

log = logging.getLogger(__name__)

# The states a request cannot leave without a person, and what the alert says about each.
NEEDS_A_CASEWORKER: dict[str, str] = {
    RequestState.FAILED: "request failed on every channel; a caseworker decides what next",
    RequestState.AMBIGUOUS: (
        "request may have reached the platform; check with it before sending again"
    ),
    RequestState.AWAITING_CASEWORKER: "package ready to submit by hand (takedown package)",
}


def raise_for_request(session: Session, request: RemovalRequest, state: str) -> None:
    """Called on every state change: an alert when the request now waits for a person."""
    what = NEEDS_A_CASEWORKER.get(state)
    if state == RequestState.AWAITING_CASEWORKER and request.contact_note is not None:
        what = "abuse contact of a link on no known platform to confirm (takedown status)"
    if what is not None:
        session.add(
            Alert(
                case_id=request.item.case_id,
                item_id=request.item_id,
                request_id=request.id,
                what=what,
            )
        )


def raise_for_case(session: Session, case_id: str, what: str) -> None:
    """An alert about the case alone (a progress email to its victim)."""
    session.add(Alert(case_id=case_id, what=what))


def raise_for_link(session: Session, item: Item, what: str) -> None:
    """An alert about a link rather than one of its requests (content back online)."""
    session.add(Alert(case_id=item.case_id, item_id=item.id, what=what))


def settle_for_request(session: Session, request_id: str) -> None:
    """A caseworker acted on the request: its open alerts are dealt with."""
    _settle(session, Alert.request_id == request_id)


def settle_for_link(session: Session, item_id: str) -> None:
    """A caseworker acted on the link itself: its open alerts are dealt with."""
    _settle(session, Alert.item_id == item_id)


def _settle(session: Session, which: ColumnElement[bool]) -> None:
    session.execute(
        update(Alert)
        .where(which, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def open_alerts(session: Session) -> list[OpenAlert]:
    """Alerts not yet acknowledged, oldest first. No link in them: `status` shows it."""
    rows = session.execute(
        select(Alert, Case)
        .join(Case, Alert.case_id == Case.id)
        .where(Alert.acknowledged_at.is_(None))
        .order_by(Alert.created_at, Alert.id)
    ).all()
    return [OpenAlert.of(alert, case) for alert, case in rows]


def acknowledge(session: Session, alert_id: int, *, actor: str) -> None:
    """Mark an alert as dealt with."""
    # Beyond the integer column's range there is no alert (and SQLite cannot even ask).
    alert = session.get(Alert, alert_id) if 0 < alert_id < 2**31 else None
    if alert is None:
        raise NotFound(f"there is no alert {alert_id}", field="alert_id")
    alert.acknowledged_at = alert.acknowledged_at or utcnow()
    record(
        session,
        actor=actor,
        action="alert acknowledged",
        case_id=alert.case_id,
        detail=f"alert {alert_id}",
    )


def email_due(settings: Settings, now: datetime | None = None) -> int:
    """Email the open alerts not emailed yet to the caseworkers' address, all in one message;
    the number of alerts it told of. A failure that may pass is tried again later; one that
    will not (a mail server refusing the address) stops, and `takedown alerts` shows it."""
    if settings.caseworker_email is None:
        return 0
    now = now or utcnow()
    with session_scope() as session:
        ids = list(
            session.scalars(
                select(Alert.id).where(due_now(ALERT_EMAILS, now), Alert.acknowledged_at.is_(None))
            )
        )
        if not ids or not claim(session, ALERT_EMAILS, ids, now):
            return 0  # nothing to tell, or another worker is telling these
        try:
            message = _message(session, ids, settings)
        except ValueError as error:  # UnsafeHeader: nothing can make this message sendable
            message = None
            unbuilt = Result(Outcome.PERMANENT, error=f"the email could not be built: {error}")
    result = (
        EmailSender(settings).transmit(message, settings.caseworker_email)
        if message is not None
        else unbuilt
    )
    with session_scope() as session:
        state = record_outcome(session, ALERT_EMAILS, ids, result, settings, now)
    if state == MessageState.SENT:
        return len(ids)
    if state is None:  # the sweep flagged it meanwhile; the alerts still show
        return 0
    again = "will try again" if state == MessageState.PENDING else "not tried again"
    log.warning("caseworker alerts not emailed (%s): %s", again, result.error)
    return 0


def flag_stuck_emails(session: Session, settings: Settings, now: datetime) -> int:
    """Alert emails whose worker stopped while sending them: ambiguous, not sent again (the
    alerts stay in `takedown alerts`). How many emails."""
    # One email told of several alerts: its rows share the time of their claim.
    return len(
        {alert.email_claimed_at for alert in flag_stuck(session, ALERT_EMAILS, settings, now)}
    )


def _message(session: Session, alert_ids: list[int], settings: Settings) -> EmailMessage:
    rows = session.execute(
        select(Alert, Case)
        .join(Case, Alert.case_id == Case.id)
        .where(Alert.id.in_(alert_ids))
        .order_by(Alert.created_at, Alert.id)
    ).all()
    lines = [
        f"{len(rows)} new alert(s) need a caseworker:",
        "",
        *(
            f"- {case.reference} ({alert.created_at:%Y-%m-%d %H:%M} UTC): {alert.what}"
            + (f" [request {alert.request_id[:8]}]" if alert.request_id else "")
            for alert, case in rows
        ),
        "",
        "`takedown alerts` lists every open alert; `takedown status REFERENCE` shows the case.",
        "This message names no link on purpose.",
    ]
    return email_message(
        settings,
        sender_name="takedown",
        to=settings.caseworker_email or "",
        subject=f"takedown: {len(rows)} alert(s) need a caseworker",
        body="\n".join(lines),
    )
