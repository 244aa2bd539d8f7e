"""Closing and erasing cases: the victim's identity and links removed for good.

An erased case keeps its row, its reference and anonymous counts (how many links, how many
removed, requests per state and per platform), so that the organisation can still report
what it did, and the audit log still says who did what. Everything else about it is deleted:
identity, notes, links, requests with their notices and platform replies, checks,
notifications and alerts.

Closed cases are erased by the nightly job once ``TAKEDOWN_RETENTION_DAYS`` have passed.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from takedown.config import Settings
from takedown.errors import Conflict
from takedown.store.audit import SERVICE_ACTOR, record
from takedown.store.models import (
    Alert,
    Attempt,
    Case,
    Check,
    Item,
    Notification,
    RemovalRequest,
    Transition,
)
from takedown.store.states import CLAIMABLE, NOT_DELIVERED, LinkStatus, RequestState

# Requests a caseworker must withdraw or settle before the case can be closed: closing
# must never silently drop a notice that still has to go out.
_IN_PLAY = NOT_DELIVERED | {RequestState.SENDING}


def close_case(session: Session, case: Case, now: datetime, *, actor: str) -> bool:
    """No more work on the case: its links are no longer checked, and the retention period
    after which it is erased starts. False, with nothing changed or audited, when it was
    closed already (its retention period keeps the date it started)."""
    if case.erased_at is not None:
        raise Conflict(f"case {case.reference} is already erased")
    in_play = session.scalars(
        select(RemovalRequest.id)
        .join(Item, RemovalRequest.item_id == Item.id)
        .where(Item.case_id == case.id, RemovalRequest.state.in_(_IN_PLAY))
    ).all()
    if in_play:
        raise Conflict(
            f"case {case.reference} still has {len(in_play)} request(s) not sent "
            f"(first: {in_play[0]}); send, mark sent or withdraw them before closing"
        )
    if case.closed_at is not None:
        return False
    case.closed_at = now
    record(session, actor=actor, action="case closed", case_id=case.id)
    return True


def erase_case(session: Session, case: Case, now: datetime, *, actor: str) -> dict[str, object]:
    """Delete everything that identifies the victim or the material; return what is kept."""
    if case.erased_at is not None:
        raise Conflict(f"case {case.reference} is already erased")
    # Columns only: loading the rows would decrypt every link just to delete it.
    items = session.execute(select(Item.id, Item.status).where(Item.case_id == case.id)).all()
    item_ids = [item.id for item in items]
    requests = session.execute(
        select(RemovalRequest.id, RemovalRequest.state, RemovalRequest.platform_id).where(
            RemovalRequest.item_id.in_(item_ids)
        )
    ).all()
    request_ids = [request.id for request in requests]
    # What is kept: the case as it stood, before anything is withdrawn below.
    summary = {
        "links": len(items),
        "removed": sum(1 for item in items if item.status == LinkStatus.REMOVED),
        "requests_by_state": dict(Counter(r.state for r in requests)),
        "requests_by_platform": dict(Counter(r.platform_id for r in requests)),
        "minor": case.minor,
        "language": case.language,
    }
    # Withdraw what a worker could still claim, by the same kind of conditional update as
    # the claim: a worker that claimed first is found below as sending (and the erasure is
    # refused, undoing this); one that comes later finds nothing left to claim.
    session.execute(
        update(RemovalRequest)
        .where(RemovalRequest.id.in_(request_ids), RemovalRequest.state.in_(CLAIMABLE))
        .values(state=RequestState.WITHDRAWN, version=RemovalRequest.version + 1)
        .execution_options(synchronize_session=False)
    )
    sending = session.scalar(
        select(RemovalRequest.id).where(
            RemovalRequest.id.in_(request_ids), RemovalRequest.state == RequestState.SENDING
        )
    )
    if sending is not None:
        raise Conflict(
            f"request {sending} of case {case.reference} is being sent right now; erase the "
            "case once it has finished (in a minute or two)"
        )
    session.execute(delete(Attempt).where(Attempt.request_id.in_(request_ids)))
    session.execute(delete(Transition).where(Transition.request_id.in_(request_ids)))
    session.execute(delete(Alert).where(Alert.case_id == case.id))
    # Follow-ups point at the requests they escalate: unlink them before deleting.
    session.execute(
        update(RemovalRequest)
        .where(RemovalRequest.id.in_(request_ids))
        .values(escalates_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(RemovalRequest).where(RemovalRequest.id.in_(request_ids)))
    session.execute(delete(Check).where(Check.item_id.in_(item_ids)))
    session.execute(delete(Item).where(Item.id.in_(item_ids)))
    session.execute(delete(Notification).where(Notification.case_id == case.id))
    session.expire(case, ["items"])
    case.victim_name = None
    case.victim_email = None
    case.victim_phone = None
    case.notes = None
    case.notify = False
    case.closed_at = case.closed_at or now
    case.erased_at = now
    case.erased_summary = json.dumps(summary, sort_keys=True)
    record(session, actor=actor, action="case erased", case_id=case.id)
    return summary


def erase_expired(session: Session, settings: Settings, now: datetime) -> list[str]:
    """Erase the cases closed longer ago than the retention period; their references."""
    cutoff = now - timedelta(days=settings.retention_days)
    due = session.scalars(
        select(Case).where(
            Case.closed_at.is_not(None), Case.closed_at < cutoff, Case.erased_at.is_(None)
        )
    ).all()
    erased = []
    for case in due:
        try:
            # A savepoint: a refused erasure undoes its own withdrawals, and only its own.
            with session.begin_nested():
                erase_case(session, case, now, actor=SERVICE_ACTOR)
        except Conflict:
            continue  # a request still sending: the next night erases it
        erased.append(case.reference)
    return erased
