"""After requests went out: ``check``, ``alerts`` and ``overdue``."""

from __future__ import annotations

import click

from takedown.cases.reading import links_to_check, overdue_requests
from takedown.cases.service import find_case
from takedown.cli.context import (
    BROKER_DOWN,
    acting_user,
    console,
    current_settings,
    open_database,
    print_json,
)
from takedown.cli.errors import user_errors
from takedown.cli.tables import overdue_view
from takedown.messages.alerts import acknowledge as acknowledge_alert
from takedown.messages.alerts import open_alerts
from takedown.store.states import MessageState


@click.command("check", help="Check now whether links are still online; print what changed.")
@click.option("--case", "case_id", help="Only this case's links (default: every link watched).")
@user_errors
def check(case_id: str | None) -> None:
    from rich.progress import Progress

    from takedown.monitoring.visits import check_now
    from takedown.worker.publish import publish_now

    settings = current_settings()
    with open_database() as session:
        # An empty --case (an unset shell variable) is no case, not every case.
        scope = find_case(session, case_id) if case_id is not None else None
        item_ids = links_to_check(session, settings, scope, actor=acting_user())
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("checking links", total=len(item_ids))
        changes = check_now(item_ids, settings, lambda: progress.advance(task))
    console.print(f"Checked {len(item_ids)} link(s); {len(changes)} changed.")
    if any(change.new_request_id for change in changes):
        console.print("[bold yellow]Content came back online: see takedown alerts.[/]")
    for change in changes:
        console.print(f"  {change.url}: {change.what}", highlight=False)
    new_requests = [c.new_request_id for c in changes if c.new_request_id]
    if new_requests and not publish_now(new_requests):
        console.print(BROKER_DOWN)


@click.command(
    "alerts",
    help="What a caseworker must look at: content back online, failed or ambiguous "
    "requests, packages to submit by hand.",
)
@click.option("--ack", "acknowledge", type=int, help="Mark this alert as dealt with.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def alerts(acknowledge: int | None, as_json: bool) -> None:
    with open_database() as session:
        if acknowledge is not None:
            acknowledge_alert(session, acknowledge, actor=acting_user())
        rows = open_alerts(session)
    if as_json:
        print_json(rows)
        return
    if acknowledge is not None:
        console.print(f"Alert {acknowledge} acknowledged.")
    for row in rows:
        console.print(f"[bold yellow]{row.id}[/]  {row.case}  {row.at[:16]}  {row.what}")
        if row.email == MessageState.FAILED:
            console.print(f"      [red]not emailed: {row.email_error}[/]", highlight=False)
    if not rows:
        console.print("No open alerts.")


@click.command("overdue", help="Requests past their platform's deadline, oldest first.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def overdue(as_json: bool) -> None:
    with open_database() as session:
        rows = overdue_requests(session, actor=acting_user())
    if as_json:
        print_json(rows)
    else:
        console.print(overdue_view(rows))
