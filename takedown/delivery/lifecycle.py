"""State changes of removal-request rows: every change checked against ``states`` and recorded.

The claim is the one place two workers can race, so it is a conditional UPDATE: only the
worker whose update changed a row may send.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from takedown.catalogue.schema import Platform
from takedown.messages import alerts
from takedown.messages.notifications import record_event
from takedown.store.columns import utcnow
from takedown.store.models import Item, RemovalRequest, Transition
from takedown.store.states import CLAIMABLE, RequestState, check_transition


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


def requeue(
    session: Session,
    request: RemovalRequest,
    platform: Platform,
    index: int,
    reason: str,
    *,
    channel: str | None = None,
) -> None:
    """Queue the request again, on the platform's channel ``index`` (or, for a follow-up,
    the kind of channel of its target: ``channel``), with its attempts there starting from
    none, no message in flight and no package of before."""
    move(session, request, RequestState.QUEUED, reason)
    request.channel_index = index
    request.channel = channel or platform.channels[index].type
    request.package = None
    request.channel_attempts = 0
    request.next_attempt_at = None
    request.enqueued_at = None


def new_request(
    session: Session, item: Item, platform: Platform, reason: str, basis: str
) -> RemovalRequest:
    """A queued removal request for a link, starting at the platform's preferred channel."""
    case = item.case
    first = platform.channel_order(synthetic=case.synthetic, basis=basis, country=case.country)[0]
    request = RemovalRequest(
        item=item,
        platform_id=platform.id,
        channel_index=first,
        channel=platform.channels[first].type,
        state=RequestState.PENDING,
        legal_basis=basis,
    )
    session.add(request)
    session.flush()
    move(session, request, RequestState.QUEUED, reason)
    return request
