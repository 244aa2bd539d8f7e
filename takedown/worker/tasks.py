"""Thin Celery tasks: each takes an id, calls a plain function, and enqueues what follows."""

from __future__ import annotations

import logging

from celery import shared_task

from takedown.cases.erasure import erase_expired
from takedown.config import get_settings
from takedown.contacts.rdap import forget_old_lookups
from takedown.delivery.deliver import deliver
from takedown.messages.alerts import email_due
from takedown.messages.notifications import send_due
from takedown.monitoring.nightly import politeness_gate, start_run
from takedown.monitoring.visits import check_now
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.worker import housekeeping
from takedown.worker.broker_marker import watching_for_lost_messages
from takedown.worker.celery_app import (
    CHECK_BATCH,
    DELIVER,
    NIGHTLY,
    SEND_NOTIFICATIONS,
    SWEEP,
    app_for,
)
from takedown.worker.publish import publish, publish_now

log = logging.getLogger(__name__)


@shared_task(name=DELIVER)  # type: ignore[untyped-decorator]
def deliver_request(request_id: str) -> None:
    if deliver(request_id):  # queued again, on its next channel
        publish_now([request_id])


@shared_task(name=SWEEP)  # type: ignore[untyped-decorator]
def sweep() -> None:
    settings = get_settings()
    with watching_for_lost_messages(settings) as lost:
        with session_scope() as session:
            result = housekeeping.sweep(session, settings, messages_lost=lost)
        publish(result.due)
    if lost and result.due:
        log.warning(
            "sweep: the broker lost its messages; %d request(s) published again", len(result.due)
        )
    if result.stuck:
        log.warning("sweep: %d request(s) stuck in sending are now ambiguous", len(result.stuck))
    if result.messages_flagged:
        log.warning("sweep: %d email(s) to people may not have gone out", result.messages_flagged)
    app_for(settings).send_task(SEND_NOTIFICATIONS)


@shared_task(name=SEND_NOTIFICATIONS)  # type: ignore[untyped-decorator]
def send_notifications() -> None:
    """Victims' progress emails, and the caseworkers' alert email."""
    settings = get_settings()
    sent = send_due(settings)
    if sent:
        log.info("notifications: %d message(s) sent to victims", sent)
    told = email_due(settings)
    if told:
        log.info("alerts: %d alert(s) emailed to the caseworkers", told)


@shared_task(name=NIGHTLY)  # type: ignore[untyped-decorator]
def nightly() -> None:
    settings = get_settings()
    with session_scope() as session:
        batches = start_run(session, settings, utcnow())
    if batches is None:
        log.info("nightly: tonight's run has already started; nothing to do")
        return
    app = app_for(settings)
    for batch in batches:
        app.send_task(CHECK_BATCH, args=[batch])
    log.info("nightly: %d batch(es) of links queued for checking", len(batches))
    with session_scope() as session:
        erased = erase_expired(session, settings, utcnow())
        forget_old_lookups(session, settings, utcnow())
    if erased:
        log.info("nightly: %d closed case(s) past the retention period erased", len(erased))


@shared_task(name=CHECK_BATCH)  # type: ignore[untyped-decorator]
def check_batch(item_ids: list[str]) -> None:
    settings = get_settings()
    changes = check_now(
        item_ids,
        settings,
        parallel=settings.check_parallel,
        gate=politeness_gate(settings),
    )
    for change in changes:
        if change.new_request_id:
            log.warning(
                "alert: content back online (link %s); request %s queued",
                change.item_id,
                change.new_request_id,
            )
    publish_now([c.new_request_id for c in changes if c.new_request_id])
