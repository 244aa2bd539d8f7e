"""``takedown platforms ...``: the platform files as takedown reads them."""

from __future__ import annotations

from typing import Any

import click
import yaml

from takedown.catalogue.schema import Platform
from takedown.cli.context import (
    console,
    current_catalogue,
    current_settings,
    print_json,
    rehearsed_catalogue,
)
from takedown.cli.errors import user_errors
from takedown.cli.tables import platforms_view


@click.group(help="Platform definitions.")
def platforms() -> None:
    pass


@platforms.command("check", help="Validate every platform file; exit non-zero naming the problem.")
@user_errors
def platforms_check() -> None:
    settings = current_settings()
    found = rehearsed_catalogue(settings)
    console.print(f"{len(found.platforms)} platform file(s) in {settings.platforms_dir} are valid.")


@platforms.command("list", help="Every platform: its kind, channels, deadline and legal bases.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def platforms_list(as_json: bool) -> None:
    rows = [
        platform_summary(p) for p in sorted(current_catalogue().platforms.values(), key=_by_name)
    ]
    if as_json:
        print_json(rows)
    else:
        console.print(platforms_view(rows))


@platforms.command("show", help="One platform's definition, as takedown reads it.")
@click.argument("platform_id")
@user_errors
def platforms_show(platform_id: str) -> None:
    platform = current_catalogue().get(platform_id)
    click.echo(
        yaml.safe_dump(platform.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    )


def _by_name(platform: Platform) -> str:
    return platform.name.casefold()


def platform_summary(platform: Platform) -> dict[str, Any]:
    return {
        "id": platform.id,
        "name": platform.name,
        "kind": platform.kind,
        "channels": [channel.type for channel in platform.channels],
        "deadline_hours": platform.deadline_hours,
        "legal_bases": list(platform.legal_bases),
        "escalation": [target.name for target in platform.escalation],
        "domains": platform.domains,
        "source": platform.source,
        "checked": platform.checked.isoformat() if platform.checked else None,
    }
