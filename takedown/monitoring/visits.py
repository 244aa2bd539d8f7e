"""Visiting links now, several at once, and recording each result as it arrives: what
``takedown check`` and each nightly batch run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from takedown.catalogue.platforms import Catalogue, catalogue_for
from takedown.catalogue.removal_rules import DEFAULT_RULES, RemovalRule
from takedown.config import Settings
from takedown.monitoring.checks import Seen, check_link
from takedown.monitoring.recording import Change, record_checks
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import Case, Item
from takedown.store.states import LinkStatus


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


RECORD_GROUP = 50


RECORD_EVERY_SECONDS = 0.5


class HostBusy(Exception):
    """The host's politeness allowance stayed used up; the link waits for a later check."""


@dataclass(frozen=True)
class _Visit:
    item_id: str
    url: str
    host: str
    rules: list[RemovalRule]
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
            return check_link(visit.url, visit.rules, visit.minor, settings)
        try:
            with gate(visit.host):
                return check_link(visit.url, visit.rules, visit.minor, settings)
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
    rules = platform.removed_when if platform else list(DEFAULT_RULES)
    return _Visit(item.id, item.url, item.host, rules, item.case.minor)
