"""Following links after their requests went out: confirm removal, watch for reappearance,
and notice deadlines that passed.

A link seen gone is not yet "removed": it is checked again after
``TAKEDOWN_REMOVAL_CONFIRM_SECONDS`` and only then do its requests become ``removed``. A
removed link keeps being visited for ``TAKEDOWN_REAPPEARANCE_WATCH_DAYS``; back online, the
link is reopened and a new request queued.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from takedown.cases import new_request
from takedown.checks import LinkStatus, Seen, check_link
from takedown.config import Settings
from takedown.db import session_scope
from takedown.lifecycle import move
from takedown.models import Alert, Check, Item, RemovalRequest, utcnow
from takedown.notify import record_event, record_removal
from takedown.platforms import Catalogue, RemovedRule, catalogue_for
from takedown.states import DELIVERED, NOT_DELIVERED, RequestState


@dataclass(frozen=True)
class Change:
    """Something a caseworker should hear about, in words."""

    item_id: str
    url: str
    what: str
    new_request_id: str | None = None


def items_to_check(
    session: Session, settings: Settings, now: datetime, case_id: str | None = None
) -> list[str]:
    """Links still online or unknown, and removed links still being watched; the ones
    checked longest ago first."""
    watched_since = now - timedelta(days=settings.reappearance_watch_days)
    query = select(Item.id).where(
        or_(Item.status != LinkStatus.REMOVED, Item.removed_at >= watched_since)
    )
    if case_id is not None:
        query = query.where(Item.case_id == case_id)
    query = query.order_by(Item.last_checked_at.is_not(None), Item.last_checked_at)
    return list(session.scalars(query))


def record_check(
    session: Session,
    item: Item,
    seen: Seen,
    settings: Settings,
    catalogue: Catalogue,
    now: datetime,
) -> Change | None:
    """Store the visit and act on it; what changed, if anything, for the caseworker."""
    session.add(
        Check(
            item_id=item.id,
            checked_at=now,
            outcome=seen.status,
            http_status=seen.http_status,
            reason=seen.reason,
            duration_ms=seen.duration_ms,
        )
    )
    item.last_checked_at = now
    match seen.status:
        case LinkStatus.REMOVED:
            change = _seen_removed(session, item, settings, now)
        case LinkStatus.ONLINE:
            change = _seen_online(session, item, catalogue, now)
        case LinkStatus.UNKNOWN:
            # Proves nothing either way: a pending confirmation simply waits for a real answer.
            if item.status not in (LinkStatus.REMOVED, "reappeared", LinkStatus.ONLINE):
                item.status = LinkStatus.UNKNOWN
            change = None
    mark_overdue(session, now, item)
    return change


def _seen_removed(session: Session, item: Item, settings: Settings, now: datetime) -> Change | None:
    if item.status == LinkStatus.REMOVED:
        return None
    if item.removal_seen_at is None:
        item.removal_seen_at = now
        if settings.removal_confirm_seconds > 0:
            return Change(item.id, item.url, "seen gone; to be confirmed by a later check")
    if now - item.removal_seen_at < timedelta(seconds=settings.removal_confirm_seconds):
        return None
    item.status = LinkStatus.REMOVED
    item.removed_at = now
    for request in item.requests:
        if request.state in DELIVERED:
            move(session, request, RequestState.REMOVED, "content confirmed removed")
        elif request.state in NOT_DELIVERED:  # the content outran the request
            move(session, request, RequestState.WITHDRAWN, "content removed before it was sent")
    record_removal(session, item.case)
    return Change(item.id, item.url, "removal confirmed")


def _seen_online(
    session: Session, item: Item, catalogue: Catalogue, now: datetime
) -> Change | None:
    if item.status == LinkStatus.REMOVED:
        item.status = "reappeared"
        item.removal_seen_at = None
        session.add(
            Alert(case_id=item.case_id, item_id=item.id, what="content back online after removal")
        )
        platform = catalogue.platforms.get(item.platform_id or "")
        if platform is None:
            record_event(session, item.case_id, "content_reappeared")
            return Change(item.id, item.url, "back online; no platform file to send a request")
        request = new_request(session, item, platform, "the content reappeared")
        record_event(session, item.case_id, "content_reappeared")
        return Change(item.id, item.url, "back online; a new request is queued", request.id)
    if item.removal_seen_at is not None:
        item.removal_seen_at = None
        item.status = LinkStatus.ONLINE
        return Change(item.id, item.url, "back online before its removal was confirmed")
    if item.status != "reappeared":
        item.status = LinkStatus.ONLINE
    return None


def mark_overdue(session: Session, now: datetime, item: Item | None = None) -> list[str]:
    """Sent requests past their platform's deadline, for links not confirmed removed."""
    query = select(RemovalRequest).where(
        RemovalRequest.state == RequestState.SENT, RemovalRequest.deadline_at < now
    )
    if item is not None:
        query = query.where(RemovalRequest.item_id == item.id)
    overdue = []
    for request in session.scalars(query.join(Item).where(Item.status != LinkStatus.REMOVED)):
        move(
            session,
            request,
            RequestState.OVERDUE,
            f"no removal by the deadline {request.deadline_at:%Y-%m-%d %H:%M} UTC",
        )
        overdue.append(request.id)
    return overdue


class HostBusy(Exception):
    """The host's politeness allowance stayed used up; the link waits for a later check."""


@dataclass(frozen=True)
class _Visit:
    item_id: str
    url: str
    host: str
    rule: RemovedRule
    minor: bool


def check_now(
    item_ids: list[str],
    settings: Settings,
    on_done: Callable[[], None] = lambda: None,
    parallel: int = 8,
    gate: Callable[[str], AbstractContextManager[object]] | None = None,
) -> list[Change]:
    """Visit these links now (several at once) and record each result as it arrives.
    With a ``gate``, each visit first waits for its host's politeness slot."""
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        visits = [_visit(session.get_one(Item, item_id), catalogue) for item_id in item_ids]

    def visit_link(visit: _Visit) -> Seen | None:
        if gate is None:
            return check_link(visit.url, visit.rule, visit.minor, settings)
        try:
            with gate(visit.host):
                return check_link(visit.url, visit.rule, visit.minor, settings)
        except HostBusy:
            return None

    changes = []
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {pool.submit(visit_link, visit): visit for visit in visits}
        for future in as_completed(futures):
            seen = future.result()
            if seen is not None:
                with session_scope() as session:
                    item = session.get_one(Item, futures[future].item_id)
                    change = record_check(session, item, seen, settings, catalogue, utcnow())
                if change is not None:
                    changes.append(change)
            on_done()
    return changes


def _visit(item: Item, catalogue: Catalogue) -> _Visit:
    platform = catalogue.platforms.get(item.platform_id or "")
    rule = platform.removed_when if platform else RemovedRule()
    return _Visit(item.id, item.url, item.host, rule, item.case.minor)
