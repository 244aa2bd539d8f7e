"""The schema comes from Alembic migrations, and they match the models exactly."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from takedown.store.db import _alembic_config, get_engine, migrate
from takedown.store.models import Base


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
