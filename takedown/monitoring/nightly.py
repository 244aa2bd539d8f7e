"""The nightly check of every watched link.

Beat triggers it once a night at ``TAKEDOWN_NIGHTLY_AT`` in ``TAKEDOWN_TIMEZONE``. The run
is keyed by that local date (a row with the date as its key), so a second trigger the same
night, from a restarted beat or a second one, does nothing. The links are split into
batches, the longest unchecked first, and each batch is a task on the ``checks`` queue.
Every visit first takes a slot from the per-host politeness shared by all workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from takedown.config import Settings
from takedown.monitoring.politeness import HostPoliteness
from takedown.monitoring.visits import HostBusy, items_to_check
from takedown.store.broker import broker_redis
from takedown.store.models import NightlyRun

Gate = Callable[[str], AbstractContextManager[object]]


def local_date(settings: Settings, now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.timezone)).date()


def start_run(session: Session, settings: Settings, now: datetime) -> list[list[str]] | None:
    """Tonight's batches of link ids, or None when tonight's run has already started."""
    run = NightlyRun(run_date=local_date(settings, now), started_at=now)
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    item_ids = items_to_check(session, settings, now)
    run.links = len(item_ids)
    size = settings.check_batch_size
    return [item_ids[start : start + size] for start in range(0, len(item_ids), size)]


def politeness_gate(settings: Settings) -> Gate | None:
    """A gate per host shared through the Redis broker; None without Redis (the demo's
    in-process broker), where one process is all there is."""
    client = broker_redis(settings)
    if client is None:
        return None
    polite = HostPoliteness(
        client,
        prefix=f"{settings.queue_prefix}takedown:polite:",
        rate=settings.host_rate_per_second,
        burst=settings.host_burst,
        max_in_flight=settings.host_max_in_flight,
        # Longer than one visit can take, so a live visit never loses its slot.
        lease_seconds=2
        * (settings.http_connect_timeout_seconds + settings.http_read_timeout_seconds),
    )
    wait = settings.http_connect_timeout_seconds + settings.http_read_timeout_seconds

    @contextmanager
    def gate(host: str) -> Iterator[object]:
        slot = polite.wait_for(host, timeout=wait)
        if slot is None:
            raise HostBusy(host)
        with slot:
            yield slot

    return gate
