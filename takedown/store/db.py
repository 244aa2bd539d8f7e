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
from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from takedown.config import get_settings
from takedown.errors import ConfigError, TakedownError
from takedown.store.encryption import keyring
from takedown.store.keycheck import check_keys, is_known

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
    """A session that commits on success and rolls back on any error, on a store made ready
    for this process first (``prepare_store``: whichever door or worker opens it)."""
    prepare_store()
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


def _at_head(connection: Connection, config: Config) -> bool:
    head = ScriptDirectory.from_config(config).get_current_head()
    return MigrationContext.configure(connection).get_current_revision() == head


@contextmanager
def _store_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that only one takedown process at a time can hold on
    this store, committed at the end: an advisory lock on PostgreSQL, an exclusive
    transaction on SQLite. Processes started together on a new store (compose starts the
    worker, beat and web at once) wait here for the first to create the schema, then go on."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # Rebuilding a table (SQLite's ALTER) drops the old one, which the foreign keys
            # of rows in other tables would refuse; SQLite honours this only outside a
            # transaction, so before the lock is taken.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.exec_driver_sql("BEGIN EXCLUSIVE")  # waits out the busy timeout
        else:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        try:
            yield connection
            connection.commit()
        finally:
            connection.rollback()
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _upgrade(connection: Connection, config: Config) -> None:
    if not _at_head(connection, config):  # looked at again: another process may have done it
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def migrate(engine: Engine | None = None) -> None:
    """Bring the schema to the newest revision; cheap when it already is."""
    engine = engine or get_engine()
    config = _alembic_config(engine)
    with engine.connect() as connection:
        if _at_head(connection, config):
            return
    with _store_lock(engine) as connection:
        _upgrade(connection, config)


_prepared: set[tuple[str, str]] = set()


def prepare_store(*, rotating: bool = False) -> None:
    """Make the configured store ready for this process, once: the schema migrated to the
    newest revision, and the first key of ``TAKEDOWN_SECRET_KEY`` checked to be the store's
    own (``takedown.store.keycheck``), before anything is read or written. ``rotating``:
    for ``takedown keys rotate``, which may bring in a new first key.

    A ``ConfigError`` names the setting when the key does not fit or the database file is
    not a database."""
    settings = get_settings()
    ring = keyring()  # a missing or malformed key is refused before the database is opened
    done = (settings.database_url, settings.secret_key)
    if done in _prepared and not rotating:
        return
    engine = get_engine()
    config = _alembic_config(engine)
    try:
        with engine.connect() as connection:
            ready = _at_head(connection, config) and is_known(connection, ring)
        if rotating or not ready:
            with _store_lock(engine) as connection:
                _upgrade(connection, config)
                check_keys(connection, ring, rotating=rotating)
    except (OperationalError, TakedownError):
        raise  # a database that cannot be reached, a key that does not fit: said already
    except DatabaseError as error:
        # SQLite's "file is not a database": the setting names a file of something else.
        raise ConfigError(
            f"TAKEDOWN_DATABASE_URL: {engine.url.render_as_string()} cannot be used as "
            f"takedown's database ({_driver_words(error)})"
        ) from None
    _prepared.add(done)


def forget_prepared() -> None:
    """After the store's keys changed in this process (a rotation): check again on next use."""
    _prepared.clear()


def _driver_words(error: DatabaseError) -> str:
    cause = error.orig or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
