"""Recording what a send came to: the attempt row, and the request moved on (sent, retrying
with back-off, falling back to the next channel, failed or ambiguous).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from takedown.catalogue.bases import deadline_hours
from takedown.catalogue.legal import legal_for
from takedown.catalogue.schema import Platform
from takedown.channels.backoff import retry_delay
from takedown.channels.base import Outcome, Result
from takedown.config import Settings
from takedown.delivery.lifecycle import move, record_sent, requeue
from takedown.delivery.prepare import Prepared
from takedown.messages.notifications import record_event
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import Attempt, RemovalRequest
from takedown.store.states import RequestState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finished:
    """One attempt as it ended: what was prepared, what the channel reported, and when."""

    prepared: Prepared
    result: Result
    started: datetime
    duration_ms: float
    claimed_at: datetime | None


def record(
    session: Session, request: RemovalRequest, finished: Finished, settings: Settings
) -> bool:
    """Store the attempt and move the request on. True when it should be sent again now."""
    prepared, result = finished.prepared, finished.result
    if request.state != RequestState.SENDING or request.claimed_at != finished.claimed_at:
        # The sweeper or a caseworker acted while we were sending; see store_outcome.
        raise StaleDataError(f"request {request.id} changed while it was being sent")
    if result.outcome != Outcome.MANUAL:
        session.add(attempt_row(request.id, request.channel, finished))
        request.attempts += 1
        request.channel_attempts += 1
    now = utcnow()
    platform = prepared.platform
    match result.outcome:
        case Outcome.DELIVERED:
            assert platform is not None
            hours = deadline_hours(request.legal_basis, platform, legal_for(settings.legal_dir))
            record_sent(session, request, result.ticket, hours, "delivered")
        case Outcome.MANUAL:
            move(session, request, RequestState.AWAITING_CASEWORKER, "package prepared")
            request.package = result.package
        case Outcome.AMBIGUOUS:
            move(session, request, RequestState.AMBIGUOUS, result.error or "")
            request.last_error = result.error
        case Outcome.TRANSIENT if request.channel_attempts < settings.max_attempts:
            delay = retry_delay(request.channel_attempts, settings, result.retry_after)
            move(session, request, RequestState.RETRYING, result.error or "")
            request.last_error = result.error
            request.next_attempt_at = now + timedelta(seconds=delay)
            request.enqueued_at = None
        case Outcome.TRANSIENT:
            error = f"gave up after {request.channel_attempts} attempts; the last: {result.error}"
            return _give_up(session, request, platform, error)
        case Outcome.PERMANENT if prepared.job is None:
            # The notice could not even be prepared: another channel would fail the same way.
            return _give_up(session, request, None, result.error or "refused")
        case Outcome.PERMANENT:
            return _give_up(session, request, platform, result.error or "refused")
    return False


def _later_channels(request: RemovalRequest, platform: Platform) -> list[int]:
    case = request.item.case
    order = platform.channel_order(
        synthetic=case.synthetic, basis=request.legal_basis, country=case.country
    )
    return [index for index in order if index > request.channel_index]


def _give_up(
    session: Session, request: RemovalRequest, platform: Platform | None, error: str
) -> bool:
    """This channel cannot deliver: fall back to the platform's next channel, or fail."""
    later = [] if platform is None else _later_channels(request, platform)
    # A follow-up has no fallback: its target is the only one at its step.
    if platform is None or request.escalation_step is not None or not later:
        move(session, request, RequestState.FAILED, error)
        request.last_error = error
        record_event(session, request.item.case_id, "caseworker_needs_you")
        return False
    reason = f"{error} (falling back to the {platform.channels[later[0]].type} channel)"
    requeue(session, request, platform, later[0], reason)
    request.last_error = reason
    return True


def attempt_row(request_id: str, channel: str, finished: Finished) -> Attempt:
    result = finished.result
    return Attempt(
        request_id=request_id,
        channel=channel,
        started_at=finished.started,
        duration_ms=finished.duration_ms,
        outcome=result.outcome,
        http_status=result.http_status,
        smtp_reply=result.smtp_reply,
        excerpt=result.excerpt,
        error=result.error,
    )


# A database hiccup while recording must not lose an outcome that already happened (a
# ticket, a "sent"): the record is tried again for a while before the task gives up.
@retry(
    retry=retry_if_exception_type(OperationalError),
    stop=stop_after_attempt(5),
    wait=wait_exponential(multiplier=0.5, max=10),
    reraise=True,
)
def store_outcome(request_id: str, finished: Finished, settings: Settings) -> bool:
    try:
        with session_scope() as session:
            request = session.get_one(RemovalRequest, request_id)
            return record(session, request, finished, settings)
    except StaleDataError:
        store_late_outcome(request_id, finished)
        return False


def store_late_outcome(request_id: str, finished: Finished) -> None:
    """The sweeper (or a person) moved the request on while this worker was still sending;
    theirs is the state that stays. What the platform answered is kept, for the caseworker."""
    result = finished.result
    log.warning(
        "request %s: a late outcome (%s) arrived after it changed", request_id, result.outcome
    )
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        session.add(attempt_row(request_id, request.channel, finished))
        late = f"a late answer arrived after this request became {request.state}: {result.outcome}"
        if result.ticket:
            late += f", ticket {result.ticket}"
        elif result.error:
            late += f", {result.error}"
        request.last_error = late
