"""Following links after their requests went out: confirm removal, watch for reappearance,
and notice deadlines that passed.

A link seen gone is not yet "removed": it is checked again after
``TAKEDOWN_REMOVAL_CONFIRM_SECONDS`` and only then do its requests become ``removed``. A
removed link keeps being visited for ``TAKEDOWN_REAPPEARANCE_WATCH_DAYS``; back online, the
link is reopened and a new request queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, joinedload, selectinload

from takedown.catalogue.bases import choose_basis, facts_of
from takedown.catalogue.legal import legal_for
from takedown.catalogue.platforms import Catalogue
from takedown.config import Settings
from takedown.delivery.lifecycle import move, new_request
from takedown.errors import TakedownError
from takedown.messages.alerts import raise_for_link
from takedown.messages.notifications import record_event, record_removals
from takedown.monitoring.checks import Seen
from takedown.monitoring.deadlines import make_overdue
from takedown.store.models import Alert, Check, Item
from takedown.store.states import (
    DELIVERED,
    NOT_DELIVERED,
    CheckOutcome,
    LinkStatus,
    RequestState,
    check_link_transition,
)


@dataclass(frozen=True)
class Change:
    """Something a caseworker should hear about, in words."""

    item_id: str
    url: str
    what: str
    new_request_id: str | None = None
    # This visit confirmed the removal: the victim hears of it once the group is recorded.
    removal_confirmed: bool = False


def record_checks(
    session: Session,
    results: list[tuple[str, Seen, datetime]],
    settings: Settings,
    catalogue: Catalogue,
) -> list[Change]:
    """Store visits and act on them; what changed, for the caseworker. The items and their
    requests are loaded with two queries, the check rows inserted with one statement, and
    all of it committed once, instead of a round of each per link."""
    items = {
        item.id: item
        for item in session.scalars(
            select(Item)
            .where(Item.id.in_({item_id for item_id, _, _ in results}))
            .options(selectinload(Item.requests), joinedload(Item.case))
        )
    }
    changes = []
    check_rows: list[dict[str, object]] = []
    for item_id, seen, when in results:
        item = items.get(item_id)
        if item is None:  # erased while it was being visited
            continue
        check_rows.append(
            {
                "item_id": item.id,
                "checked_at": when,
                "outcome": seen.outcome,
                "http_status": seen.http_status,
                "reason": seen.reason,
                "duration_ms": seen.duration_ms,
            }
        )
        change = _act_on(session, item, seen, settings, catalogue, when)
        if change is not None:
            changes.append(change)
    if check_rows:
        session.execute(insert(Check), check_rows)
    # After the loop: counting what remains of a case mid-group would flush every time.
    record_removals(session, [items[c.item_id].case_id for c in changes if c.removal_confirmed])
    return changes


def _act_on(
    session: Session,
    item: Item,
    seen: Seen,
    settings: Settings,
    catalogue: Catalogue,
    now: datetime,
) -> Change | None:
    item.last_checked_at = now
    match seen.outcome:
        case CheckOutcome.REMOVED:
            change = _seen_removed(session, item, settings, now)
        case CheckOutcome.ONLINE:
            change = _seen_online(session, item, settings, catalogue)
        case CheckOutcome.UNKNOWN:
            # Proves nothing either way: the link keeps its status, and a pending
            # confirmation waits for a real answer.
            change = None
    _mark_overdue_requests_of(session, item, now)
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
    confirm_removal(session, item, now, "content confirmed removed", by=CHECK)
    return Change(item.id, item.url, "removal confirmed", removal_confirmed=True)


# Who confirmed a removal (Item.removal_confirmed_by).
CHECK, CASEWORKER = "check", "caseworker"


def confirm_removal(session: Session, item: Item, now: datetime, reason: str, *, by: str) -> None:
    """The link's content is gone: its requests are done. Telling the victim is the
    caller's (``record_removals``), once per group."""
    set_status(item, LinkStatus.REMOVED)
    item.removed_at = now
    item.removal_confirmed_by = by
    item.removal_seen_at = item.removal_seen_at or now
    for request in item.requests:
        if request.state in DELIVERED:
            move(session, request, RequestState.REMOVED, reason)
        elif request.state in NOT_DELIVERED:  # the content outran the request
            move(session, request, RequestState.WITHDRAWN, "content removed before it was sent")


def _seen_online(
    session: Session, item: Item, settings: Settings, catalogue: Catalogue
) -> Change | None:
    if item.status == LinkStatus.REMOVED and item.removal_confirmed_by == CASEWORKER:
        return _ask_whether_back(session, item)
    if item.status == LinkStatus.REMOVED:
        return reopen(session, item, settings, catalogue)
    if item.removal_seen_at is not None:
        item.removal_seen_at = None
        # A reappeared link stays reappeared: its new request is still the one that counts.
        if item.status != LinkStatus.REAPPEARED:
            set_status(item, LinkStatus.ONLINE)
        return Change(item.id, item.url, "back online before its removal was confirmed")
    if item.status == LinkStatus.UNKNOWN:
        set_status(item, LinkStatus.ONLINE)
    return None


BACK_ONLINE_BY_HAND = (
    "a check sees this link online again after a caseworker confirmed its removal; on this "
    "platform that may be only the page's shell: look, and if it is back, "
    "takedown mark-reappeared"
)


def _ask_whether_back(session: Session, item: Item) -> Change | None:
    """A removal a caseworker confirmed, where a check could not tell: a check's "online"
    there may be a page shell, so the caseworker is asked, once, instead of the victim
    being told it came back and a notice sent again."""
    asked = session.scalar(
        select(Alert.id).where(
            Alert.item_id == item.id,
            Alert.what == BACK_ONLINE_BY_HAND,
            Alert.created_at >= (item.removed_at or item.created_at),
        )
    )
    if asked is not None:
        return None
    raise_for_link(session, item, BACK_ONLINE_BY_HAND)
    return Change(item.id, item.url, "seen online again; a caseworker is asked to look")


def reopen(
    session: Session,
    item: Item,
    settings: Settings,
    catalogue: Catalogue,
    *,
    by_caseworker: bool = False,
) -> Change:
    """Back online after its removal was confirmed: the caseworker is alerted (unless it was
    a caseworker who saw it), the victim told, and a new request queued. A problem with this
    one link's request (its platform's legal data, say) is this link's alone: it is told to
    the caseworker, and the visits recorded with it still stand."""
    set_status(item, LinkStatus.REAPPEARED)
    item.removal_seen_at = None
    record_event(session, item.case_id, "content_reappeared")
    platform = catalogue.platforms.get(item.platform_id or "")
    if platform is None:
        raise_for_link(session, item, "content back online after removal")
        return Change(item.id, item.url, "back online; no platform file to send a request")
    try:
        basis = choose_basis(facts_of(item.case), platform, legal_for(settings.legal_dir)).basis
    except TakedownError as error:
        why = f"no request could be queued: {error.words()}"
        raise_for_link(session, item, f"content back online after removal; {why}")
        return Change(item.id, item.url, f"back online; {why}")
    if not by_caseworker:
        raise_for_link(session, item, "content back online after removal")
    why = "seen again by a caseworker" if by_caseworker else "the content reappeared"
    request = new_request(session, item, platform, why, basis)
    return Change(item.id, item.url, "back online; a new request is queued", request.id)


def set_status(item: Item, status: LinkStatus) -> None:
    """Change a link's status, refusing changes its table does not allow."""
    check_link_transition(LinkStatus(item.status), status)
    item.status = status


def _mark_overdue_requests_of(session: Session, item: Item, now: datetime) -> None:
    """The same rule for one link just checked, on its already loaded requests."""
    if item.status == LinkStatus.REMOVED:
        return
    for request in item.requests:
        due = request.deadline_at
        if request.state == RequestState.SENT and due is not None and due < now:
            make_overdue(session, request)
