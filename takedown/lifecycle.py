"""State changes of removal-request rows: every change checked against ``states`` and recorded.

The claim is the one place two workers can race, so it is a conditional UPDATE: only the
worker whose update changed a row may send.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from takedown import alerts
from takedown.db import find_by_id_prefix
from takedown.models import Item, RemovalRequest, Transition, utcnow
from takedown.notify import record_event
from takedown.safetext import line_problem, shown
from takedown.states import (
    CLAIMABLE,
    NOT_DELIVERED,
    RequestState,
    TransitionError,
    check_transition,
)


class RequestNotFound(LookupError):
    pass


def move(session: Session, request: RemovalRequest, new: RequestState, reason: str) -> None:
    """Change a request's state, refusing changes the life cycle does not allow."""
    current = RequestState(request.state)
    check_transition(current, new)
    request.state = new
    session.add(Transition(request_id=request.id, from_state=current, to_state=new, reason=reason))
    alerts.raise_for_request(session, request, new)


def claim(session: Session, request_id: str, now: datetime | None = None) -> RemovalRequest | None:
    """Move a due request to ``sending`` and return it, loaded with its link and case, to the
    one caller whose conditional update won; None to everyone else."""
    now = now or utcnow()
    request = session.scalar(
        select(RemovalRequest)
        .where(RemovalRequest.id == request_id)
        .options(joinedload(RemovalRequest.item).joinedload(Item.case))
    )
    if request is None or request.state not in CLAIMABLE:
        return None
    current = request.state
    won = session.execute(
        update(RemovalRequest)
        .where(
            RemovalRequest.id == request_id,
            RemovalRequest.state == current,
            RemovalRequest.version == request.version,
            (RemovalRequest.next_attempt_at.is_(None)) | (RemovalRequest.next_attempt_at <= now),
        )
        .values(
            state=RequestState.SENDING,
            claimed_at=now,
            sender_seen_at=now,
            updated_at=now,
            version=RemovalRequest.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    # The UPDATE went around the ORM; tell the loaded object without a second SELECT.
    set_committed_value(request, "state", RequestState.SENDING)
    set_committed_value(request, "claimed_at", now)
    set_committed_value(request, "sender_seen_at", now)
    set_committed_value(request, "version", request.version + 1)
    session.add(
        Transition(
            request_id=request_id,
            from_state=current,
            to_state=RequestState.SENDING,
            at=now,
            reason="claimed by a worker",
        )
    )
    session.commit()
    return request


def find_request(session: Session, request_id: str) -> RemovalRequest:
    """A request by its id or an unambiguous prefix of it (at least 6 characters)."""
    if line_problem(request_id):  # no id has one, and PostgreSQL refuses a NUL in a query
        raise RequestNotFound(f"no removal request with the id {shown(request_id)}")
    request = session.get(RemovalRequest, request_id) or find_by_id_prefix(
        session, RemovalRequest, request_id
    )
    if request is not None:
        return request
    raise RequestNotFound(f"no removal request with the id {shown(request_id)}")


def record_sent(
    session: Session,
    request: RemovalRequest,
    ticket: str | None,
    deadline_hours: float | None,
    reason: str,
    now: datetime | None = None,
) -> None:
    """The platform has the request: its deadline starts now."""
    move(session, request, RequestState.SENT, reason)
    if request.escalates_id is None:  # a follow-up is not news for the victim
        record_event(session, request.item.case_id, "requests_sent")
    now = now or utcnow()
    request.ticket = ticket or request.ticket
    request.sent_at = now
    request.deadline_at = now + timedelta(hours=deadline_hours) if deadline_hours else None
    request.last_error = None
    request.next_attempt_at = None


# What a caseworker may do, and from which states. Never to a request a worker is sending
# right now: its outcome is about to be recorded, and acting on it could send it twice.
CASEWORKER_ACTIONS: dict[str, frozenset[RequestState]] = {
    "retry": frozenset({RequestState.FAILED, RequestState.AMBIGUOUS}),
    "mark-sent": frozenset(
        {RequestState.AWAITING_CASEWORKER, RequestState.AMBIGUOUS, RequestState.FAILED}
    ),
    "withdraw": NOT_DELIVERED,
}


def check_caseworker_action(request: RemovalRequest, action: str) -> None:
    allowed = CASEWORKER_ACTIONS[action]
    if request.state in allowed:
        return
    if request.state == RequestState.SENDING:
        raise TransitionError(
            f"request {request.id[:8]} is being sent right now; wait for the outcome "
            f"(takedown status) before you {action} it"
        )
    states = ", ".join(sorted(allowed))
    raise TransitionError(
        f"request {request.id[:8]} is {request.state}; {action} is only for requests that are "
        f"{states}"
    )


def mark_sent_by_caseworker(
    session: Session, request: RemovalRequest, ticket: str | None, deadline_hours: float | None
) -> None:
    check_caseworker_action(request, "mark-sent")
    alerts.settle_for_request(session, request.id)
    record_sent(session, request, ticket, deadline_hours, "marked sent by caseworker")


def requeue(
    session: Session, request: RemovalRequest, first_index: int, first_channel: str
) -> None:
    """Send a failed or ambiguous request again, from the platform's preferred channel."""
    check_caseworker_action(request, "retry")
    alerts.settle_for_request(session, request.id)
    move(session, request, RequestState.QUEUED, "sent again by caseworker")
    request.channel_index = first_index
    request.channel = first_channel
    request.channel_attempts = 0
    request.next_attempt_at = None
    request.enqueued_at = None


def withdraw(session: Session, request: RemovalRequest) -> None:
    check_caseworker_action(request, "withdraw")
    alerts.settle_for_request(session, request.id)
    move(session, request, RequestState.WITHDRAWN, "withdrawn by caseworker")
