"""``takedown notice ...``: preview a request's notice, lint every template, change its law."""

from __future__ import annotations

import click

from takedown.cases.requests import change_basis, find_request, preview_notice
from takedown.catalogue.bases import PREFERENCE
from takedown.cli.context import (
    STAND_IN_NOTE,
    acting_user,
    console,
    current_legal,
    current_settings,
    open_database,
)
from takedown.cli.errors import CommandError, user_errors


@click.group(help="The notice a request sends: preview it, check every template, change its law.")
def notice() -> None:
    pass


@notice.command("preview", help="Render a request's notice and check it against its legal basis.")
@click.argument("request_id")
@user_errors
def notice_preview(request_id: str) -> None:
    settings = current_settings()
    with open_database() as session:
        request = find_request(session, request_id)
        preview = preview_notice(session, request, settings, actor=acting_user())
    console.print(f"[bold]Legal basis:[/] {preview.basis_name} ({preview.basis})")
    if preview.basis == preview.chosen_now:
        for reason in preview.passed_over:
            console.print(f"[dim]not chosen: {reason}[/]", highlight=False)
    else:
        console.print(f"[dim]set by a caseworker; {preview.chosen_now} would be chosen now[/]")
    console.print("[bold green]Every element the basis requires is in the notice.[/]")
    console.print(f"\n[bold]Subject:[/] {preview.notice.subject}\n", highlight=False)
    click.echo(preview.notice.body)


@notice.command(
    "lint",
    help="Render every legal basis in every language; exit non-zero if one lacks an element.",
)
@user_errors
def notice_lint() -> None:
    from takedown.notices.builder import checking_notifier
    from takedown.notices.samples import sample_notices

    settings = current_settings()
    failures = 0
    for what, problem in sample_notices(settings):
        if problem is None:
            console.print(f"[green]ok[/]    {what}", highlight=False)
        else:
            failures += 1
            console.print(f"[red]FAIL[/]  {what}: {problem}", highlight=False)
    if checking_notifier(settings).stand_in:
        console.print(STAND_IN_NOTE)
    if failures:
        raise CommandError(f"{failures} notice(s) lack an element their basis requires")


@notice.command("basis", help="Change the law a request's notice invokes, before it is sent.")
@click.argument("request_id")
@click.argument("basis", type=click.Choice(PREFERENCE))
@user_errors
def notice_basis(request_id: str, basis: str) -> None:
    with open_database() as session:
        request = find_request(session, request_id)
        change_basis(session, request, basis, current_settings(), actor=acting_user())
        rid = request.id
    console.print(f"Request {rid[:8]} will invoke {current_legal().basis(basis).name}.")
