"""``takedown keys ...``: the keys that encrypt victims' identities and links."""

from __future__ import annotations

import click

from takedown.cli.context import acting_user, console, current_settings
from takedown.cli.errors import user_errors
from takedown.store.db import prepare_store
from takedown.store.encryption import keyring


@click.group(help="The keys that encrypt victims' identities and links (TAKEDOWN_SECRET_KEY).")
def keys() -> None:
    pass


@keys.command("generate", help="Print a new key, to put first in TAKEDOWN_SECRET_KEY.")
def keys_generate() -> None:
    from takedown.safety.crypto import generate_key

    click.echo(generate_key())


@keys.command(
    "rotate",
    help="Re-encrypt everything under the first key of TAKEDOWN_SECRET_KEY; afterwards the "
    "older keys can be removed.",
)
@user_errors
def keys_rotate() -> None:
    from takedown.store.db import get_engine
    from takedown.store.rekey import rotate

    current_settings()
    # The new first key is recorded as the store's, if an older key in the ring is.
    prepare_store(rotating=True)
    ring = keyring()
    rotation = rotate(get_engine(), ring, actor=acting_user())
    for column, count in rotation.values.items():
        console.print(f"{column}: {count} value(s) re-encrypted", highlight=False)
    console.print(f"items.url_hash: {rotation.link_hashes} link hash(es) recomputed")
    console.print(
        "Everything is now under the first key; the others can be removed from TAKEDOWN_SECRET_KEY."
    )
