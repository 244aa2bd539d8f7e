"""``takedown notice ...``: preview a request's notice, lint every template, change its law."""

from __future__ import annotations

import click

from takedown.cases.requests import check_caseworker_action, find_request
from takedown.catalogue.bases import choose_basis, facts_of
from takedown.catalogue.legal import LegalError
from takedown.cli.context import (
    console,
    current_legal,
    current_settings,
    open_database,
    record_request,
)
from takedown.cli.errors import user_errors
from takedown.safety.sandbox import RenderError


@click.group(help="The notice a request sends: preview it, check every template, change its law.")
def notice() -> None:
    pass


@notice.command("preview", help="Render a request's notice and check it against its legal basis.")
@click.argument("request_id")
@user_errors
def notice_preview(request_id: str) -> None:
    from takedown.catalogue.platforms import platform_of
    from takedown.notices.builder import compose, notice_context

    settings = current_settings()
    with open_database() as session:
        request = find_request(session, request_id)
        platform = platform_of(request, settings)
        case = request.item.case
        basis = request.legal_basis or "terms"
        choice = choose_basis(facts_of(case), platform, current_legal())
        context = notice_context(case.reference, request.item.url, platform, settings)
        try:
            text = compose(request, platform, settings, context)
        except (RenderError, LegalError) as error:
            raise click.ClickException(f"request {request.id[:8]}: {error}") from None
        record_request(session, "notice viewed", request)
    console.print(f"[bold]Legal basis:[/] {current_legal().basis(basis).name} ({basis})")
    if basis == choice.basis:
        for reason in choice.passed_over:
            console.print(f"[dim]not chosen: {reason}[/]", highlight=False)
    else:
        console.print(f"[dim]set by a caseworker; {choice.basis} would be chosen now[/]")
    console.print("[bold green]Every element the basis requires is in the notice.[/]")
    console.print(f"\n[bold]Subject:[/] {text.subject}\n", highlight=False)
    click.echo(text.body)


@notice.command(
    "lint",
    help="Render every legal basis in every language; exit non-zero if one lacks an element.",
)
@user_errors
def notice_lint() -> None:
    from takedown.notices.samples import sample_notices

    failures = 0
    for what, problem in sample_notices(current_settings()):
        if problem is None:
            console.print(f"[green]ok[/]    {what}", highlight=False)
        else:
            failures += 1
            console.print(f"[red]FAIL[/]  {what}: {problem}", highlight=False)
    if failures:
        raise click.ClickException(f"{failures} notice(s) lack an element their basis requires")


@notice.command("basis", help="Change the law a request's notice invokes, before it is sent.")
@click.argument("request_id")
@click.argument("basis", type=click.Choice(["dsa", "take_it_down", "dmca", "terms"]))
@user_errors
def notice_basis(request_id: str, basis: str) -> None:
    from takedown.catalogue.platforms import platform_of

    with open_database() as session:
        request = find_request(session, request_id)
        platform = platform_of(request, current_settings())
        check_caseworker_action(request, "withdraw")  # only while not yet sent
        choose_basis(facts_of(request.item.case), platform, current_legal(), basis)
        request.legal_basis = basis
        record_request(session, "basis changed", request, basis)
        rid = request.id
    console.print(f"Request {rid[:8]} will invoke {current_legal().basis(basis).name}.")
