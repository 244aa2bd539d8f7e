"""Engine, sessions and migrations for SQLite (the default) and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from takedown.config import get_settings

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# An arbitrary constant: every takedown process serialises its migrations on this lock.
_MIGRATION_LOCK_ID = 7_115_2024


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the CLI read while a worker writes; the busy timeout makes concurrent
    # writers wait their turn instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # An erased case is overwritten on disk, not only unlinked from the file's pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


_engines: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    engine = _engines.get(url)
    if engine is None:
        # hide_parameters: a database error must never print a victim's name or a link.
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
        _engines[url] = engine
    return engine


def forget_inherited_connections() -> None:
    """In a freshly forked process: drop the parent's pooled connections without closing
    them (they are still the parent's), so this process opens its own. Two processes
    talking over one database socket interleave their statements."""
    for engine in _engines.values():
        engine.dispose(close=False)


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


@lru_cache(maxsize=8)
def _sessionmaker_for(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = _sessionmaker_for(get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_ID_PREFIX = re.compile(r"[0-9a-f]{6,32}")


def find_by_id_prefix(session: Session, model: type[T], key: str) -> T | None:
    """The one row whose id starts with ``key`` (6 or more hex characters), if exactly one."""
    if not _ID_PREFIX.fullmatch(key):
        return None
    column = model.id  # type: ignore[attr-defined]
    matches = session.scalars(
        select(model).where(column.startswith(key, autoescape=True)).limit(2)
    ).all()
    return matches[0] if len(matches) == 1 else None


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def _at_head(engine: Engine, config: Config) -> bool:
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def migrate(engine: Engine | None = None) -> None:
    """Bring the schema to the newest revision; cheap when it already is."""
    engine = engine or get_engine()
    config = _alembic_config(engine)
    if _at_head(engine, config):
        return
    if engine.dialect.name == "postgresql":
        # Several workers may start at once against a new database; one migrates.
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            try:
                command.upgrade(config, "head")
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
    else:
        command.upgrade(config, "head")
