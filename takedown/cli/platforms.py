"""``takedown platforms ...``: the platform files as takedown reads them."""

from __future__ import annotations

from datetime import date

import click
import yaml

from takedown.catalogue.platforms import stale, summaries
from takedown.cli.context import (
    STAND_IN_NOTE,
    console,
    current_catalogue,
    current_settings,
    print_json,
)
from takedown.cli.errors import user_errors
from takedown.cli.tables import platforms_view

# A yearly review, with room to spare: a file is stale half a year after its last check.
STALE_DAYS = 180


@click.group(help="Platform definitions.")
def platforms() -> None:
    pass


@platforms.command("check", help="Validate every platform file; exit non-zero naming the problem.")
@click.option(
    "--stale",
    "stale_days",
    type=click.IntRange(min=0),
    is_flag=False,
    flag_value=STALE_DAYS,
    default=None,
    help=f"Also list the files whose facts were last checked more than DAYS ago "
    f"(default {STALE_DAYS}), and exit non-zero if there are any.",
    metavar="DAYS",
)
@user_errors
def platforms_check(stale_days: int | None) -> None:
    from takedown.notices.builder import checking_notifier
    from takedown.notices.samples import check_catalogue

    settings = current_settings()
    found = check_catalogue(settings)
    console.print(f"{len(found.platforms)} platform file(s) in {settings.platforms_dir} are valid.")
    if checking_notifier(settings).stand_in:
        console.print(STAND_IN_NOTE)
    if stale_days is None:
        return
    old = stale(found, date.today(), stale_days)
    for row in old:
        when = f"last checked {row.checked}" if row.checked else "never checked"
        console.print(f"[yellow]{row.id}.yaml: {when}; read {row.source or 'its source'} again[/]")
    if old:
        raise click.exceptions.Exit(1)
    console.print(f"Every file was checked at its source in the last {stale_days} days.")


@platforms.command("list", help="Every platform: its kind, channels, deadline and legal bases.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def platforms_list(as_json: bool) -> None:
    rows = summaries(current_catalogue())
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
