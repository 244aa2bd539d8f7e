"""A PostgreSQL database of a run's own, created on a server and dropped afterwards; and a
snapshot of every row, for tests that must show nothing changed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy
from sqlalchemy import select
from sqlalchemy.engine import make_url

from takedown.store.db import engine_for, session_scope
from takedown.store.models import Base

# The machine's server: trust authentication, and a `postgres` database to administer from.
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class ServerUnavailable(RuntimeError):
    """The server cannot be reached; the message says which and why."""


@contextmanager
def postgres_database(server_url: str = POSTGRES_SERVER, prefix: str = "takedown") -> Iterator[str]:
    """The URL of a new, empty database named ``<prefix>_<random>`` on the server of
    ``server_url``, dropped when the block ends (its connections closed first)."""
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sqlalchemy.exc.OperationalError as error:
        admin.dispose()
        raise ServerUnavailable(
            f"PostgreSQL is not reachable at {server_url}: {error.orig}"
        ) from None
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def snapshot() -> dict[str, list[str]]:
    """Every row of every table of the configured store, so that a test's "nothing changed"
    means exactly that."""
    with session_scope() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }
