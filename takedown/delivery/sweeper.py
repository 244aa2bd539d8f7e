"""Finding requests that should be moving, so that a lost broker message delays a request
but never loses it.

The sweeper runs on the beat schedule every ``TAKEDOWN_SWEEP_SECONDS``. It enqueues:

- ``queued`` requests with no message in flight (never enqueued, or enqueued long ago);
- ``retrying`` requests whose ``next_attempt_at`` has come.

A duplicate message is harmless: the claim lets exactly one worker send. A request left in
``sending`` by a worker that died is not re-sent: it may have reached the platform, so it
becomes ``ambiguous`` for a caseworker to settle.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from takedown.config import Settings
from takedown.delivery.lifecycle import move
from takedown.store.models import RemovalRequest
from takedown.store.states import RequestState

BATCH = 1000


def mark_stuck_as_ambiguous(session: Session, settings: Settings, now: datetime) -> list[str]:
    """Requests whose sending worker stopped being heard from (its lease lapsed), or that
    have been sending for longer than any send may take, become ambiguous."""
    lapsed = now - timedelta(seconds=settings.sender_lease_seconds)
    too_long = now - timedelta(seconds=settings.sending_timeout_seconds)
    heard_from = func.coalesce(RemovalRequest.sender_seen_at, RemovalRequest.claimed_at)
    stuck = session.scalars(
        select(RemovalRequest)
        .where(
            RemovalRequest.state == RequestState.SENDING,
            (heard_from < lapsed) | (RemovalRequest.claimed_at < too_long),
        )
        .limit(BATCH)
    ).all()
    for request in stuck:
        reason = (
            "the worker sending this request stopped before recording the outcome; "
            "it may have reached the platform: check before sending again"
        )
        move(session, request, RequestState.AMBIGUOUS, reason)
        request.last_error = reason
    return [request.id for request in stuck]


def claim_due(
    session: Session, settings: Settings, now: datetime, *, messages_lost: bool = False
) -> list[str]:
    """Ids of requests that should be enqueued now, stamped as enqueued.

    One statement selects and stamps: were they two, a worker could record a retry between
    them, and the stamp would hide that retry from the sweeper for the redelivery window.

    ``messages_lost``: the broker lost every message it held (its data was wiped), so every
    request due is published again now, however recently it was enqueued.
    """
    lost_before = now - timedelta(seconds=settings.redeliver_after_seconds)
    due = [
        RemovalRequest.state.in_([RequestState.QUEUED, RequestState.RETRYING]),
        or_(RemovalRequest.next_attempt_at.is_(None), RemovalRequest.next_attempt_at <= now),
    ]
    if not messages_lost:
        due.append(
            or_(
                RemovalRequest.enqueued_at.is_(None),
                # Not enqueued since its retry time came: an older stamp was for an earlier try.
                RemovalRequest.enqueued_at < RemovalRequest.next_attempt_at,
                # Enqueued, but the message seems lost.
                RemovalRequest.enqueued_at < lost_before,
            )
        )
    oldest_first = (
        select(RemovalRequest.id)
        .where(*due)
        .order_by(RemovalRequest.next_attempt_at.is_not(None), RemovalRequest.created_at)
        # Every one of them at once when the broker lost its messages: each would otherwise
        # wait for a later sweep.
        .limit(None if messages_lost else BATCH)
    )
    stamped = session.scalars(
        update(RemovalRequest)
        .where(RemovalRequest.id.in_(oldest_first.scalar_subquery()), *due)
        .values(enqueued_at=now)
        .returning(RemovalRequest.id)
        .execution_options(synchronize_session=False)
    )
    return list(stamped)
