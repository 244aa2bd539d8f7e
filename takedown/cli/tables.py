"""How cases and requests look to a caseworker in a terminal (rich)."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from takedown.catalogue.abuse_contact import ABUSE_CONTACT
from takedown.catalogue.legal import Route
from takedown.catalogue.platforms import PlatformSummary
from takedown.store.read_models import (
    CaseStatus,
    CaseSummary,
    HashProgramme,
    OverdueRequest,
    RequestStatus,
)
from takedown.store.states import RequestState

S = RequestState
STATE_STYLES: dict[str, str] = {
    S.QUEUED: "cyan",
    S.SENDING: "cyan",
    S.RETRYING: "yellow",
    S.SENT: "green",
    S.FAILED: "bold red",
    S.AMBIGUOUS: "bold magenta",
    S.AWAITING_CASEWORKER: "bold yellow",
    S.WITHDRAWN: "dim",
    S.REMOVED: "bold green",
    S.OVERDUE: "bold red",
    S.ESCALATED: "bold yellow",
}


SEARCH_ENGINE_NOTE = "search engine: de-indexing hides the result; the content stays on its site"


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def _short_url(url: str, width: int = 48) -> str:
    return url if len(url) <= width else url[: width - 1] + "…"


def _what_next(request: RequestStatus) -> str:
    state = request.state
    if state == RequestState.RETRYING:
        return f"next try {_when(request.next_attempt_at)}: {request.last_error or ''}"
    if state == RequestState.SENT:
        return f"deadline {_when(request.deadline_at)}" if request.deadline_at else ""
    if state == RequestState.AWAITING_CASEWORKER and request.platform == ABUSE_CONTACT:
        suggested = request.contact_to or "none found: give one with --to"
        return (
            f"confirm the abuse contact {suggested}: takedown contact confirm "
            f"{request.id[:8]}\n({request.contact_note})"
        )
    if state == RequestState.AWAITING_CASEWORKER:
        return f"submit by hand: takedown package {request.id[:8]}"
    return request.last_error or ""


def status_view(status: CaseStatus) -> Group:
    heading = Text.assemble(
        ("Case ", "bold"),
        (status.reference, "bold cyan"),
        f"  id {status.id}  language {status.language}  opened {_when(status.created_at)}",
    )
    if status.erased_at:
        return Group(
            heading,
            Text(
                f"Erased {_when(status.erased_at)}: no identity and no links are kept, "
                "only the counts (takedown audit shows who did what).",
                style="yellow",
            ),
        )
    if status.closed_at:
        heading.append(f"  closed {_when(status.closed_at)}", style="yellow")
    table = Table(expand=True, show_lines=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("link → platform", overflow="fold", min_width=20, ratio=3)
    table.add_column("request", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("ticket", overflow="fold", min_width=6)
    table.add_column("what next", overflow="fold", min_width=16, ratio=2)
    for number, item in enumerate(status.items, start=1):
        platform = item.platform or "[yellow]no known platform[/]"
        checked = (
            f"{item.status}, checked {_when(item.last_checked)}"
            if item.last_checked
            else "not checked yet"
        )
        # A link is text from outside: "[/]" in its query must print, not parse as markup.
        where = f"{escape(_short_url(item.url))}\n→ {platform} ({checked})"
        if item.last_check:
            # What the latest check saw: why it could not tell (a private page, an expired
            # link) is what the caseworker acts on.
            where += f"\n[dim]{escape(item.last_check)}[/]"
        if item.kind == "search_engine":
            where += f"\n[yellow]{SEARCH_ENGINE_NOTE}[/]"
        if not item.requests:
            hint = "not queued yet" if item.platform else "report it by hand for now"
            table.add_row(str(number), where, "", "", "", hint)
        for request in item.requests:
            state = Text(request.state, style=STATE_STYLES.get(request.state, ""))
            tries = "1 try" if request.attempts == 1 else f"{request.attempts} tries"
            state.append(f"\n{tries}, {request.channel}, {request.legal_basis}", style="dim")
            table.add_row(
                str(number),
                where,
                request.id[:8],
                state,
                Text(request.ticket or ""),
                Text(_what_next(request)),
            )
    return Group(heading, table)


def cases_view(cases: list[CaseSummary]) -> Table:
    table = Table(expand=True)
    for column in ("reference", "id", "language", "opened", "links", "requests sent"):
        table.add_column(column)
    for case in cases:
        table.add_row(
            case.reference,
            case.id,
            case.language,
            _when(case.created_at),
            str(case.links),
            str(case.sent),
        )
    return table


def overdue_view(rows: list[OverdueRequest]) -> Table:
    table = Table(expand=True, title="Overdue requests, oldest deadline first")
    for column in ("case", "platform", "request", "ticket", "deadline", "link"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.case,
            row.platform,
            row.id[:8],
            Text(row.ticket or ""),
            _when(row.deadline_at),
            Text(_short_url(row.url)),
        )
    return table


def minor_routes_view(routes: list[Route], country: str | None) -> Group:
    """The specialised routes for a case involving a child. takedown never uses them itself:
    the child, a parent or the caseworker does, and some keep the image on the family's
    own device."""
    where = f" (country {country})" if country else " (no country set: general routes only)"
    lines = [
        Text.assemble(
            ("This case involves a child", "bold yellow"),
            f"{where}. Nothing is downloaded. Also use these specialised routes:",
        )
    ]
    for route in routes:
        lines.append(Text.assemble("- ", (route.name, "bold"), f": {route.url}"))
        lines.append(Text(f"  {route.what} Who: {route.who}", style="dim"))
    return Group(*lines)


def platforms_view(rows: list[PlatformSummary]) -> Table:
    table = Table(expand=True, title="Platforms")
    for column in ("id", "name", "kind", "channels", "deadline", "legal bases", "checked"):
        table.add_column(column, overflow="fold")
    for row in rows:
        kind = "[yellow]search engine[/]" if row.kind == "search_engine" else "host"
        table.add_row(
            row.id,
            Text(row.name),
            kind,
            ", ".join(row.channels),
            f"{row.deadline_hours:g} h",
            ", ".join(row.legal_bases),
            row.checked or "",
        )
    return table


def hash_programme_view(programme: HashProgramme) -> Text:
    """StopNCII.org (or Take It Down for a child), pointed out once per case."""
    text = Text(f"\n{programme.name} ({programme.url}): ", style="bold")
    text.append(f"{', '.join(programme.platforms)} take part. ", style="")
    text.append(programme.what)
    text.append(
        " The victim's message about the sent requests mentions it too (if they get "
        "messages), without naming the platforms."
    )
    return text
