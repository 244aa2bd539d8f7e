"""The outbox every email to a person goes through: the victims' progress emails and the
caseworkers' alert email.

A message is rows first (``pending``), written in the same transaction as what it tells of.
A worker sending it claims the rows with a conditional update (``sending``, stamped with the
time), so that two workers never both send them; records the outcome (``sent``; ``pending``
again with a back-off; ``failed`` for good); and a send whose worker died is found by the
sweep once the claim is older than ``TAKEDOWN_SENDING_TIMEOUT_SECONDS`` (the backstop requests
use too: the thread and solo pools never cut a task off), and made ``ambiguous``: it may have
gone, so it is never sent again, and a person is told. Every move is one conditional
UPDATE, so the sweep and a late outcome never overwrite each other.

The same rules hold for both kinds of message; only where their rows keep the state differs
(``Outbox``). A message that may have arrived (the connection lost during DATA) counts as
sent: telling a victim twice is worse than once, and every alert stays in ``takedown alerts``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from takedown.channels.backoff import retry_delay
from takedown.channels.base import Outcome, Result
from takedown.config import Settings
from takedown.store.models import Alert, Notification
from takedown.store.states import MessageState, check_message_transition

M = MessageState
log = logging.getLogger(__name__)


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


def due_now(outbox: Outbox, now: datetime) -> Any:
    """The condition of rows waiting to be sent now."""
    return (outbox.state == M.PENDING) & (
        outbox.next_attempt_at.is_(None) | (outbox.next_attempt_at <= now)
    )


def claim(session: Session, outbox: Outbox, ids: Sequence[int], now: datetime) -> bool:
    """Move these rows from pending to sending, all of them or none, if they are still due
    at ``now``; commit. False when another worker got there first."""
    claimed = session.execute(
        update(outbox.model)
        .where(outbox.model.id.in_(ids), due_now(outbox, now))
        .values({outbox.state: M.SENDING, outbox.claimed_at: now})
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != len(ids):  # type: ignore[attr-defined]
        session.rollback()
        return False
    session.commit()
    return True


def _still_sending(
    session: Session, outbox: Outbox, ids: Sequence[int], values: Mapping[Any, Any]
) -> int:
    """Write ``values`` on those of the rows still ``sending``; how many."""
    moved = session.execute(
        update(outbox.model)
        .where(outbox.model.id.in_(ids), outbox.state == M.SENDING)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return int(moved.rowcount)  # type: ignore[attr-defined]


def settle(
    session: Session, outbox: Outbox, ids: Sequence[int], state: MessageState, why: str | None
) -> None:
    """Claimed rows that will not be sent: failed before a byte went out, or skipped."""
    check_message_transition(M.SENDING, state)
    _still_sending(session, outbox, ids, {outbox.state: state, outbox.last_error: why})


def record_outcome(
    session: Session,
    outbox: Outbox,
    ids: Sequence[int],
    result: Result,
    settings: Settings,
    now: datetime,
    sent: Mapping[Any, Any] | None = None,
) -> MessageState | None:
    """What the send came to, on every claimed row: sent (with the ``sent`` values too);
    pending again after a back-off when the failure may pass; failed when it will not, or
    after the last attempt. None when the sweep had already made the rows ambiguous: they
    keep that, and the caseworker has been told."""
    attempts = 1 + (
        session.scalar(
            select(func.max(outbox.attempts)).where(
                outbox.model.id.in_(ids), outbox.state == M.SENDING
            )
        )
        or 0
    )
    outcome = _new_state(attempts, outbox, result, settings)
    check_message_transition(M.SENDING, outcome)
    values: dict[Any, Any] = {outbox.state: outcome, outbox.last_error: result.error}
    if outcome == M.SENT:
        values |= {outbox.sent_at: now, **(sent or {})}
    else:
        values[outbox.attempts] = attempts
    if outcome == M.PENDING:
        # One time for the whole message: its rows are tried again together, as one message.
        delay = retry_delay(attempts, settings, result.retry_after)
        values[outbox.next_attempt_at] = now + timedelta(seconds=delay)
    if not _still_sending(session, outbox, ids, values):
        log.warning("a message outlived its claim (%s); it stays ambiguous", result.outcome)
        return None
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
    """Rows claimed longer ago than any send may take: their worker is gone. They become
    ambiguous; the rows, for the caller to tell a person."""
    cutoff = now - timedelta(seconds=settings.sending_timeout_seconds)
    return list(
        session.scalars(
            update(outbox.model)
            .where(outbox.state == M.SENDING, outbox.claimed_at < cutoff)
            .values({outbox.state: M.AMBIGUOUS, outbox.last_error: STUCK})
            .returning(outbox.model)
            .execution_options(synchronize_session=False)
        )
    )
