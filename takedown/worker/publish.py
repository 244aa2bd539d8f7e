"""Publishing request ids to the broker. The rows are committed first, so a message lost on the
way only delays a request until the next sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy import update

from takedown.config import get_settings
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import RemovalRequest
from takedown.store.states import RequestState
from takedown.worker.celery_app import DELIVER, app_for

log = logging.getLogger(__name__)


def publish(request_ids: Iterable[str]) -> None:
    """Put a delivery message on the broker for each id. The rows are already committed, so a
    message lost on the way only delays a request until the next sweep."""
    app = app_for(get_settings())
    for request_id in request_ids:
        app.send_task(DELIVER, args=[request_id])


def publish_now(request_ids: list[str]) -> bool:
    """Publish requests just queued, and stamp them as enqueued, so that the sweeper does
    not publish them a second time. False when the broker cannot be reached; the requests
    stay queued and the sweeper publishes them later."""
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
