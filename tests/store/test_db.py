"""The schema comes from Alembic migrations, and they match the models exactly."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select, text
from sqlalchemy.pool import QueuePool

from takedown.config import get_settings
from takedown.errors import ConfigError
from takedown.safety.crypto import generate_key
from takedown.store.columns import utcnow
from takedown.store.db import (
    _alembic_config,
    engine_for,
    get_engine,
    migrate,
    prepare_store,
    session_scope,
)
from takedown.store.encryption import keyring
from takedown.store.models import Alert, Base, Notification
from takedown.store.states import MessageState
from takedown.testing.environment import Configure
from takedown.testing.processes import TAKEDOWN


@pytest.mark.usefixtures("database_url")
def test_the_migrations_build_exactly_the_schema_the_models_describe() -> None:
    with get_engine().connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert drift == [], "a model changed without a migration: alembic revision --autogenerate"


@pytest.mark.usefixtures("database_url")
def test_migrating_an_up_to_date_database_changes_nothing() -> None:
    migrate()
    migrate()
    with get_engine().connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    assert current == ScriptDirectory.from_config(_alembic_config(get_engine())).get_current_head()


def checked_in(engine: Engine) -> int:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedin()


@pytest.mark.usefixtures("database_url")
def test_a_forked_worker_process_opens_its_own_database_connections() -> None:
    from celery.signals import worker_process_init

    import takedown.worker.celery_app  # noqa: F401  (connects the signal handler)

    engine = get_engine()
    with engine.connect():
        pass
    assert checked_in(engine) >= 1, "the parent holds a pooled connection"
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:  # the pool process Celery would fork
        worker_process_init.send(sender=None)
        # The engine's pool as the child sees it after the signal: a new one if dropped.
        os.write(writable, str(checked_in(engine)).encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(readable, 16) == b"0", "the child must not reuse the parent's connection"
    with engine.connect() as connection:  # and the parent's connection still works
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Path, configure: Configure) -> str:
    """An empty database of this test's own, not migrated, set for takedown."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    configure(TAKEDOWN_DATABASE_URL=url)
    return url


@pytest.mark.usefixtures("unmigrated")
def test_the_upgrade_to_the_outbox_keeps_what_old_workers_sent_and_were_sending() -> None:
    command.upgrade(_alembic_config(get_engine()), "0011")
    now = utcnow()
    with get_engine().begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (id, reference, language, minor, notify, created_at)"
                " VALUES ('c1', 'TD-2026-OLDONE', 'fi', false, true, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO notifications (case_id, event, created_at, state, attempts)"
                " VALUES ('c1', 'requests_sent', :now, 'sending', 0)"
            ),
            {"now": now},
        )
        # Encrypted as the old code stored it: the store is adopted by the key that opens it.
        connection.execute(
            text(
                "INSERT INTO items (id, case_id, position, url, host, status, created_at,"
                " url_hash) VALUES ('i1', 'c1', 1, :url, 'x', 'online', :now, 'h1')"
            ),
            {"now": now, "url": keyring().encrypt("https://example.org/x")},
        )
        for what, emailed_at in (("emailed", now), ("not yet emailed", None)):
            connection.execute(
                text(
                    "INSERT INTO alerts (case_id, item_id, created_at, what, emailed_at,"
                    " email_attempts) VALUES ('c1', 'i1', :now, :what, :emailed_at, 0)"
                ),
                {"now": now, "what": what, "emailed_at": emailed_at},
            )
    migrate()
    with session_scope() as session:
        (claimed_at,) = session.scalars(select(Notification.claimed_at))
        alerts = dict(session.execute(select(Alert.what, Alert.email_state)).all())
    # Stamped, so the sweep flags it once no task could still be sending it.
    assert claimed_at is not None
    # An alert the old code had emailed is sent: it is not emailed a second time.
    assert alerts == {"emailed": MessageState.SENT, "not yet emailed": MessageState.PENDING}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_processes_started_together_on_a_new_store_wait_for_one_to_set_it_up(
    kind: str,
    tmp_path: Path,
    test_environment: Callable[..., dict[str, str]],
    request: pytest.FixtureRequest,
) -> None:
    # compose starts the worker, beat (and the web server) at once on a new database; before
    # the lock, one of two `case list` died with "table cases already exists" 2 times in 3.
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'new.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("TAKEDOWN_")
    } | test_environment(url)
    together = [
        subprocess.Popen(
            [str(TAKEDOWN), "case", "list", "--json"],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in together:
        out, err = process.communicate(timeout=90)
        assert process.returncode == 0, err
        assert json.loads(out) == []
    with engine_for(url).connect() as connection:
        keys = connection.execute(text("SELECT count(*) FROM store_keys")).scalar_one()
        revision = MigrationContext.configure(connection).get_current_revision()
    assert keys == 1
    assert revision == ScriptDirectory.from_config(_alembic_config(get_engine())).get_current_head()


@pytest.mark.usefixtures("unmigrated")
def test_a_store_from_before_the_key_check_is_adopted_only_by_a_key_that_opens_it(
    configure: Configure,
) -> None:
    command.upgrade(_alembic_config(get_engine()), "0012")
    right = get_settings().secret_key
    with get_engine().begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (id, reference, victim_name, language, minor, notify,"
                " created_at) VALUES ('c1', 'TD-2026-OLDKEY', :name, 'fi', false, true, :now)"
            ),
            {"name": keyring().encrypt("Aino Virtanen"), "now": utcnow()},
        )
    # Another valid key: it opens nothing stored, so it is not taken for the store's.
    configure(TAKEDOWN_SECRET_KEY=generate_key())
    with pytest.raises(ConfigError, match="the first key is not a key of this database"):
        prepare_store()
    # Refused whole: not even the migration that would have recorded a key was kept.
    with get_engine().connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0012"
    # The key that opens what is stored is adopted, and the store then knows it.
    configure(TAKEDOWN_SECRET_KEY=right)
    prepare_store()
    with session_scope() as session:
        assert session.scalar(text("SELECT count(*) FROM store_keys")) == 1
