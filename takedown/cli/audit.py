"""``takedown audit CASE``: who did what to a case, and when."""

from __future__ import annotations

from datetime import datetime

import click

from takedown.cases.service import find_case
from takedown.cli.context import console, open_database, print_json
from takedown.cli.errors import user_errors
from takedown.safety.safetext import printable
from takedown.store.audit import history


@click.command("audit", help="Who did what to a case, and when (caseworkers and workers).")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def audit_log(case_id: str, as_json: bool) -> None:
    with open_database() as session:
        found = find_case(session, case_id)
        entries = history(session, found.id)
        reference = found.reference
    if as_json:
        print_json(entries)
        return
    console.print(f"[bold]Audit log of case {reference}[/]")
    for entry in entries:
        at = datetime.fromisoformat(entry.at)
        request = f" {entry.request[:8]}" if entry.request else ""
        detail = f" ({entry.detail})" if entry.detail else ""
        line = f"{at:%Y-%m-%d %H:%M:%S}  {entry.actor:<12} {entry.action}{request}{detail}"
        # One entry, one line, as stored: a control character (a line break, an escape
        # sequence) is shown escaped and rich markup is not interpreted, so no stored value
        # can forge a line or repaint the terminal, whatever wrote it.
        click.echo(printable(line, limit=1000))
