"""What every command uses: the console, the settings, the migrated database, the catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from takedown.catalogue.legal import Legal, legal_for
from takedown.catalogue.platforms import Catalogue, catalogue_for
from takedown.config import Settings, get_settings
from takedown.contacts.abuse_contacts import Suggestion
from takedown.store.audit import record
from takedown.store.db import migrate, session_scope
from takedown.store.encryption import keyring
from takedown.store.models import RemovalRequest

console = Console()


BROKER_DOWN = (
    "[yellow]The broker cannot be reached now. The requests are saved and the sweeper "
    "will send them once a worker and the broker are running.[/]"
)


def current_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:
        first = error.errors()[0]
        if not first["loc"]:  # a rule across settings names its variables itself
            raise click.ClickException(str(first["msg"]).removeprefix("Value error, ")) from None
        name = "TAKEDOWN_" + "_".join(str(part) for part in first["loc"]).upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        raise click.ClickException(f"{name}: {message}") from None


def record_request(
    session: Session, action: str, request: RemovalRequest, detail: str | None = None
) -> None:
    record(session, action, request.item.case_id, request.id, detail)


@contextmanager
def open_database() -> Iterator[Session]:
    """A session on the configured database, migrated to the newest schema."""
    current_settings()
    keyring()  # a missing or malformed key is refused before anything is read or stored
    migrate()
    with session_scope() as session:
        yield session


def current_catalogue() -> Catalogue:
    return catalogue_for(current_settings().platforms_dir)


def find_abuse_contacts(hosts: dict[str, str], quiet: bool) -> dict[str, Suggestion]:
    """Ask RDAP who hosts each link on no known platform (cached; one host asked once)."""
    from takedown.contacts.abuse_contacts import look_up, suggest

    settings = current_settings()
    by_host: dict[str, Suggestion] = {}
    with console.status("Asking RDAP who hosts the links on no known platform…") as spinner:
        if quiet:
            spinner.stop()
        for host in set(hosts.values()):
            by_host[host] = suggest(look_up(host, settings))
    return {item_id: by_host[host] for item_id, host in hosts.items()}


def current_legal() -> Legal:
    return legal_for(current_settings().legal_dir)


def rehearsed_catalogue(settings: Settings) -> Catalogue:
    from takedown.notices.samples import rehearse

    catalogue = Catalogue.load(settings.platforms_dir)
    if not catalogue.platforms:
        raise click.ClickException(f"{settings.platforms_dir}: no platform files (*.yaml)")
    for platform in catalogue.platforms.values():
        rehearse(platform, settings)
    return catalogue


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
