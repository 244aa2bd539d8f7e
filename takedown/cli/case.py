"""``takedown case ...``: open a case, add its links, change, list, close, reopen and erase it."""

from __future__ import annotations

import click

from takedown.cases.erasure import close_case, erase_case
from takedown.cases.links import add_links
from takedown.cases.reading import list_cases
from takedown.cases.service import (
    CONTACT_DETAILS,
    FACTS,
    CaseChanges,
    NewCase,
    find_case,
    open_case,
    reopen_case,
    update_case,
)
from takedown.cli.context import (
    acting_user,
    console,
    current_catalogue,
    current_legal,
    current_settings,
    open_database,
    print_json,
)
from takedown.cli.errors import user_errors
from takedown.cli.flags import yes_or_no
from takedown.cli.tables import cases_view, minor_routes_view
from takedown.store.columns import utcnow
from takedown.store.read_models import CaseOpened


@click.group(help="Open cases and add the links to the material.")
def case() -> None:
    pass


@case.command("new", help="Open a case for a victim.")
@click.option("--victim-email", required=True, help="Where the victim gets progress notices.")
@click.option(
    "--victim-name", required=True, help="Kept for the caseworker; never sent to a platform."
)
@click.option("--language", required=True, help="The victim's language: en, fi, sv or de.")
@click.option(
    "--minor", is_flag=True, help="The person depicted is a minor: nothing is downloaded."
)
@click.option(
    "--country", help="The victim's country (ISO 3166, e.g. FI): chooses the law notices cite."
)
@click.option("--synthetic", is_flag=True, help="The material is AI-made or manipulated.")
@click.option(
    "--victim-owns-copyright", is_flag=True, help="The victim took the image (e.g. a selfie)."
)
@click.option(
    "--victim-may-be-named",
    is_flag=True,
    help="The victim agrees to be named in a notice (needed for DMCA, which may be published).",
)
@click.option("--victim-phone", help="A phone number, for the caseworker only; never sent.")
@click.option("--notes", help="The caseworker's notes; stored encrypted, never sent.")
@click.option("--json", "as_json", is_flag=True, help="Print {id, reference} as JSON.")
@user_errors
def case_new(
    victim_email: str,
    victim_name: str,
    victim_phone: str | None,
    notes: str | None,
    language: str,
    minor: bool,
    country: str | None,
    synthetic: bool,
    victim_owns_copyright: bool,
    victim_may_be_named: bool,
    as_json: bool,
) -> None:
    new = NewCase(
        victim_name=victim_name,
        victim_email=victim_email,
        language=language,
        minor=minor,
        country=country,
        synthetic=synthetic,
        victim_owns_copyright=victim_owns_copyright,
        victim_may_be_named=victim_may_be_named,
        victim_phone=victim_phone,
        notes=notes,
    )
    with open_database() as session:
        opened = open_case(session, new, actor=acting_user())
        data = CaseOpened(id=opened.id, reference=opened.reference)
        country_code = opened.country
    if as_json:
        print_json(data)
        return
    console.print(f"Opened case [bold cyan]{data.reference}[/] (id {data.id}).")
    if minor:
        console.print(minor_routes_view(current_legal().routes_for(country_code), country_code))
    console.print(f"Next: takedown case add-urls {data.id} URL [URL ...]")


@case.command("add-urls", help="Add links to a case; each is validated and matched to a platform.")
@click.argument("case_id")
@click.argument("urls", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def case_add_urls(case_id: str, urls: tuple[str, ...], as_json: bool) -> None:
    catalogue = current_catalogue()
    with open_database() as session:
        found = find_case(session, case_id)
        data = add_links(session, found, list(urls), catalogue, actor=acting_user()).read()
    if as_json:
        print_json(data)
        return
    for entry in data.added:
        where = entry.platform or "[yellow]no known platform[/]"
        console.print(f"added  {entry.url}  → {where}", highlight=False)
    for url in data.already_in_case:
        console.print(f"[dim]already in the case: {url}[/]", highlight=False)
    if data.no_known_platform:
        console.print(
            f"[yellow]{len(data.no_known_platform)} link(s) match no platform file; they are "
            "kept in the case, but no request can be sent for them until one is added.[/]"
        )


@case.command(
    "update",
    help="Change a case: progress emails, and the facts that choose the law of its notices "
    "(for requests queued afterwards).",
)
@click.argument("case_id")
@yes_or_no("--notify", "--no-notify", help="Send the victim progress emails (or stop).")
@click.option("--country", help="The victim's country (ISO 3166, e.g. FI).")
@yes_or_no("--synthetic", "--real", help="AI-made (or real) material.")
@yes_or_no(
    "--victim-owns-copyright",
    "--victim-does-not-own-copyright",
    help="The victim took the image (or did not).",
)
@yes_or_no(
    "--victim-may-be-named",
    "--victim-may-not-be-named",
    help="The victim agrees to be named in a notice (or not).",
)
@click.option("--victim-phone", help="A phone number, for the caseworker only; never sent.")
@click.option("--notes", help="The caseworker's notes (replacing the earlier ones).")
@user_errors
def case_update(
    case_id: str,
    victim_phone: str | None,
    notes: str | None,
    notify: bool | None,
    country: str | None,
    synthetic: bool | None,
    victim_owns_copyright: bool | None,
    victim_may_be_named: bool | None,
) -> None:
    changes = CaseChanges(
        notify=notify,
        country=country,
        synthetic=synthetic,
        victim_owns_copyright=victim_owns_copyright,
        victim_may_be_named=victim_may_be_named,
        victim_phone=victim_phone,
        notes=notes,
    )
    if not changes.given():
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    with open_database() as session:
        found = find_case(session, case_id)
        changed = update_case(session, found, changes, actor=acting_user())
        reference = found.reference
    if notify is not None:
        state = "will get" if notify else "will no longer get"
        console.print(f"The victim of case {reference} {state} progress emails.")
    if any(name in FACTS for name in changed):
        console.print(f"Case {reference} updated; requests queued from now on use it.")
    details = [CONTACT_WORDS[name] for name in CONTACT_DETAILS if name in changed]
    if details:
        console.print(f"Case {reference}: {' and '.join(details)} saved.")


CONTACT_WORDS = {"victim_phone": "the victim's phone", "notes": "the caseworker's notes"}


@case.command("list", help="Every case, newest first.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def case_list(as_json: bool) -> None:
    with open_database() as session:
        rows = list_cases(session)
    if as_json:
        print_json(rows)
    else:
        console.print(cases_view(rows))


@case.command(
    "close",
    help="Close a case: its links are no longer checked, and it is erased "
    "after TAKEDOWN_RETENTION_DAYS.",
)
@click.argument("case_id")
@user_errors
def case_close(case_id: str) -> None:
    with open_database() as session:
        found = find_case(session, case_id)
        closed = close_case(session, found, utcnow(), actor=acting_user())
        reference, days, since = found.reference, current_settings().retention_days, found.closed_at
    if not closed and since is not None:
        console.print(f"Case {reference} was closed already, on {since:%Y-%m-%d}; nothing changed.")
        return
    console.print(f"Case {reference} closed; it will be erased after {days:g} days.")


@case.command("reopen", help="Reopen a closed case (not an erased one).")
@click.argument("case_id")
@user_errors
def case_reopen(case_id: str) -> None:
    with open_database() as session:
        found = find_case(session, case_id)
        reopened = reopen_case(session, found, actor=acting_user())
        reference = found.reference
    if not reopened:
        console.print(f"Case {reference} is open; nothing changed.")
        return
    console.print(f"Case {reference} reopened.")


@case.command(
    "erase",
    help="Remove the victim's identity and the links for good, keeping only anonymous counts.",
)
@click.argument("case_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@user_errors
def case_erase(case_id: str, yes: bool) -> None:
    with open_database() as session:
        reference = find_case(session, case_id).reference
    if not yes:
        click.confirm(
            f"Erase case {reference}: the victim's identity, notes and links, for good?",
            abort=True,
        )
    with open_database() as session:
        found = find_case(session, case_id)
        summary = erase_case(session, found, utcnow(), actor=acting_user())
    console.print(
        f"Case {reference} erased. Kept: {summary['links']} link(s) counted, "
        f"{summary['removed']} removed; no identity, no links."
    )
