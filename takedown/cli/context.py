"""What every command uses: the console, the settings, the migrated database, the catalogue,
and who is acting."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import click
from pydantic import BaseModel
from rich.console import Console
from sqlalchemy.orm import Session

from takedown.catalogue.legal import Legal, legal_for
from takedown.catalogue.platforms import Catalogue
from takedown.config import Settings, get_settings
from takedown.store.db import prepare_store, session_scope

console = Console()

# Where templates were checked with the stand-in notifier (TAKEDOWN_NOTIFIER_* unset).
STAND_IN_NOTE = (
    "[yellow]Checked with a stand-in notifier: TAKEDOWN_NOTIFIER_NAME and "
    "TAKEDOWN_NOTIFIER_EMAIL are not set, and nothing is sent until they are.[/]"
)

BROKER_DOWN = (
    "[yellow]The broker cannot be reached now. The requests are saved and the sweeper "
    "will send them once a worker and the broker are running.[/]"
)


def current_settings() -> Settings:
    return get_settings()


def acting_user() -> str:
    """Who runs this command, for the audit log: TAKEDOWN_ACTOR (set it per person where one
    service account is shared), or else the operating-system login."""
    configured = current_settings().actor.strip()
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"


@contextmanager
def open_database() -> Iterator[Session]:
    """A session on the configured database, migrated to the newest schema."""
    prepare_store()
    with session_scope() as session:
        yield session


def current_catalogue() -> Catalogue:
    """The platform files, refused as `takedown platforms check` refuses them: a command
    never matches links against a catalogue that would not pass the check."""
    from takedown.notices.samples import check_catalogue

    return check_catalogue(current_settings())


def current_legal() -> Legal:
    return legal_for(current_settings().legal_dir)


def print_json(data: BaseModel | Sequence[BaseModel]) -> None:
    """A read model (or a list of them) as the JSON scripts read: keys as the model names
    them, in its order; text as it is, not escaped to ASCII."""
    plain = data.model_dump() if isinstance(data, BaseModel) else [row.model_dump() for row in data]
    click.echo(json.dumps(plain, ensure_ascii=False, indent=2))
