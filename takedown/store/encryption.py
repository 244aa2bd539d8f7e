"""The keyring of the current settings, and the column type that stores text encrypted under it."""

from __future__ import annotations

from sqlalchemy import Text, TypeDecorator
from sqlalchemy.engine import Dialect
from typing_extensions import override

from takedown.config import get_settings
from takedown.safety.crypto import Keyring, keyring_from


def keyring() -> Keyring:
    """The keyring of the current settings."""
    return keyring_from(get_settings().secret_key)


class EncryptedText(TypeDecorator[str]):
    """Text stored as a Fernet token and read back in clear, under the current keyring."""

    impl = Text
    cache_ok = True

    @override
    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().encrypt(value)

    @override
    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().decrypt(value)
