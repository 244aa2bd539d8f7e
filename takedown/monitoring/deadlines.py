"""Deadlines: sent requests past their platform's deadline become overdue, and overdue ones are
escalated.

Repeating the same notice does not help and can hurt, so escalation never resends it. It
sends one follow-up to the platform that cites the first report's ticket and deadline (step
0, when the platform takes email), then writes to the next target of the platform's
``escalation`` list (step k: its EU legal representative, its host, its regulator), one
step each time the previous one is past its own deadline. Each follow-up is a removal
request of its own, so it is claimed, retried and recorded like any other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from takedown.catalogue.escalation import next_step
from takedown.catalogue.legal import Legal
from takedown.catalogue.platforms import Catalogue
from takedown.delivery.lifecycle import move
from takedown.delivery.prepare import first_report_of
from takedown.store.models import Case, Item, RemovalRequest
from takedown.store.states import LinkStatus, RequestState


def escalate_overdue(session: Session, catalogue: Catalogue, legal: Legal) -> list[str]:
    """Queue the next follow-up for every overdue request that has a next step; the ids of
    the follow-ups. A request with no step left stays ``overdue`` for the caseworker."""
    queued = []
    overdue = session.scalars(
        select(RemovalRequest)
        .where(RemovalRequest.state == RequestState.OVERDUE)
        # A closed case is done: no follow-up goes out for it.
        .join(Item, RemovalRequest.item_id == Item.id)
        .join(Case, Item.case_id == Case.id)
        .where(Case.closed_at.is_(None))
    ).all()
    for request in overdue:
        platform = catalogue.platforms.get(request.platform_id)
        first = first_report_of(request)
        step = next_step(platform, request.escalation_step, first, legal) if platform else None
        if platform is None or step is None:
            continue
        follow_up = RemovalRequest(
            item=request.item,
            platform_id=platform.id,
            channel_index=0,
            # By email, or a package for a coordinator that takes complaints on a form.
            channel=step.channel.type,
            state=RequestState.PENDING,
            escalates=request,
            escalation_step=step.number,
        )
        session.add(follow_up)
        session.flush()
        move(session, follow_up, RequestState.QUEUED, f"follow-up to {step.target}")
        move(session, request, RequestState.ESCALATED, f"followed up with {step.target}")
        queued.append(follow_up.id)
    return queued


def mark_overdue(session: Session, now: datetime) -> list[str]:
    """Sent requests past their platform's deadline, for links not confirmed removed."""
    query = (
        select(RemovalRequest)
        .where(RemovalRequest.state == RequestState.SENT, RemovalRequest.deadline_at < now)
        .join(Item)
        .where(Item.status != LinkStatus.REMOVED)
        # A closed case is done: no follow-up goes out for it.
        .join(Case, Item.case_id == Case.id)
        .where(Case.closed_at.is_(None))
    )
    overdue = []
    for request in session.scalars(query):
        make_overdue(session, request)
        overdue.append(request.id)
    return overdue


def make_overdue(session: Session, request: RemovalRequest) -> None:
    move(
        session,
        request,
        RequestState.OVERDUE,
        f"no removal by the deadline {request.deadline_at:%Y-%m-%d %H:%M} UTC",
    )
