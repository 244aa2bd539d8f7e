"""Following links after their requests went out: confirm removal, watch for reappearance,
and notice deadlines that passed.

A link seen gone is not yet "removed": it is checked again after
``TAKEDOWN_REMOVAL_CONFIRM_SECONDS`` and only then do its requests become ``removed``. A
removed link keeps being visited for ``TAKEDOWN_REAPPEARANCE_WATCH_DAYS``; back online, the
link is reopened and a new request queued.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from takedown.cases import facts_of, new_request
from takedown.checks import LinkStatus, Seen, check_link
from takedown.config import Settings
from takedown.db import session_scope
from takedown.legal import choose_basis, legal_for
from takedown.lifecycle import move
from takedown.models import Alert, Case, Check, Item, RemovalRequest, utcnow
from takedown.notify import record_event, record_removals
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
    query = (
        select(Item.id)
        .join(Case, Item.case_id == Case.id)
        # A closed case is done: its links are no longer visited.
        .where(Case.closed_at.is_(None))
        .where(or_(Item.status != LinkStatus.REMOVED, Item.removed_at >= watched_since))
    )
    if case_id is not None:
        query = query.where(Item.case_id == case_id)
    query = query.order_by(Item.last_checked_at.is_not(None), Item.last_checked_at)
    return list(session.scalars(query))


@dataclass
class _Group:
    """What record_checks writes once for a whole group of visits."""

    check_rows: list[dict[str, object]] = field(default_factory=list)
    removed_in_case: list[str] = field(default_factory=list)


def record_check(
    session: Session,
    item: Item,
    seen: Seen,
    settings: Settings,
    catalogue: Catalogue,
    now: datetime,
    group: _Group | None = None,
) -> Change | None:
    """Store the visit and act on it; what changed, if anything, for the caseworker."""
    check = {
        "item_id": item.id,
        "checked_at": now,
        "outcome": seen.status,
        "http_status": seen.http_status,
        "reason": seen.reason,
        "duration_ms": seen.duration_ms,
    }
    item.last_checked_at = now
    match seen.status:
        case LinkStatus.REMOVED:
            change = _seen_removed(session, item, settings, now)
        case LinkStatus.ONLINE:
            change = _seen_online(session, item, settings, catalogue)
        case LinkStatus.UNKNOWN:
            # Proves nothing either way: a pending confirmation simply waits for a real answer.
            if item.status not in (LinkStatus.REMOVED, "reappeared", LinkStatus.ONLINE):
                item.status = LinkStatus.UNKNOWN
            change = None
    _mark_overdue_requests_of(session, item, now)
    removed = change is not None and change.what == REMOVAL_CONFIRMED
    if group is not None:
        group.check_rows.append(check)
        if removed:
            group.removed_in_case.append(item.case_id)
    else:
        session.add(Check(**check))
        if removed:
            record_removals(session, [item.case_id])
    return change


def record_checks(
    session: Session,
    results: list[tuple[str, Seen, datetime]],
    settings: Settings,
    catalogue: Catalogue,
) -> list[Change]:
    """Record many visits in one transaction: the items and their requests are loaded with
    two queries, the check rows inserted with one statement, and all of it committed once,
    instead of a round of each per link."""
    items = {
        item.id: item
        for item in session.scalars(
            select(Item)
            .where(Item.id.in_({item_id for item_id, _, _ in results}))
            .options(selectinload(Item.requests), joinedload(Item.case))
        )
    }
    changes = []
    group = _Group()
    for item_id, seen, when in results:
        item = items.get(item_id)
        if item is None:  # erased while it was being visited
            continue
        change = record_check(session, item, seen, settings, catalogue, when, group)
        if change is not None:
            changes.append(change)
    if group.check_rows:
        session.execute(insert(Check), group.check_rows)
    # After the loop: counting what remains of a case mid-group would flush every time.
    record_removals(session, group.removed_in_case)
    return changes


REMOVAL_CONFIRMED = "removal confirmed"


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
    return Change(item.id, item.url, REMOVAL_CONFIRMED)


def _seen_online(
    session: Session, item: Item, settings: Settings, catalogue: Catalogue
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
        legal = legal_for(settings.legal_dir)
        basis = choose_basis(facts_of(item.case), platform, legal).basis
        request = new_request(session, item, platform, "the content reappeared", basis)
        record_event(session, item.case_id, "content_reappeared")
        return Change(item.id, item.url, "back online; a new request is queued", request.id)
    if item.removal_seen_at is not None:
        item.removal_seen_at = None
        item.status = LinkStatus.ONLINE
        return Change(item.id, item.url, "back online before its removal was confirmed")
    if item.status != "reappeared":
        item.status = LinkStatus.ONLINE
    return None


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
        _make_overdue(session, request)
        overdue.append(request.id)
    return overdue


def _mark_overdue_requests_of(session: Session, item: Item, now: datetime) -> None:
    """The same rule for one link just checked, on its already loaded requests."""
    if item.status == LinkStatus.REMOVED:
        return
    for request in item.requests:
        due = request.deadline_at
        if request.state == RequestState.SENT and due is not None and due < now:
            _make_overdue(session, request)


def _make_overdue(session: Session, request: RemovalRequest) -> None:
    move(
        session,
        request,
        RequestState.OVERDUE,
        f"no removal by the deadline {request.deadline_at:%Y-%m-%d %H:%M} UTC",
    )


RECORD_GROUP = 50
RECORD_EVERY_SECONDS = 0.5


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
        items = {
            item.id: item
            for item in session.scalars(
                select(Item).where(Item.id.in_(item_ids)).options(joinedload(Item.case))
            )
        }
        # In the order given: the nightly job hands over the longest unchecked first.
        visits = [_visit(items[item_id], catalogue) for item_id in item_ids if item_id in items]

    def visit_link(visit: _Visit) -> Seen | None:
        if gate is None:
            return check_link(visit.url, visit.rule, visit.minor, settings)
        try:
            with gate(visit.host):
                return check_link(visit.url, visit.rule, visit.minor, settings)
        except HostBusy:
            return None

    changes: list[Change] = []
    unrecorded: list[tuple[str, Seen, datetime]] = []
    last_recorded = time.monotonic()

    def record_unrecorded() -> None:
        with session_scope() as session:
            changes.extend(record_checks(session, unrecorded, settings, catalogue))
        unrecorded.clear()

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {pool.submit(visit_link, visit): visit for visit in visits}
        for future in as_completed(futures):
            seen = future.result()
            if seen is not None:
                unrecorded.append((futures[future].item_id, seen, utcnow()))
            # Results are written in groups (one transaction each), but never held long: a
            # worker that dies loses at most RECORD_EVERY_SECONDS of visits, which the next
            # night repeats.
            waited = time.monotonic() - last_recorded
            if len(unrecorded) >= RECORD_GROUP or (unrecorded and waited >= RECORD_EVERY_SECONDS):
                record_unrecorded()
                last_recorded = time.monotonic()
            on_done()
    if unrecorded:
        record_unrecorded()
    return changes


def _visit(item: Item, catalogue: Catalogue) -> _Visit:
    platform = catalogue.platforms.get(item.platform_id or "")
    rule = platform.removed_when if platform else RemovedRule()
    return _Visit(item.id, item.url, item.host, rule, item.case.minor)
