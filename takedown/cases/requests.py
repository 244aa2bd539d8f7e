"""What a caseworker does to one request: find it, mark it sent, send it again, withdraw it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from takedown.delivery.lifecycle import move, record_sent
from takedown.messages import alerts
from takedown.safety.safetext import line_problem, shown
from takedown.store.db import find_by_id_prefix
from takedown.store.models import RemovalRequest
from takedown.store.states import NOT_DELIVERED, RequestState, TransitionError


class RequestNotFound(LookupError):
    pass


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


def withdraw_request(session: Session, request: RemovalRequest) -> None:
    check_caseworker_action(request, "withdraw")
    alerts.settle_for_request(session, request.id)
    move(session, request, RequestState.WITHDRAWN, "withdrawn by caseworker")
