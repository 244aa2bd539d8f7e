"""Delivering one removal request: claim it, prepare the notice, send it, record the outcome.

The three phases use separate database sessions so that no transaction stays open while a
platform takes its time to answer.
"""

from __future__ import annotations

import logging
import random
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import perf_counter
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from takedown import lease
from takedown.channels.base import Channel, Job, Outcome, Result
from takedown.channels.email import EmailSender
from takedown.channels.manual import ManualSender
from takedown.channels.webform import WebformSender
from takedown.config import Settings, get_settings
from takedown.db import session_scope
from takedown.escalation import first_report, next_step, target_for
from takedown.fallback import ABUSE_CONTACT, contact_platform
from takedown.legal import (
    LegalError,
    compose_notice,
    deadline_hours,
    legal_context,
    legal_for,
)
from takedown.lifecycle import claim, move, record_sent
from takedown.models import Attempt, RemovalRequest, utcnow
from takedown.notices import NOTICE, compose, notice_context, sample_facts
from takedown.notify import record_event
from takedown.platforms import EmailChannel, Platform, PlatformFileError, catalogue_for
from takedown.render import RenderError, render_fields, render_notice
from takedown.safetext import shown
from takedown.states import RequestState

log = logging.getLogger(__name__)

SENDERS: dict[str, type[Channel]] = {
    sender.kind: sender for sender in (WebformSender, EmailSender, ManualSender)
}


@dataclass(frozen=True)
class Prepared:
    """What phase one hands to phase two: a job to send, or the reason there is none."""

    platform: Platform | None
    job: Job | None = None
    refusal: Result | None = None


def platform_of(request: RemovalRequest, settings: Settings) -> Platform:
    """The platform file of a request, or the stand-in of a confirmed abuse contact."""
    if request.platform_id == ABUSE_CONTACT:
        try:
            return contact_platform(request.contact_to)
        except ValidationError:
            # Stored before addresses were checked as strictly, or edited in the database.
            raise PlatformFileError(
                f"the abuse contact {shown(request.contact_to or '')} is not an email address; "
                "give one with takedown contact confirm --to"
            ) from None
    return catalogue_for(settings.platforms_dir).get(request.platform_id)


def prepare(request: RemovalRequest, settings: Settings) -> Prepared:
    problem = settings.notifier_problem()
    if problem:
        return Prepared(None, refusal=Result(Outcome.PERMANENT, error=problem))
    try:
        platform = platform_of(request, settings)
    except PlatformFileError as error:
        return Prepared(None, refusal=Result(Outcome.PERMANENT, error=str(error)))
    route = _route(request, platform)
    if isinstance(route, str):
        return Prepared(platform, refusal=Result(Outcome.PERMANENT, error=route))
    channel, template, extra = route
    item = request.item
    context = notice_context(item.case.reference, item.url, platform, settings) | extra
    try:
        notice = compose(request, platform, settings, context, template)
    except (RenderError, LegalError) as error:
        return Prepared(platform, refusal=Result(Outcome.PERMANENT, error=str(error)))
    context["notice"] = {"subject": notice.subject, "body": notice.body}
    job = Job(
        request_id=request.id,
        platform=platform,
        channel_config=channel,
        notice=notice,
        context=context,
        # A platform's reply may echo the notice: its link, and the name a DMCA notice gives.
        sensitive=(*link_variants(item.url), *filter(None, [item.case.victim_name])),
    )
    return Prepared(platform, job=job)


def _route(request: RemovalRequest, platform: Platform) -> tuple[Any, str, dict[str, Any]] | str:
    """The channel, the notice template and extra context of a request, or why there is
    none. A follow-up goes to its escalation target and cites the first report."""
    if request.escalation_step is None:
        if request.channel_index >= len(platform.channels):
            return f"{platform.id}.yaml no longer has channel {request.channel_index + 1}"
        return platform.channels[request.channel_index], NOTICE, {}
    target = target_for(platform, request.escalation_step)
    if target is None:
        return f"{platform.id}.yaml no longer has escalation step {request.escalation_step}"
    name, channel = target
    first = first_report(request)
    original = {
        "ticket": first.ticket,
        "sent_at": f"{first.sent_at:%Y-%m-%d %H:%M} UTC" if first.sent_at else "",
        "deadline_at": f"{first.deadline_at:%Y-%m-%d %H:%M} UTC" if first.deadline_at else "",
    }
    return channel, "followup", {"original": original, "target": {"name": name}}


def rehearse(platform: Platform, settings: Settings) -> None:
    """Render a platform's notice and every channel's fields for a sample link, so that a
    misspelt variable or a missing language shows up in `takedown platforms check` and at
    worker start, not at the first real send."""
    url = f"https://{platform.domains[0]}/sample"
    legal = legal_for(settings.legal_dir)
    try:
        # Every basis the platform may get a notice under, for a case it can be used for.
        for basis in platform.legal_bases:
            facts = sample_facts(basis)
            context = notice_context("TD-0000-SAMPLE", url, platform, settings)
            context |= legal_context(
                basis,
                facts,
                legal,
                signatory=settings.signatory_name or settings.notifier_name,
                trusted_flagger=settings.trusted_flagger,
                victim_name="Sample Person",
            )
            language = platform.notice_language
            notice = compose_notice(settings.templates_dir, legal, basis, language, facts, context)
        context["notice"] = {"subject": notice.subject, "body": notice.body}
        for channel in platform.channels:
            if not isinstance(channel, EmailChannel):
                render_fields(channel.fields, context, platform.id)
        if next_step(platform, None) is not None:
            sample = {
                "ticket": "T-1",
                "sent_at": "2026-01-01 00:00 UTC",
                "deadline_at": "2026-01-03",
            }
            followup = context | {"original": sample, "target": {"name": "a sample target"}}
            render_notice(settings.templates_dir, "followup", platform.notice_language, followup)
    except (RenderError, LegalError) as error:
        raise PlatformFileError(f"{settings.platforms_dir / platform.id}.yaml: {error}") from None


def link_variants(url: str) -> tuple[str, ...]:
    """The link as a platform might echo it back: as sent, percent-encoded, without scheme."""
    bare = url.split("://", 1)[-1]
    return (url, quote(url, safe=""), quote(url), bare, quote(bare, safe=""))


def send(job: Job, settings: Settings) -> Result:
    sender = SENDERS[job.channel_config.type](settings)
    try:
        return sender.deliver(job)
    except RenderError as error:
        return Result(Outcome.PERMANENT, error=str(error))
    except Exception as error:
        # A bug, not a platform's answer: we cannot know whether anything went out. The
        # traceback is logged without the exception's text, which may quote the link.
        log.error(
            "request %s: the %s channel crashed (%s)\n%s",
            job.request_id,
            sender.kind,
            type(error).__name__,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        return Result(
            Outcome.AMBIGUOUS,
            error=f"takedown's {sender.kind} channel failed unexpectedly; see the worker log",
        )


def retry_delay(attempt: int, settings: Settings, retry_after: float | None) -> float:
    """Exponential back-off with jitter, capped, and never sooner than the platform asked."""
    backoff: float = settings.retry_base_seconds * 2.0 ** (attempt - 1)
    backoff = min(settings.retry_max_seconds, backoff * random.uniform(1.0, 1.25))
    if retry_after is not None:
        backoff = max(backoff, min(retry_after, settings.retry_max_seconds))
    return backoff


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
    order = platform.channel_order(request.item.case.synthetic)
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
    next_index = later[0]
    next_kind = platform.channels[next_index].type
    reason = f"{error} (falling back to the {next_kind} channel)"
    move(session, request, RequestState.QUEUED, reason)
    request.last_error = reason
    request.channel_index = next_index
    request.channel = next_kind
    request.channel_attempts = 0
    request.next_attempt_at = None
    request.enqueued_at = None
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


def prepare_safely(request: RemovalRequest, settings: Settings) -> Prepared:
    """``prepare``, with any unexpected error turned into a definite "not sent": nothing has
    left the machine yet, so the request must not end up looking ambiguous."""
    try:
        return prepare(request, settings)
    except Exception as error:
        log.error(
            "request %s: preparing the notice failed (%s)\n%s",
            request.id,
            type(error).__name__,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        refusal = Result(
            Outcome.TRANSIENT,
            error=f"takedown could not prepare the notice ({type(error).__name__}); not sent",
        )
        return Prepared(None, refusal=refusal)


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


def deliver(request_id: str, settings: Settings | None = None) -> bool:
    """Deliver one request if this caller wins the claim. True when it must be sent again
    at once (it fell back to another channel)."""
    settings = settings or get_settings()
    with session_scope() as session:
        request = claim(session, request_id)
        if request is None:
            log.info("request %s: not claimable (already taken or not due)", request_id)
            return False
        claimed_at = request.claimed_at
        # Still in the claim's session (lazy loads work); closed before anything is sent.
        prepared = prepare_safely(request, settings)
    started = utcnow()
    clock = perf_counter()
    if prepared.job is not None:
        assert claimed_at is not None
        with lease.held(request_id, claimed_at, settings.sender_lease_seconds):
            result = send(prepared.job, settings)
    else:
        assert prepared.refusal is not None
        result = prepared.refusal
    duration_ms = (perf_counter() - clock) * 1000
    # Logged before it is stored, so a database failure cannot make it unknowable.
    log.info(
        "request %s: %s%s",
        request_id,
        result.outcome,
        f", ticket {result.ticket}" if result.ticket else "",
    )
    finished = Finished(prepared, result, started, duration_ms, claimed_at)
    return store_outcome(request_id, finished, settings)
