"""Victim notifications: calm progress emails in the victim's language.

Events (requests sent, content removed, everything removed, content reappeared, "your
caseworker needs you") are recorded as rows as they happen. At most one message per case
goes out every ``TAKEDOWN_NOTIFY_MIN_INTERVAL_SECONDS``, combining what happened since the
last one, except "everything removed", which goes at once. A message never contains a link
to the content or the content's location: the templates hold counts only, and a last check
refuses any message that mentions a link, a host or a web address.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from takedown.channels.base import Outcome, Result
from takedown.channels.email import EmailSender, email_message
from takedown.config import Settings
from takedown.errors import RenderError
from takedown.safety.sandbox import Rendered, render_template
from takedown.store.db import session_scope
from takedown.store.models import Case, Item, Notification, utcnow

log = logging.getLogger(__name__)

EVENTS = (
    "requests_sent",
    "content_removed",
    "all_removed",
    "content_reappeared",
    "caseworker_needs_you",
)
URGENT = "all_removed"


def record_event(session: Session, case_id: str, event: str) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    session.add(Notification(case_id=case_id, event=event, state="pending"))


def record_removals(session: Session, case_ids: list[str]) -> None:
    """Links' removals were confirmed, one case id per link: "everything removed" for the
    last one of a case, "content removed" for the others. One query for all of them."""
    if not case_ids:
        return
    session.flush()
    rows = session.execute(
        select(Item.case_id, func.count())
        .where(Item.case_id.in_(set(case_ids)), Item.status != "removed")
        .group_by(Item.case_id)
    )
    remaining: dict[str, int] = dict(rows.all())
    told = Counter(case_ids)
    for case_id, removals in told.items():
        everything = remaining.get(case_id, 0) == 0
        for _ in range(removals - 1 if everything else removals):
            record_event(session, case_id, "content_removed")
        if everything:
            record_event(session, case_id, "all_removed")


@dataclass(frozen=True)
class Pending:
    case_id: str
    notification_ids: list[int]
    events: list[str]


def due_cases(session: Session, settings: Settings, now: datetime) -> list[Pending]:
    """Cases with events to tell now: the interval since the last message has passed, or
    everything has been removed."""
    rows = session.execute(
        select(Notification.case_id, Notification.id, Notification.event)
        .where(
            Notification.state == "pending",
            (Notification.next_attempt_at.is_(None)) | (Notification.next_attempt_at <= now),
        )
        .order_by(Notification.case_id, Notification.created_at, Notification.id)
    ).all()
    by_case: dict[str, Pending] = {}
    for case_id, notification_id, event in rows:
        pending = by_case.setdefault(case_id, Pending(case_id, [], []))
        pending.notification_ids.append(notification_id)
        pending.events.append(event)
    quiet_since = now - timedelta(seconds=settings.notify_min_interval_seconds)
    due = []
    for pending in by_case.values():
        last_sent = session.scalar(
            select(func.max(Notification.sent_at)).where(
                Notification.case_id == pending.case_id, Notification.state == "sent"
            )
        )
        if URGENT in pending.events or last_sent is None or last_sent <= quiet_since:
            due.append(pending)
    return due


def compose(case: Case, events: list[str], settings: Settings) -> Rendered:
    total = len(case.items)
    removed = sum(item.status == "removed" for item in case.items)
    context = {
        "case": {"reference": case.reference},
        "organisation": {"name": settings.notifier_name, "email": settings.notifier_email},
        "counts": {"total": total, "removed": removed, "in_progress": total - removed},
        "events": events,
    }
    kinds = set(events)
    name = kinds.pop() if len(kinds) == 1 else "digest"
    notice = render_template(
        settings.templates_dir, f"notifications/{name}/{case.language}.j2", case.language, context
    )
    text = (notice.subject + "\n" + notice.body).casefold()
    leaks = ["http", "www."] + [item.url.casefold() for item in case.items]
    leaks += [item.host.casefold() for item in case.items]
    for leak in leaks:
        if leak in text:
            # A template edit must never be able to show the victim where the content is.
            raise RenderError(
                f"the notification notifications/{name}/{case.language}.j2 mentions a link "
                "or a web address; it was not sent"
            )
    return notice


def message_to_victim(case: Case, notice: Rendered, settings: Settings) -> EmailMessage:
    if case.victim_email is None:
        raise ValueError(f"case {case.reference} was erased; it has no address to write to")
    return email_message(
        settings,
        sender_name=settings.notifier_name,
        to=case.victim_email,
        subject=notice.subject,
        body=notice.body,
        language=case.language,
    )


def send_due(settings: Settings, now: datetime | None = None) -> int:
    """Send every message that is due; the number of messages sent."""
    now = now or utcnow()
    with session_scope() as session:
        due = due_cases(session, settings, now)
    return sum(_send_case(pending, settings, now) for pending in due)


def _claim(session: Session, pending: Pending) -> bool:
    claimed = session.execute(
        update(Notification)
        .where(Notification.id.in_(pending.notification_ids), Notification.state == "pending")
        .values(state="sending")
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != len(pending.notification_ids):  # type: ignore[attr-defined]
        session.rollback()  # another worker is telling these
        return False
    session.commit()
    return True


def _send_case(pending: Pending, settings: Settings, now: datetime) -> int:
    with session_scope() as session:
        if not _claim(session, pending):
            return 0
        case = session.get_one(Case, pending.case_id)
        if not case.notify:
            _settle(session, pending, "skipped", "the victim asked not to get these emails")
            return 0
        try:
            notice = compose(case, pending.events, settings)
            message = message_to_victim(case, notice, settings)
        except (RenderError, ValueError) as error:
            log.error("case %s: notification not composed: %s", case.reference, error)
            _settle(session, pending, "failed", str(error))
            return 0
    result = EmailSender(settings).transmit(message, str(message["To"]))
    with session_scope() as session:
        return _record(session, pending, result, str(message["Message-ID"]), settings, now)


def _settle(session: Session, pending: Pending, state: str, error: str | None) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id.in_(pending.notification_ids))
        .values(state=state, last_error=error)
        .execution_options(synchronize_session=False)
    )


def _record(
    session: Session,
    pending: Pending,
    result: Result,
    message_id: str,
    settings: Settings,
    now: datetime,
) -> int:
    rows = session.scalars(
        select(Notification).where(Notification.id.in_(pending.notification_ids))
    ).all()
    # An ambiguous send may well have arrived: telling the victim twice is worse than once.
    if result.outcome in (Outcome.DELIVERED, Outcome.AMBIGUOUS):
        for row in rows:
            row.state, row.sent_at, row.message_id = "sent", now, message_id
            row.last_error = result.error
        return 1
    for row in rows:
        row.attempts += 1
        row.last_error = result.error
        if result.outcome == Outcome.TRANSIENT and row.attempts < settings.max_attempts:
            delay = settings.retry_base_seconds * 2 ** (row.attempts - 1)
            row.state = "pending"
            row.next_attempt_at = now + timedelta(seconds=min(delay, settings.retry_max_seconds))
        else:
            row.state = "failed"
    log.warning("case notification not sent: %s", result.error)
    return 0
