"""Alembic environment: migrations run on takedown's own engine (see takedown.store.db.migrate)."""

from __future__ import annotations

from alembic import context

from takedown.store.db import get_engine
from takedown.store.models import Base

engine = context.config.attributes.get("engine") or get_engine()

with engine.connect() as connection:
    if connection.dialect.name == "sqlite":
        # Rebuilding a table drops the old one, which the foreign keys of rows in other
        # tables would refuse; SQLite only honours this outside a transaction, so first.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
