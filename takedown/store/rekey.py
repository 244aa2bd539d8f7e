"""``takedown keys rotate``: every encrypted value re-encrypted under the newest key.

The encrypted columns are found from the models (every column of type ``EncryptedText``),
so a column encrypted later is rotated without touching this module. Links' keyed hashes
are recomputed under the newest key too. Rows go in batches, each committed on its own:
a rotation stopped half-way leaves every value readable (the old key still opens what was
not rotated yet), and running it again finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from takedown.safety.crypto import Keyring
from takedown.store.audit import record
from takedown.store.db import forget_prepared
from takedown.store.encryption import EncryptedText
from takedown.store.keycheck import forget_older_keys
from takedown.store.models import Base

BATCH_ROWS = 500


@dataclass
class Rotation:
    # "table.column" → values re-encrypted
    values: dict[str, int] = field(default_factory=dict)
    link_hashes: int = 0


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary key column, encrypted column) for every encrypted column."""
    found = []
    for table in Base.metadata.sorted_tables:
        (key,) = table.primary_key.columns
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                found.append((table.name, key.name, column.name))
    return found


def rotate(engine: Engine, keys: Keyring, *, actor: str) -> Rotation:
    result = Rotation()
    for table, key, column in encrypted_columns():
        result.values[f"{table}.{column}"] = _each_batch(
            engine, table, key, column, column, keys.rotate
        )
    result.link_hashes = _each_batch(
        engine, "items", "id", "url", "url_hash", lambda token: keys.link_hash(keys.decrypt(token))
    )
    with Session(engine) as session, session.begin():
        forget_older_keys(session.connection(), keys)
        record(
            session,
            actor=actor,
            action="keys rotated",
            detail=f"{sum(result.values.values())} values",
        )
    forget_prepared()  # the older keys are not the store's any more
    return result


def _each_batch(
    engine: Engine,
    table_name: str,
    key: str,
    column: str,
    written: str,
    new_value: Callable[[str], str],
) -> int:
    """Write ``new_value(token)`` into ``written`` for every row with a ``column`` token."""
    # Untyped columns: the raw tokens are read and written, never decrypted by the model type.
    columns = {key, column, written}
    table = sa.table(table_name, *(sa.column(name) for name in columns))
    done = 0
    after: object = None
    while True:
        query = sa.select(table.c[key], table.c[column]).where(table.c[column].is_not(None))
        if after is not None:
            query = query.where(table.c[key] > after)
        with engine.begin() as connection:
            rows = connection.execute(query.order_by(table.c[key]).limit(BATCH_ROWS)).all()
            for row_key, token in rows:
                # Only if the value is still the one read: a caseworker's or a worker's
                # change made meanwhile is kept (and rotated by the next run).
                connection.execute(
                    table.update()
                    .where(table.c[key] == row_key, table.c[column] == token)
                    .values({written: new_value(token)})
                )
        if not rows:
            return done
        done += len(rows)
        after = rows[-1][0]
