"""Thin Celery tasks: each takes an id, calls a plain function, and enqueues what follows."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import shared_task
from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy import update

from takedown import alerts, delivery, erasure, monitoring, notify, sweeper
from takedown import nightly as nightly_run
from takedown.celery_app import app_for
from takedown.config import get_settings
from takedown.db import session_scope
from takedown.models import RemovalRequest, utcnow
from takedown.states import RequestState

log = logging.getLogger(__name__)


DELIVER = "takedown.tasks.deliver_request"


@shared_task(name=DELIVER)  # type: ignore[untyped-decorator]
def deliver_request(request_id: str) -> None:
    if delivery.deliver(request_id):
        publish([request_id])


@shared_task(name="takedown.tasks.sweep")  # type: ignore[untyped-decorator]
def sweep() -> None:
    with session_scope() as session:
        result = sweeper.sweep(session, get_settings())
    if result.stuck:
        log.warning("sweep: %d request(s) stuck in sending are now ambiguous", len(result.stuck))
    publish(result.due)
    app_for(get_settings()).send_task(SEND_NOTIFICATIONS)


SEND_NOTIFICATIONS = "takedown.tasks.send_notifications"


@shared_task(name=SEND_NOTIFICATIONS)  # type: ignore[untyped-decorator]
def send_notifications() -> None:
    """Victims' progress emails, and the caseworkers' alert email."""
    settings = get_settings()
    sent = notify.send_due(settings)
    if sent:
        log.info("notifications: %d message(s) sent to victims", sent)
    told = alerts.email_due(settings)
    if told:
        log.info("alerts: %d alert(s) emailed to the caseworkers", told)


@shared_task(name="takedown.tasks.nightly")  # type: ignore[untyped-decorator]
def nightly() -> None:
    settings = get_settings()
    with session_scope() as session:
        batches = nightly_run.start_run(session, settings, utcnow())
    if batches is None:
        log.info("nightly: tonight's run has already started; nothing to do")
        return
    app = app_for(settings)
    for batch in batches:
        app.send_task(CHECK_BATCH, args=[batch])
    log.info("nightly: %d batch(es) of links queued for checking", len(batches))
    with session_scope() as session:
        erased = erasure.erase_expired(session, settings, utcnow())
        erasure.forget_old_lookups(session, settings, utcnow())
    if erased:
        log.info("nightly: %d closed case(s) past the retention period erased", len(erased))


CHECK_BATCH = "takedown.tasks.check_batch"


@shared_task(name=CHECK_BATCH)  # type: ignore[untyped-decorator]
def check_batch(item_ids: list[str]) -> None:
    settings = get_settings()
    changes = monitoring.check_now(
        item_ids,
        settings,
        parallel=settings.check_parallel,
        gate=nightly_run.politeness_gate(settings),
    )
    for change in changes:
        if change.new_request_id:
            log.warning(
                "alert: content back online (link %s); request %s queued",
                change.item_id,
                change.new_request_id,
            )
    publish([c.new_request_id for c in changes if c.new_request_id])


def publish(request_ids: Iterable[str]) -> None:
    """Put a delivery message on the broker for each id. The rows are already committed, so a
    message lost on the way only delays a request until the next sweep."""
    app = app_for(get_settings())
    for request_id in request_ids:
        app.send_task(DELIVER, args=[request_id])


def publish_now(request_ids: list[str]) -> bool:
    """Publish from outside a worker (the CLI). False when the broker cannot be reached;
    the requests stay queued and the sweeper publishes them later."""
    if not request_ids:
        return True
    try:
        publish(request_ids)
    except BrokerUnavailable:
        log.warning(
            "the broker is unreachable; %d request(s) wait for the sweeper", len(request_ids)
        )
        return False
    with session_scope() as session:
        session.execute(
            update(RemovalRequest)
            .where(
                RemovalRequest.id.in_(request_ids),
                # A request a worker already moved on must stay visible to the sweeper.
                RemovalRequest.state == RequestState.QUEUED,
                RemovalRequest.enqueued_at.is_(None),
            )
            .values(enqueued_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return True
