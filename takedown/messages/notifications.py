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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from takedown.catalogue.legal import Programme, legal_for
from takedown.catalogue.links import site_domain
from takedown.catalogue.platforms import catalogue_for
from takedown.catalogue.programmes import programme_for
from takedown.channels.email import EmailSender, email_message
from takedown.config import Settings
from takedown.errors import DataFileError, RenderError
from takedown.messages.alerts import raise_for_case
from takedown.messages.outbox import NOTIFICATIONS, claim, due_now, record_outcome, settle
from takedown.messages.outbox import flag_stuck as outbox_flag_stuck
from takedown.safety.sandbox import Rendered, render_template
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import Case, Item, Notification
from takedown.store.states import LinkStatus, MessageState

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
    session.add(Notification(case_id=case_id, event=event, state=MessageState.PENDING))


def record_removals(session: Session, case_ids: list[str]) -> None:
    """Links' removals were confirmed, one case id per link: "everything removed" for the
    last one of a case, "content removed" for the others. One query for all of them."""
    if not case_ids:
        return
    session.flush()
    rows = session.execute(
        select(Item.case_id, func.count())
        .where(Item.case_id.in_(set(case_ids)), Item.status != LinkStatus.REMOVED)
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
    waiting = due_now(NOTIFICATIONS, now)
    rows = session.execute(
        select(Notification.case_id, Notification.id, Notification.event)
        .where(waiting)
        .order_by(Notification.case_id, Notification.created_at, Notification.id)
    ).all()
    by_case: dict[str, Pending] = {}
    for case_id, notification_id, event in rows:
        pending = by_case.setdefault(case_id, Pending(case_id, [], []))
        pending.notification_ids.append(notification_id)
        pending.events.append(event)
    last_sent: dict[str, datetime | None] = dict(
        session.execute(
            select(Notification.case_id, func.max(Notification.sent_at))
            .where(Notification.state == MessageState.SENT)
            .where(Notification.case_id.in_(select(Notification.case_id).where(waiting)))
            .group_by(Notification.case_id)
        ).all()
    )
    quiet_since = now - timedelta(seconds=settings.notify_min_interval_seconds)
    return [
        pending
        for pending in by_case.values()
        if URGENT in pending.events
        or (last := last_sent.get(pending.case_id)) is None
        or last <= quiet_since
    ]


def programme_to_tell(case: Case, events: list[str], settings: Settings) -> Programme | None:
    """The hash-matching programme the first message about sent requests tells the victim
    of (once per case), when the case's platforms take part in it."""
    if "requests_sent" not in events or case.programme_told_at is not None:
        return None
    try:
        catalogue = catalogue_for(settings.platforms_dir)
        suggestion = programme_for(case, catalogue, legal_for(settings.legal_dir))
    except DataFileError as error:
        # A broken data file must not hold back the news that requests went out.
        log.error("case %s: no hash-matching programme told: %s", case.reference, error)
        return None
    return suggestion.programme if suggestion else None


def compose(
    case: Case, events: list[str], settings: Settings, programme: Programme | None = None
) -> Rendered:
    total = len(case.items)
    removed = sum(item.status == LinkStatus.REMOVED for item in case.items)
    context = {
        "case": {"reference": case.reference},
        "organisation": {"name": settings.notifier_name, "email": settings.notifier_email},
        "counts": {"total": total, "removed": removed, "in_progress": total - removed},
        "events": events,
        # Its name only: which platforms take part would tell the victim where to look.
        "programme": {"name": programme.name, "for_minors": programme.for_minors}
        if programme
        else None,
    }
    kinds = set(events)
    name = kinds.pop() if len(kinds) == 1 else "digest"
    message = render_template(
        settings.templates_dir, f"notifications/{name}/{case.language}.j2", case.language, context
    )
    text = (message.subject + "\n" + message.body).casefold()
    leaks = ["http", "www."] + [item.url.casefold() for item in case.items]
    # The host, and the site it belongs to: "fotogram.example" names m.fotogram.example.
    leaks += [item.host.casefold() for item in case.items]
    leaks += [domain for item in case.items if (domain := site_domain(item.host))]
    for leak in leaks:
        if leak in text:
            # A template edit must never be able to show the victim where the content is.
            raise RenderError(
                f"the notification notifications/{name}/{case.language}.j2 mentions a link "
                "or a web address; it was not sent"
            )
    return message


def message_to_victim(case: Case, message: Rendered, settings: Settings) -> EmailMessage:
    if case.victim_email is None:
        raise ValueError(f"case {case.reference} was erased; it has no address to write to")
    return email_message(
        settings,
        sender_name=settings.notifier_name,
        to=case.victim_email,
        subject=message.subject,
        body=message.body,
        language=case.language,
    )


def send_due(settings: Settings, now: datetime | None = None) -> int:
    """Send every message that is due; the number of messages sent."""
    with session_scope() as session:
        due = due_cases(session, settings, now or utcnow())
    # Each claim stamped when it is made: a long run must not make its last sends look
    # stuck to the sweep.
    return sum(_send_case(pending, settings, now or utcnow()) for pending in due)


def _send_case(pending: Pending, settings: Settings, now: datetime) -> int:
    ids = pending.notification_ids
    with session_scope() as session:
        if not claim(session, NOTIFICATIONS, ids, now):
            return 0  # another worker is telling these
        case = session.get_one(Case, pending.case_id)
        if not case.notify:
            why = "the victim asked not to get these emails"
            settle(session, NOTIFICATIONS, ids, MessageState.SKIPPED, why)
            return 0
        try:
            programme = programme_to_tell(case, pending.events, settings)
            composed = compose(case, pending.events, settings, programme)
            message = message_to_victim(case, composed, settings)
        except (RenderError, ValueError) as error:
            log.error("case %s: notification not composed: %s", case.reference, error)
            settle(session, NOTIFICATIONS, ids, MessageState.FAILED, str(error))
            tell_caseworker(session, pending.case_id, f"could not be written: {error}")
            return 0
    result = EmailSender(settings).transmit(message, str(message["To"]))
    with session_scope() as session:
        sent = {Notification.message_id: str(message["Message-ID"])}
        state = record_outcome(session, NOTIFICATIONS, ids, result, settings, now, sent)
        if state == MessageState.SENT:
            if programme is not None:
                session.get_one(Case, pending.case_id).programme_told_at = now
            return 1
        if state is None:  # the sweep flagged it meanwhile, and told the caseworker
            return 0
        if state == MessageState.FAILED:
            tell_caseworker(session, pending.case_id, f"could not be sent: {result.error}")
    log.warning("case notification not sent: %s", result.error)
    return 0


def tell_caseworker(session: Session, case_id: str, why: str) -> None:
    """A progress email to the victim that will not go out, or may not have: a caseworker
    may want to tell the victim another way."""
    raise_for_case(session, case_id, f"a progress email to the victim {why}")


def flag_stuck(session: Session, settings: Settings, now: datetime) -> int:
    """Progress emails whose worker stopped while sending them: ambiguous, never sent again,
    and the caseworker told, once per case. The number of cases."""
    stuck = outbox_flag_stuck(session, NOTIFICATIONS, settings, now)
    cases = sorted({row.case_id for row in stuck})
    for case_id in cases:
        tell_caseworker(session, case_id, "may not have been sent (its worker stopped)")
    return len(cases)
