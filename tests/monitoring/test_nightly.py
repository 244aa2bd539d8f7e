"""The nightly check: keyed by the operator's date, batched, most overdue first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from celery.schedules import crontab

from takedown.config import Settings
from takedown.monitoring.nightly import start_run
from takedown.store.db import session_scope
from takedown.store.models import Item, NightlyRun
from takedown.testing.cases import sent_request
from takedown.testing.environment import Configure
from takedown.worker.celery_app import create_app


def test_a_second_trigger_the_same_night_does_nothing(environment: Settings) -> None:
    night = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    with session_scope() as session:
        assert start_run(session, environment, night) is not None
    with session_scope() as session:
        assert start_run(session, environment, night + timedelta(hours=3)) is None
    with session_scope() as session:
        assert start_run(session, environment, night + timedelta(days=1)) is not None


@pytest.mark.usefixtures("environment")
def test_the_night_is_the_operators_date_not_utcs(configure: Configure) -> None:
    helsinki = configure(TAKEDOWN_TIMEZONE="Europe/Helsinki")
    late_utc = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # already 3 March in Helsinki
    with session_scope() as session:
        start_run(session, helsinki, late_utc)
        assert session.get(NightlyRun, datetime(2026, 3, 3).date()) is not None


@pytest.mark.usefixtures("environment")
def test_links_are_batched_longest_unchecked_first(configure: Configure) -> None:

    small = configure(TAKEDOWN_CHECK_BATCH_SIZE="2")
    never, _ = sent_request(small, "https://mailsite.example/p/never")
    long_ago, _ = sent_request(small, "https://mailsite.example/p/long-ago")
    with session_scope() as session:
        session.get_one(Item, long_ago).last_checked_at = datetime(2020, 1, 1, tzinfo=UTC)
    with session_scope() as session:
        batches = start_run(session, small, datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    assert batches is not None
    assert all(len(batch) <= 2 for batch in batches)
    order = [item_id for batch in batches for item_id in batch]
    assert order.index(never) < order.index(long_ago)


@pytest.mark.usefixtures("environment")
def test_beat_runs_the_nightly_check_at_the_configured_local_time(configure: Configure) -> None:
    settings = configure(TAKEDOWN_NIGHTLY_AT="03:15", TAKEDOWN_TIMEZONE="Europe/Helsinki")
    app = create_app(settings)
    entry = app.conf.beat_schedule["nightly-checks"]
    assert entry["task"] == "takedown.tasks.nightly"
    assert entry["schedule"] == crontab(hour=3, minute=15)
    assert app.conf.timezone == "Europe/Helsinki"
