"""The outbox every email to a person goes through: the victims' progress emails and the
caseworkers' alert email.

A message is rows first (``pending``), written in the same transaction as what it tells of.
A worker sending it claims the rows with a conditional update (``sending``, stamped with the
time), so that two workers never both send them; records the outcome (``sent``; ``pending``
again with a back-off; ``failed`` for good); and a send whose worker died is found by the
sweep once the claim is older than any task may run, and made ``ambiguous``: it may have
gone, so it is never sent again, and a person is told.

The same rules hold for both kinds of message; only where their rows keep the state differs
(``Outbox``). A message that may have arrived (the connection lost during DATA) counts as
sent: telling a victim twice is worse than once, and every alert stays in ``takedown alerts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from takedown.channels.backoff import retry_delay
from takedown.channels.base import Outcome, Result
from takedown.config import Settings
from takedown.store.models import Alert, Notification
from takedown.store.states import MessageState, check_message_transition

M = MessageState


@dataclass(frozen=True)
class Outbox:
    """Where one kind of message keeps its state on its rows, and whether a failure that may
    pass is tried again only ``TAKEDOWN_MAX_ATTEMPTS`` times or for as long as it takes."""

    model: type[Any]
    state: InstrumentedAttribute[str]
    attempts: InstrumentedAttribute[int]
    next_attempt_at: InstrumentedAttribute[datetime | None]
    claimed_at: InstrumentedAttribute[datetime | None]
    last_error: InstrumentedAttribute[str | None]
    sent_at: InstrumentedAttribute[datetime | None]
    retries_until_sent: bool = False


NOTIFICATIONS = Outbox(
    Notification,
    Notification.state,
    Notification.attempts,
    Notification.next_attempt_at,
    Notification.claimed_at,
    Notification.last_error,
    Notification.sent_at,
)
ALERT_EMAILS = Outbox(
    Alert,
    Alert.email_state,
    Alert.email_attempts,
    Alert.email_next_at,
    Alert.email_claimed_at,
    Alert.email_error,
    Alert.emailed_at,
    # The caseworkers' inbox is theirs: a relay down for a day delays their alerts, it does
    # not drop them. Only a refusal for good (a 5xx) stops them.
    retries_until_sent=True,
)

# The moves the statements below make, checked against the table once, at import.
for _move in [
    (M.PENDING, M.SENDING),
    (M.SENDING, M.SENT),
    (M.SENDING, M.PENDING),
    (M.SENDING, M.FAILED),
    (M.SENDING, M.SKIPPED),
    (M.SENDING, M.AMBIGUOUS),
]:
    check_message_transition(*_move)


def due_now(outbox: Outbox, now: datetime) -> Any:
    """The condition of rows waiting to be sent now."""
    return (outbox.state == M.PENDING) & (
        outbox.next_attempt_at.is_(None) | (outbox.next_attempt_at <= now)
    )


def claim(session: Session, outbox: Outbox, ids: Sequence[int], now: datetime) -> bool:
    """Move these rows from pending to sending, all of them or none; commit. False when
    another worker got there first."""
    claimed = session.execute(
        update(outbox.model)
        .where(outbox.model.id.in_(ids), outbox.state == M.PENDING)
        .values({outbox.state: M.SENDING, outbox.claimed_at: now})
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != len(ids):  # type: ignore[attr-defined]
        session.rollback()
        return False
    session.commit()
    return True


def settle(
    session: Session, outbox: Outbox, ids: Sequence[int], state: MessageState, why: str | None
) -> None:
    """Claimed rows that will not be sent: failed before a byte went out, or skipped."""
    session.execute(
        update(outbox.model)
        .where(outbox.model.id.in_(ids), outbox.state == M.SENDING)
        .values({outbox.state: state, outbox.last_error: why})
        .execution_options(synchronize_session=False)
    )


def record_outcome(
    session: Session,
    outbox: Outbox,
    ids: Sequence[int],
    result: Result,
    settings: Settings,
    now: datetime,
) -> MessageState:
    """What the send came to, on every claimed row: sent; pending again after a back-off
    when the failure may pass; failed when it will not, or after the last attempt."""
    rows = session.scalars(
        select(outbox.model).where(outbox.model.id.in_(ids), outbox.state == M.SENDING)
    ).all()
    attempts = max((getattr(row, outbox.attempts.key) for row in rows), default=0) + 1
    outcome = _new_state(attempts, outbox, result, settings)
    # One time for the whole message: its rows are tried again together, as one message.
    retry_at = now + timedelta(seconds=retry_delay(attempts, settings, result.retry_after))
    for row in rows:
        setattr(row, outbox.state.key, outcome)
        setattr(row, outbox.last_error.key, result.error)
        if outcome == M.SENT:
            setattr(row, outbox.sent_at.key, now)
            continue
        setattr(row, outbox.attempts.key, attempts)
        if outcome == M.PENDING:
            setattr(row, outbox.next_attempt_at.key, retry_at)
    return outcome


def _new_state(attempts: int, outbox: Outbox, result: Result, settings: Settings) -> MessageState:
    if result.outcome in (Outcome.DELIVERED, Outcome.AMBIGUOUS):
        return M.SENT
    if result.outcome == Outcome.TRANSIENT and (
        outbox.retries_until_sent or attempts < settings.max_attempts
    ):
        return M.PENDING
    return M.FAILED


STUCK = (
    "the worker sending this message stopped before it recorded the outcome; it may have "
    "been sent, so it is not sent again"
)


def flag_stuck(session: Session, outbox: Outbox, settings: Settings, now: datetime) -> list[Any]:
    """Rows claimed longer ago than a task may run: their worker is gone (a task is cut off
    at its time limit). They become ambiguous; the rows, for the caller to tell a person."""
    cutoff = now - timedelta(seconds=settings.task_time_limit_seconds)
    stuck = session.scalars(
        select(outbox.model).where(outbox.state == M.SENDING, outbox.claimed_at < cutoff)
    ).all()
    for row in stuck:
        setattr(row, outbox.state.key, M.AMBIGUOUS)
        setattr(row, outbox.last_error.key, STUCK)
    return list(stuck)
