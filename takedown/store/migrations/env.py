"""Alembic environment: migrations run on takedown's own engine (see takedown.store.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from takedown.store.db import get_engine
from takedown.store.models import Base


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


locked = context.config.attributes.get("connection")
if locked is not None:
    # From takedown.store.db: a connection that holds the store's lock, in a transaction its
    # caller commits, with SQLite's foreign keys already off.
    run_on(locked)
else:  # `alembic upgrade` run by hand
    engine = context.config.attributes.get("engine") or get_engine()
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Rebuilding a table drops the old one, which the foreign keys of rows in other
            # tables would refuse; SQLite only honours this outside a transaction, so first.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        run_on(connection)
        connection.commit()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
