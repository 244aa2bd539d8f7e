"""The beat scheduler starts the nightly check by itself, at the operator's local minute.

This test waits for a real clock minute (up to about 70 s), so it is the only one that runs
its own worker: beat started with ``TAKEDOWN_NIGHTLY_AT`` set to the coming minute in a time
zone whose offset is not a whole hour, so that a schedule read as UTC could never fire then.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from takedown.cases.links import add_links
from takedown.catalogue.platforms import catalogue_for
from takedown.store.db import migrate, session_scope
from takedown.store.models import Check, NightlyRun
from takedown.testing.cases import TEST_ACTOR, open_test_case
from takedown.testing.environment import overridden_environment
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply
from takedown.testing.processes import TakedownProcess, wait_until

KATHMANDU = ZoneInfo("Asia/Kathmandu")  # UTC+05:45


def the_coming_minute(zone: ZoneInfo) -> datetime:
    """The next whole minute that is at least 15 s away (the worker needs a moment to start)."""
    soon = datetime.now(zone) + timedelta(seconds=15)
    return soon.replace(second=0, microsecond=0) + timedelta(minutes=1)


def test_beat_fires_the_nightly_check_at_the_configured_local_minute(
    redis_url: str,
    test_environment: Callable[..., dict[str, str]],
    site: FakePlatform,
    tmp_path: Path,
) -> None:
    at = the_coming_minute(KATHMANDU)
    variables = test_environment(
        f"sqlite:///{tmp_path / 'takedown.db'}", redis_url, f"takedown-beat-{uuid.uuid4().hex[:8]}-"
    )
    variables |= {"TAKEDOWN_NIGHTLY_AT": f"{at:%H:%M}", "TAKEDOWN_TIMEZONE": "Asia/Kathmandu"}
    path = f"/content/beat-{uuid.uuid4().hex[:8]}"
    site.script(path, Reply(404, "Not found"))
    with overridden_environment(variables) as settings:
        migrate()
        with session_scope() as session:
            case = open_test_case(session)
            catalogue = catalogue_for(settings.platforms_dir)
            (item,) = add_links(session, case, [site.url(path)], catalogue, actor=TEST_ACTOR).added
            item_id = item.id
        log = tmp_path / "worker.log"
        environment = {**os.environ, **variables}
        with TakedownProcess.worker(log, "--beat", "--pool", "threads", environment=environment):
            with session_scope() as session:
                assert session.get(NightlyRun, at.date()) is None  # not before its minute

            def checked() -> bool:
                with session_scope() as session:
                    return session.query(Check).filter_by(item_id=item_id).count() == 1

            wait = (at - datetime.now(KATHMANDU)).total_seconds() + 30
            wait_until(checked, wait, "the nightly check started by beat")
            with session_scope() as session:
                run = session.get_one(NightlyRun, at.date())
                started = run.started_at.astimezone(KATHMANDU)
            assert started.replace(second=0, microsecond=0) == at
