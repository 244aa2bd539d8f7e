"""Which keys belong to this store. A process whose ``TAKEDOWN_SECRET_KEY`` begins with a key
the store's values are not encrypted under is refused before it writes anything.

Without this check, one shell or worker started with another valid key would store new
cases that nobody holding the right key can read, and ``case list`` and ``keys rotate``
would then fail for everyone. The store keeps a fingerprint of each of its keys (derived one
way: it tells nothing about the key). The first process to open a new store records its
key; a store from before the check is adopted by a key that opens the values in it.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table

from takedown.errors import ConfigError
from takedown.safety.crypto import SETTING, Keyring
from takedown.store.encryption import EncryptedText
from takedown.store.models import Base, StoreKey

# Values read to see which keys open a store that has no fingerprints yet.
_SAMPLES_PER_COLUMN = 5


def is_known(connection: Connection, ring: Keyring) -> bool:
    """Whether the store knows the first key (the one new values are encrypted under)."""
    first = ring.fingerprints[0]
    found = connection.scalar(select(StoreKey.fingerprint).where(StoreKey.fingerprint == first))
    return found is not None


def check_keys(connection: Connection, ring: Keyring, *, rotating: bool = False) -> None:
    """Refuse, with a ``ConfigError`` naming the setting, a keyring whose first key is not
    this store's; record it when the store has no key yet. Call it under the store's lock
    (``takedown.store.db.prepare_store``), so that two processes starting on a new store with
    different keys cannot both record theirs.

    ``rotating`` (``takedown keys rotate``): a new first key is accepted when a later key in
    the ring is the store's, which shows that the operator holds it.
    """
    known = set(connection.scalars(select(StoreKey.fingerprint)))
    if ring.fingerprints[0] in known:
        return
    if known:
        vouching = [fingerprint in known for fingerprint in ring.fingerprints]
    else:
        samples = _stored_tokens(connection)
        if not samples:  # a new store: its first key is the one it is opened with
            _remember(connection, [ring.fingerprints[0]])
            return
        vouching = [
            any(ring.opens(position, token) for token in samples)
            for position in range(len(ring.fingerprints))
        ]
    if vouching[0] or (rotating and any(vouching)):
        _remember(
            connection,
            [fingerprint for fingerprint, ok in zip(ring.fingerprints, vouching, strict=True) if ok]
            + ([] if vouching[0] else [ring.fingerprints[0]]),
        )
        return
    if any(vouching):
        raise ConfigError(
            f"{SETTING}: the first key is not yet a key of this database (a later one is), so "
            "nothing was read or written. To change keys, run `takedown keys rotate` with this "
            "setting first: it makes the new key the database's and re-encrypts everything "
            "under it."
        )
    raise ConfigError(
        f"{SETTING}: the first key is not a key of this database (what it stores is "
        "encrypted under another), so nothing was read or written. Use the key this "
        "database was set up with; to change keys, put the new key first and the old one "
        "after it, then run `takedown keys rotate`."
    )


def forget_older_keys(connection: Connection, ring: Keyring) -> None:
    """After a complete rotation: only the first key is the store's now, so a process still
    started with an older one alone is refused."""
    connection.execute(delete(StoreKey).where(StoreKey.fingerprint != ring.fingerprints[0]))


def _remember(connection: Connection, fingerprints: list[str]) -> None:
    known = set(connection.scalars(select(StoreKey.fingerprint)))
    new = [fingerprint for fingerprint in dict.fromkeys(fingerprints) if fingerprint not in known]
    if new:
        connection.execute(insert(StoreKey), [{"fingerprint": value} for value in new])


def _stored_tokens(connection: Connection) -> list[str]:
    """A few encrypted values as stored (the raw tokens), from every encrypted column."""
    tokens: list[str] = []
    for table in Base.metadata.sorted_tables:
        for model_column in table.columns:
            if not isinstance(model_column.type, EncryptedText):
                continue
            raw = sql_table(table.name, sql_column(model_column.name))
            value = raw.c[model_column.name]
            tokens += connection.scalars(
                select(value).where(value.is_not(None)).limit(_SAMPLES_PER_COLUMN)
            ).all()
    return tokens
