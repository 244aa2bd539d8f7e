"""Escalating a request whose deadline passed without removal.

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

from takedown.lifecycle import move
from takedown.models import Case, Item, RemovalRequest
from takedown.platforms import Catalogue, EmailChannel, Platform
from takedown.states import RequestState


def target_for(platform: Platform, step: int) -> tuple[str, EmailChannel] | None:
    """Who a follow-up at this step is addressed to, and how it reaches them."""
    if step == 0:
        own = [c for c in platform.channels if isinstance(c, EmailChannel)]
        return (f"the {platform.name} trust and safety team", own[0]) if own else None
    if step <= len(platform.escalation):
        target = platform.escalation[step - 1]
        return target.name, EmailChannel(type="email", to=target.to)
    return None


def next_step(platform: Platform, current: int | None) -> int | None:
    after = -1 if current is None else current
    for step in range(after + 1, len(platform.escalation) + 1):
        if target_for(platform, step) is not None:
            return step
    return None


def escalate_overdue(session: Session, catalogue: Catalogue, now: datetime) -> list[str]:
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
        step = next_step(platform, request.escalation_step) if platform else None
        if platform is None or step is None:
            continue
        target = target_for(platform, step)
        assert target is not None
        follow_up = RemovalRequest(
            item=request.item,
            platform_id=platform.id,
            channel_index=0,
            channel="email",
            state=RequestState.PENDING,
            escalates=request,
            escalation_step=step,
        )
        session.add(follow_up)
        session.flush()
        move(session, follow_up, RequestState.QUEUED, f"follow-up to {target[0]}")
        move(session, request, RequestState.ESCALATED, f"followed up with {target[0]}")
        queued.append(follow_up.id)
    return queued


def first_report(request: RemovalRequest) -> RemovalRequest:
    while request.escalates is not None:
        request = request.escalates
    return request
