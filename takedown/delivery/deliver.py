"""Delivering one removal request: claim it, prepare the notice, send it, record the outcome.

The three phases use separate database sessions so that no transaction stays open while a
platform takes its time to answer.
"""

from __future__ import annotations

import logging
import traceback
from time import perf_counter

from takedown.channels.base import Job, Outcome, Result, Sender
from takedown.channels.email import EmailSender
from takedown.channels.manual import ManualSender
from takedown.channels.webform import WebformSender
from takedown.config import Settings, get_settings
from takedown.delivery import lease
from takedown.delivery.lifecycle import claim
from takedown.delivery.outcome import Finished, store_outcome
from takedown.delivery.prepare import prepare_safely
from takedown.errors import RenderError
from takedown.store.columns import utcnow
from takedown.store.db import session_scope

log = logging.getLogger(__name__)

SENDERS: dict[str, type[Sender]] = {
    sender.kind: sender for sender in (WebformSender, EmailSender, ManualSender)
}


def send(job: Job, settings: Settings) -> Result:
    sender = SENDERS[job.channel_config.type](settings)
    try:
        return sender.deliver(job)
    except RenderError as error:
        return Result(Outcome.PERMANENT, error=error.words())
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
