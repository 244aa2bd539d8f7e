"""Preparing one removal request: its platform, its route (a channel, or an escalation
target), and its notice, rendered and checked, as a job a channel can send.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from takedown.catalogue.escalation import FirstReport, target_for
from takedown.catalogue.legal import legal_for
from takedown.catalogue.platforms import platform_of
from takedown.catalogue.schema import EmailChannel, ManualChannel, Platform, WebformChannel
from takedown.channels.base import Job, Outcome, Result
from takedown.config import Settings
from takedown.errors import Conflict, DataFileError, RenderError
from takedown.notices.builder import NOTICE, Notifier, compose, notice_context
from takedown.safety.sandbox import Rendered
from takedown.store.models import RemovalRequest

log = logging.getLogger(__name__)


def first_report(request: RemovalRequest) -> RemovalRequest:
    while request.escalates is not None:
        request = request.escalates
    return request


def first_report_of(request: RemovalRequest) -> FirstReport:
    """What of a request's first report decides where its follow-ups go."""
    case = request.item.case
    return FirstReport(first_report(request).legal_basis, case.country, case.synthetic)


@dataclass(frozen=True)
class Prepared:
    """What phase one hands to phase two: a job to send, or the reason there is none."""

    platform: Platform | None
    job: Job | None = None
    refusal: Result | None = None


def prepare(request: RemovalRequest, settings: Settings) -> Prepared:
    problem = settings.notifier_problem()
    if problem:
        return Prepared(None, refusal=Result(Outcome.PERMANENT, error=problem))
    try:
        platform = platform_of(request, settings)
    except (DataFileError, Conflict) as error:
        return Prepared(None, refusal=Result(Outcome.PERMANENT, error=error.words()))
    try:
        composed = compose_for(request, platform, settings)
    except (Conflict, RenderError, DataFileError) as error:
        # A notice that cannot be written now will not be written by trying again.
        return Prepared(platform, refusal=Result(Outcome.PERMANENT, error=error.words()))
    item = request.item
    job = Job(
        request_id=request.id,
        platform=platform,
        channel_config=composed.channel,
        notice=composed.notice,
        context=composed.context,
        # A platform's reply may echo the notice: its link, and the name a DMCA notice gives.
        sensitive=(*link_variants(item.url), *filter(None, [item.case.victim_name])),
    )
    return Prepared(platform, job=job)


@dataclass(frozen=True)
class Composed:
    """Where a request goes and what it says there."""

    channel: WebformChannel | EmailChannel | ManualChannel
    notice: Rendered
    # What the channel's fields may use: the notice's context, and the notice itself.
    context: dict[str, Any]


def compose_for(request: RemovalRequest, platform: Platform, settings: Settings) -> Composed:
    """The request's route and its notice (or follow-up), rendered and checked: what is
    sent, and what `takedown notice preview` shows. Raises Conflict when the platform file
    no longer has the request's channel or escalation step; RenderError or DataFileError
    when the notice cannot be written."""
    route = _route(request, platform, settings)
    if isinstance(route, str):
        raise Conflict(route)
    channel, template, extra = route
    item = request.item
    notifier = Notifier.of(settings)
    context = notice_context(item.case.reference, item.url, platform, notifier) | extra
    notice = compose(request, platform, settings, context, template)
    context["notice"] = {"subject": notice.subject, "body": notice.body}
    return Composed(channel, notice, context)


def _route(
    request: RemovalRequest, platform: Platform, settings: Settings
) -> tuple[WebformChannel | EmailChannel | ManualChannel, str, dict[str, Any]] | str:
    """The channel, the notice template and extra context of a request, or why there is
    none. A follow-up goes to its escalation target and cites the first report."""
    if request.escalation_step is None:
        if request.channel_index >= len(platform.channels):
            return f"{platform.id}.yaml no longer has channel {request.channel_index + 1}"
        return platform.channels[request.channel_index], NOTICE, {}
    legal = legal_for(settings.legal_dir)
    target = target_for(platform, request.escalation_step, first_report_of(request), legal)
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


def link_variants(url: str) -> tuple[str, ...]:
    """The link as a platform might echo it back: as sent, percent-encoded, without scheme."""
    bare = url.split("://", 1)[-1]
    return (url, quote(url, safe=""), quote(url), bare, quote(bare, safe=""))


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
