"""The sending lease: how a worker killed in the middle of a send is noticed quickly.

A claimed request is `sending` until its worker records the outcome. If the worker dies
first (SIGKILL, the OOM killer, a lost machine), nobody records anything, and the request
may or may not have reached the platform: a person must decide. Waiting for the longest a
task may run before deciding that would leave it for many minutes; instead the worker renews
a lease on the request while it sends, every third of ``TAKEDOWN_SENDER_LEASE_SECONDS``, and
the sweeper makes a request whose lease lapsed `ambiguous` at its next run.

The renewal is a plain UPDATE of ``sender_seen_at`` on the request still in the claim this
worker made; it does not touch the row's version, so it never gets in the way of the
worker's own recording of the outcome.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import RemovalRequest
from takedown.store.states import RequestState

log = logging.getLogger(__name__)


def renew(request_id: str, claimed_at: datetime) -> bool:
    """Say this worker is still sending; False when the request has left its claim."""
    with session_scope() as session:
        renewed = session.execute(
            update(RemovalRequest)
            .where(
                RemovalRequest.id == request_id,
                RemovalRequest.state == RequestState.SENDING,
                RemovalRequest.claimed_at == claimed_at,
            )
            .values(sender_seen_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(renewed.rowcount)  # type: ignore[attr-defined]


@contextmanager
def held(request_id: str, claimed_at: datetime, lease_seconds: float) -> Iterator[None]:
    """Renew the lease in the background for as long as the block runs."""
    stop = threading.Event()

    def keep_renewing() -> None:
        while not stop.wait(lease_seconds / 3):
            try:
                if not renew(request_id, claimed_at):
                    return  # the sweeper or a caseworker moved it on; nothing left to hold
            except SQLAlchemyError as error:
                # The next renewal may get through; two may fail before the lease lapses.
                log.warning("request %s: lease not renewed (%s)", request_id, type(error).__name__)

    renewer = threading.Thread(target=keep_renewing, name=f"lease-{request_id[:8]}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
