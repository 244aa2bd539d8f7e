"""Victim identity encrypted at rest, and links found again without storing them in clear.

``TAKEDOWN_SECRET_KEY`` holds one or more Fernet keys, separated by commas: the first
encrypts, every one decrypts (``MultiFernet``), so a new key is put first and
``takedown keys rotate`` then re-encrypts everything under it before the old key is retired.

A link cannot be looked up by its ciphertext (Fernet is randomised), so each link also gets
an HMAC under a key derived from the Fernet key: equal links give equal hashes, and a copy
of the database without the key tells nothing about which links they are.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64decode
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from takedown.errors import ConfigError

SETTING = "TAKEDOWN_SECRET_KEY"
_LINK_HASH_INFO = b"takedown link hash v1"
_KEY_CHECK_INFO = b"takedown key check v1"


@dataclass(frozen=True)
class Keyring:
    fernet: MultiFernet
    # One per key, in the same order: the first hashes new links, all are tried on lookup.
    hash_keys: tuple[bytes, ...]
    # One per key, in the same order: what the store keeps to know its keys by
    # (takedown.store.keycheck). Derived one way, so it tells nothing about the key.
    fingerprints: tuple[str, ...]
    keys: tuple[Fernet, ...]

    def opens(self, position: int, token: str) -> bool:
        """Whether the key at ``position`` (0 is the first) decrypts ``token``."""
        try:
            self.keys[position].decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def encrypt(self, text: str) -> str:
        return self.fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self.fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                f"a stored value cannot be decrypted with any key in {SETTING}; was a key "
                "removed before `takedown keys rotate` had re-encrypted everything?"
            ) from None

    def rotate(self, token: str) -> str:
        """The same value, encrypted under the first key."""
        try:
            return self.fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ConfigError(
                f"a stored value cannot be decrypted with any key in {SETTING}"
            ) from None

    def link_hash(self, url: str) -> str:
        return _hmac(self.hash_keys[0], url)

    def link_hashes(self, url: str) -> list[str]:
        """The link's hash under every key: during a rotation, rows hashed under an older
        key are still found."""
        return [_hmac(key, url) for key in self.hash_keys]


def _hmac(key: bytes, url: str) -> str:
    return hmac.new(key, url.encode("utf-8"), hashlib.sha256).hexdigest()


def _derived(fernet_key: bytes, info: bytes) -> bytes:
    derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info)
    return derive.derive(urlsafe_b64decode(fernet_key))


def _hash_key(fernet_key: bytes) -> bytes:
    # A separate key for hashing, so the HMAC never reuses Fernet's own signing key.
    return _derived(fernet_key, _LINK_HASH_INFO)


def _fingerprint(fernet_key: bytes) -> str:
    return hashlib.sha256(_derived(fernet_key, _KEY_CHECK_INFO)).hexdigest()


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


@lru_cache(maxsize=4)
def keyring_from(secret: str) -> Keyring:
    """The keyring of a ``TAKEDOWN_SECRET_KEY`` value; the error names the bad key's place."""
    keys = [part.strip() for part in secret.split(",") if part.strip()]
    if not keys:
        raise ConfigError(
            f"{SETTING} is not set; generate a key with `takedown keys generate` and keep it "
            "in your secret store (without it, nothing stored can be read)"
        )
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise ConfigError(
                f"{SETTING}: key {position} is not a Fernet key (32 url-safe base64-encoded "
                "bytes, as `takedown keys generate` prints)"
            ) from None
    encoded = [key.encode("ascii") for key in keys]
    return Keyring(
        fernet=MultiFernet(fernets),
        hash_keys=tuple(map(_hash_key, encoded)),
        fingerprints=tuple(map(_fingerprint, encoded)),
        keys=tuple(fernets),
    )
