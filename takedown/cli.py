"""The caseworker's commands. Each is thin: parse, call a plain function, show the result.

Command names, flags and JSON keys are a contract (see README): add, never rename.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
import yaml
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.exc import OperationalError as DatabaseUnavailable
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from takedown import alerts as alerts_
from takedown import audit, cases, erasure, lifecycle
from takedown.config import Settings, get_settings
from takedown.crypto import KeyProblem, keyring
from takedown.db import migrate, session_scope
from takedown.fallback import Suggestion
from takedown.legal import (
    Facts,
    Legal,
    LegalError,
    choose_basis,
    deadline_hours,
    legal_for,
)
from takedown.models import RemovalRequest, utcnow
from takedown.platforms import Catalogue, Platform, PlatformFileError, catalogue_for
from takedown.redact import install_log_redaction
from takedown.render import RenderError
from takedown.states import TransitionError
from takedown.views import (
    cases_view,
    minor_routes_view,
    overdue_view,
    platforms_view,
    status_view,
)

F = TypeVar("F", bound=Callable[..., Any])

console = Console()
BROKER_DOWN = (
    "[yellow]The broker cannot be reached now. The requests are saved and the sweeper "
    "will send them once a worker and the broker are running.[/]"
)
USER_ERRORS = (
    cases.InputError,
    KeyProblem,
    erasure.ErasureRefused,
    cases.CaseNotFound,
    lifecycle.RequestNotFound,
    TransitionError,
    PlatformFileError,
    alerts_.AlertError,
    LegalError,
)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:
        first = error.errors()[0]
        if not first["loc"]:  # a rule across settings names its variables itself
            raise click.ClickException(str(first["msg"]).removeprefix("Value error, ")) from None
        name = "TAKEDOWN_" + "_".join(str(part) for part in first["loc"]).upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        raise click.ClickException(f"{name}: {message}") from None


def user_errors(command: F) -> F:
    """Turn a caseworker's mistake into one clear line instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as error:
            raise click.ClickException(str(error)) from None
        except StaleDataError:
            raise click.ClickException(
                "the request changed while you were acting on it (a worker or another "
                "caseworker got there first); look again with takedown status"
            ) from None
        except IntegrityError:
            raise click.ClickException(
                "someone else changed this case at the same moment; look again with takedown status"
            ) from None
        except DatabaseUnavailable as error:
            raise click.ClickException(
                f"the database cannot be used (TAKEDOWN_DATABASE_URL): {_first_line(error)}"
            ) from None
        except SQLAlchemyError as error:
            # The driver's own words only: SQLAlchemy's text adds the statement over several
            # lines. Parameters are hidden by the engine, so this names no victim and no link.
            raise click.ClickException(
                f"the database refused the change: {_first_line(error)}"
            ) from None

    return wrapper  # type: ignore[return-value]


def _record_request(
    session: Session, action: str, request: RemovalRequest, detail: str | None = None
) -> None:
    audit.record(session, action, request.item.case_id, request.id, detail)


def _first_line(error: SQLAlchemyError) -> str:
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


@contextmanager
def _database() -> Iterator[Session]:
    """A session on the configured database, migrated to the newest schema."""
    _settings()
    keyring()  # a missing or malformed key is refused before anything is read or stored
    migrate()
    with session_scope() as session:
        yield session


def _catalogue() -> Catalogue:
    return catalogue_for(_settings().platforms_dir)


def _find_abuse_contacts(hosts: dict[str, str], quiet: bool) -> dict[str, Suggestion]:
    """Ask RDAP who hosts each link on no known platform (cached; one host asked once)."""
    from takedown.fallback import look_up, suggest

    settings = _settings()
    by_host: dict[str, Suggestion] = {}
    with console.status("Asking RDAP who hosts the links on no known platform…") as spinner:
        if quiet:
            spinner.stop()
        for host in set(hosts.values()):
            by_host[host] = suggest(look_up(host, settings))
    return {item_id: by_host[host] for item_id, host in hosts.items()}


def _legal() -> Legal:
    return legal_for(_settings().legal_dir)


def _rehearsed_catalogue(settings: Settings) -> Catalogue:
    from takedown.delivery import rehearse

    catalogue = Catalogue.load(settings.platforms_dir)
    if not catalogue.platforms:
        raise click.ClickException(f"{settings.platforms_dir}: no platform files (*.yaml)")
    for platform in catalogue.platforms.values():
        rehearse(platform, settings)
    return catalogue


def _json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(help="Get non-consensual intimate images taken down: cases, requests, workers.")
def main() -> None:
    install_log_redaction()


@main.group(help="Open cases and add the links to the material.")
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
    facts = Facts(country, minor, synthetic, victim_owns_copyright, victim_may_be_named)
    with _database() as session:
        opened = cases.open_case(session, victim_name, victim_email, language, minor, facts)
        cases.set_contact_details(opened, victim_phone, notes)
        audit.record(session, "case opened", opened.id)
        data = {"id": opened.id, "reference": opened.reference}
        country_code = opened.country
    if as_json:
        _json(data)
        return
    console.print(f"Opened case [bold cyan]{data['reference']}[/] (id {data['id']}).")
    if minor:
        console.print(minor_routes_view(_legal().routes_for(country_code), country_code))
    console.print(f"Next: takedown case add-urls {data['id']} URL [URL ...]")


@case.command("add-urls", help="Add links to a case; each is validated and matched to a platform.")
@click.argument("case_id")
@click.argument("urls", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def case_add_urls(case_id: str, urls: tuple[str, ...], as_json: bool) -> None:
    catalogue = _catalogue()
    with _database() as session:
        found = cases.find_case(session, case_id)
        added = cases.add_links(session, found, list(urls), catalogue)
        audit.record(
            session,
            "links added",
            found.id,
            detail=f"{len(added.added)} added, {len(added.already_there)} already in the case",
        )
        data: dict[str, list[Any]] = {
            "added": [{"url": i.url, "platform": i.platform_id} for i in added.added],
            "already_in_case": added.already_there,
            "no_known_platform": [i.url for i in added.unmatched],
        }
    if as_json:
        _json(data)
        return
    for entry in data["added"]:
        where = entry["platform"] or "[yellow]no known platform[/]"
        console.print(f"added  {entry['url']}  → {where}", highlight=False)
    for url in data["already_in_case"]:
        console.print(f"[dim]already in the case: {url}[/]", highlight=False)
    if data["no_known_platform"]:
        console.print(
            f"[yellow]{len(data['no_known_platform'])} link(s) match no platform file; they are "
            "kept in the case, but no request can be sent for them until one is added.[/]"
        )


@case.command(
    "update",
    help="Change a case: progress emails, and the facts that choose the law of its notices "
    "(for requests queued afterwards).",
)
@click.argument("case_id")
@click.option(
    "--notify/--no-notify", default=None, help="Send the victim progress emails, or stop."
)
@click.option("--country", help="The victim's country (ISO 3166, e.g. FI).")
@click.option("--synthetic/--real", default=None, help="AI-made, or real material.")
@click.option("--victim-owns-copyright/--victim-does-not-own-copyright", default=None)
@click.option("--victim-may-be-named/--victim-may-not-be-named", default=None)
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
    changes = {
        "notify": notify,
        "synthetic": synthetic,
        "victim_owns_copyright": victim_owns_copyright,
        "victim_may_be_named": victim_may_be_named,
    }
    given = [name for name, value in changes.items() if value is not None]
    given += [
        name
        for name, value in (("country", country), ("victim_phone", victim_phone), ("notes", notes))
        if value is not None
    ]
    if not given:
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    with _database() as session:
        found = cases.find_case(session, case_id)
        cases.refuse_if_erased(found)
        if country is not None:
            found.country = cases.country_code(country)
        cases.set_contact_details(found, victim_phone, notes)
        for name, value in changes.items():
            if value is not None:
                setattr(found, name, value)
        # Which fields changed, never their values.
        audit.record(session, "case updated", found.id, detail=", ".join(sorted(given)))
        reference = found.reference
    if notify is not None:
        state = "will get" if notify else "will no longer get"
        console.print(f"The victim of case {reference} {state} progress emails.")
    if country is not None or any(
        value is not None for name, value in changes.items() if name != "notify"
    ):
        console.print(f"Case {reference} updated; requests queued from now on use it.")


@case.command("list", help="Every case, newest first.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def case_list(as_json: bool) -> None:
    with _database() as session:
        rows = cases.list_cases(session)
    if as_json:
        _json(rows)
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
    with _database() as session:
        found = cases.find_case(session, case_id)
        erasure.close_case(session, found, utcnow())
        audit.record(session, "case closed", found.id)
        reference, days = found.reference, _settings().retention_days
    console.print(f"Case {reference} closed; it will be erased after {days:g} days.")


@case.command("reopen", help="Reopen a closed case (not an erased one).")
@click.argument("case_id")
@user_errors
def case_reopen(case_id: str) -> None:
    with _database() as session:
        found = cases.find_case(session, case_id)
        cases.refuse_if_erased(found)
        found.closed_at = None
        audit.record(session, "case reopened", found.id)
        reference = found.reference
    console.print(f"Case {reference} reopened.")


@case.command(
    "erase",
    help="Remove the victim's identity and the links for good, keeping only anonymous counts.",
)
@click.argument("case_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@user_errors
def case_erase(case_id: str, yes: bool) -> None:
    with _database() as session:
        reference = cases.find_case(session, case_id).reference
    if not yes:
        click.confirm(
            f"Erase case {reference}: the victim's identity, notes and links, for good?",
            abort=True,
        )
    with _database() as session:
        found = cases.find_case(session, case_id)
        summary = erasure.erase_case(session, found, utcnow())
        audit.record(session, "case erased", found.id)
    console.print(
        f"Case {reference} erased. Kept: {summary['links']} link(s) counted, "
        f"{summary['removed']} removed; no identity, no links."
    )


@main.command("audit", help="Who did what to a case, and when (caseworkers and workers).")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def audit_log(case_id: str, as_json: bool) -> None:
    with _database() as session:
        found = cases.find_case(session, case_id)
        entries = audit.history(session, found.id)
        reference = found.reference
    rows = [
        {
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "request": entry.request_id,
            "detail": entry.detail,
        }
        for entry in entries
    ]
    if as_json:
        _json(rows)
        return
    console.print(f"[bold]Audit log of case {reference}[/]")
    for entry in entries:
        request = f" {entry.request_id[:8]}" if entry.request_id else ""
        detail = f" ({entry.detail})" if entry.detail else ""
        console.print(
            f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor:<12} {entry.action}{request}{detail}",
            highlight=False,
        )


@main.group(help="The keys that encrypt victims' identities and links (TAKEDOWN_SECRET_KEY).")
def keys() -> None:
    pass


@keys.command("generate", help="Print a new key, to put first in TAKEDOWN_SECRET_KEY.")
def keys_generate() -> None:
    from takedown.crypto import generate_key

    click.echo(generate_key())


@keys.command(
    "rotate",
    help="Re-encrypt everything under the first key of TAKEDOWN_SECRET_KEY; afterwards the "
    "older keys can be removed.",
)
@user_errors
def keys_rotate() -> None:
    from takedown.db import get_engine
    from takedown.rekey import rotate

    _settings()
    migrate()
    ring = keyring()
    rotation = rotate(get_engine(), ring)
    with session_scope() as session:
        audit.record(session, "keys rotated", detail=f"{sum(rotation.values.values())} values")
    for column, count in rotation.values.items():
        console.print(f"{column}: {count} value(s) re-encrypted", highlight=False)
    console.print(f"items.url_hash: {rotation.link_hashes} link hash(es) recomputed")
    console.print(
        "Everything is now under the first key; the others can be removed from TAKEDOWN_SECRET_KEY."
    )


@main.command("queue", help="Queue one removal request per link of a case for delivery.")
@click.argument("case_id")
@click.option(
    "--basis",
    type=click.Choice(["dsa", "take_it_down", "dmca", "terms"]),
    help="The law or policy every notice invokes, instead of the one chosen per platform.",
)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def queue(case_id: str, basis: str | None, as_json: bool) -> None:
    from takedown.tasks import publish_now

    problem = _settings().notifier_problem()
    if problem:
        raise click.ClickException(problem)
    catalogue = _catalogue()
    with _database() as session:
        found = cases.find_case(session, case_id)
        hosts = {item.id: item.host for item in cases.links_without_platform(found)}
    contacts = _find_abuse_contacts(hosts, as_json)
    with _database() as session:
        found = cases.find_case(session, case_id)
        queued = cases.queue_case(session, found, catalogue, _legal(), basis, contacts)
        audit.record(
            session,
            "requests queued",
            found.id,
            detail=f"{len(queued.request_ids) + len(queued.awaiting_contact)} request(s)"
            + (f", basis {basis}" if basis else ""),
        )
    published = publish_now(queued.request_ids)
    data = {
        "queued": queued.request_ids,
        "already_requested": queued.already_requested,
        "no_known_platform": queued.no_platform,
        "awaiting_contact": queued.awaiting_contact,
        "broker_reached": published,
    }
    if as_json:
        _json(data)
        return
    console.print(f"Queued {len(queued.request_ids)} removal request(s).")
    if queued.already_requested:
        console.print(f"[dim]{queued.already_requested} link(s) already have a request.[/]")
    for url in queued.no_platform:
        console.print(f"[yellow]not queued (no known platform): {url}[/]", highlight=False)
    for request_id in queued.awaiting_contact:
        console.print(
            f"[yellow]link on no known platform: request {request_id[:8]} waits for you to "
            f"confirm its abuse contact (takedown status; takedown contact confirm)[/]"
        )
    if queued.request_ids and not published:
        console.print(BROKER_DOWN)


@main.command("status", help="A case, its links and their requests.")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def status(case_id: str, as_json: bool) -> None:
    with _database() as session:
        found = cases.find_case(session, case_id)
        data = cases.case_status(found, _catalogue())
        # Reading a victim's case is an action too: the log says who looked.
        audit.record(session, "case viewed", found.id)
    if as_json:
        _json(data)
        return
    console.print(status_view(data))
    if data["minor"]:
        console.print(minor_routes_view(_legal().routes_for(data["country"]), data["country"]))


@main.command("mark-sent", help="Record a request a caseworker submitted (or confirmed) by hand.")
@click.argument("request_id")
@click.option("--ticket", help="The platform's reference number for the report.")
@user_errors
def mark_sent(request_id: str, ticket: str | None) -> None:
    ticket = cases.clean_text("--ticket", ticket) if ticket is not None else None
    catalogue = _catalogue()
    with _database() as session:
        request = lifecycle.find_request(session, request_id)
        platform = catalogue.platforms.get(request.platform_id)
        hours = deadline_hours(request.legal_basis, platform, _legal()) if platform else None
        lifecycle.mark_sent_by_caseworker(session, request, ticket, hours)
        _record_request(session, "marked sent", request)
        rid = request.id
    console.print(f"Request {rid} recorded as sent" + (f", ticket {ticket}." if ticket else "."))


@main.command("package", help="Show what to paste for a request that must be submitted by hand.")
@click.argument("request_id")
@user_errors
def package(request_id: str) -> None:
    with _database() as session:
        request = lifecycle.find_request(session, request_id)
        text = request.package
        _record_request(session, "package viewed", request)
    if not text:
        raise click.ClickException(f"request {request_id} has no manual package")
    click.echo(text)


@main.command("retry", help="Send a failed or ambiguous request again, after checking why.")
@click.argument("request_id")
@user_errors
def retry(request_id: str) -> None:
    from takedown.delivery import platform_of
    from takedown.tasks import publish_now

    settings = _settings()
    with _database() as session:
        request = lifecycle.find_request(session, request_id)
        platform = platform_of(request, settings)
        first = platform.channel_order(request.item.case.synthetic)[0]
        first_channel = platform.channels[first].type
        lifecycle.requeue(session, request, first, first_channel)
        _record_request(session, "retried", request)
        rid = request.id
    console.print(f"Request {rid} queued again, from its {first_channel} channel.")
    if not publish_now([rid]):
        console.print(BROKER_DOWN)


@main.command("withdraw", help="Cancel a request that has not been sent.")
@click.argument("request_id")
@user_errors
def withdraw(request_id: str) -> None:
    with _database() as session:
        request = lifecycle.find_request(session, request_id)
        lifecycle.withdraw(session, request)
        _record_request(session, "withdrawn", request)
        rid = request.id
    console.print(f"Request {rid} withdrawn.")


@main.command("check", help="Check now whether links are still online; print what changed.")
@click.option("--case", "case_id", help="Only this case's links (default: every link watched).")
@user_errors
def check(case_id: str | None) -> None:
    from rich.progress import Progress

    from takedown.monitoring import check_now, items_to_check
    from takedown.tasks import publish_now

    settings = _settings()
    with _database() as session:
        # An empty --case (an unset shell variable) is no case, not every case.
        scope = cases.find_case(session, case_id).id if case_id is not None else None
        item_ids = items_to_check(session, settings, utcnow(), scope)
        if scope is not None:
            audit.record(session, "links checked", scope, detail=f"{len(item_ids)} link(s)")
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


@main.command(
    "alerts",
    help="What a caseworker must look at: content back online, failed or ambiguous "
    "requests, packages to submit by hand.",
)
@click.option("--ack", "acknowledge", type=int, help="Mark this alert as dealt with.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def alerts(acknowledge: int | None, as_json: bool) -> None:
    with _database() as session:
        if acknowledge is not None:
            case_of_alert = alerts_.acknowledge(session, acknowledge)
            audit.record(
                session, "alert acknowledged", case_of_alert, detail=f"alert {acknowledge}"
            )
        rows = alerts_.open_alerts(session)
    if as_json:
        _json(rows)
        return
    if acknowledge is not None:
        console.print(f"Alert {acknowledge} acknowledged.")
    for row in rows:
        console.print(
            f"[bold yellow]{row['id']}[/]  {row['case']}  {row['at'][:16]}  {row['what']}"
        )
    if not rows:
        console.print("No open alerts.")


@main.command("overdue", help="Requests past their platform's deadline, oldest first.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def overdue(as_json: bool) -> None:
    with _database() as session:
        rows = cases.overdue_requests(session)
    if as_json:
        _json(rows)
    else:
        console.print(overdue_view(rows))


@main.group(help="Platform definitions.")
def platforms() -> None:
    pass


@platforms.command("check", help="Validate every platform file; exit non-zero naming the problem.")
@user_errors
def platforms_check() -> None:
    settings = _settings()
    found = _rehearsed_catalogue(settings)
    console.print(f"{len(found.platforms)} platform file(s) in {settings.platforms_dir} are valid.")


@platforms.command("list", help="Every platform: its kind, channels, deadline and legal bases.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def platforms_list(as_json: bool) -> None:
    rows = [platform_summary(p) for p in sorted(_catalogue().platforms.values(), key=_by_name)]
    if as_json:
        _json(rows)
    else:
        console.print(platforms_view(rows))


@platforms.command("show", help="One platform's definition, as takedown reads it.")
@click.argument("platform_id")
@user_errors
def platforms_show(platform_id: str) -> None:
    platform = _catalogue().get(platform_id)
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


@main.group(help="Abuse contacts of links on no known platform.")
def contact() -> None:
    pass


@contact.command(
    "confirm",
    help="Confirm the abuse address RDAP suggested for a request (or give another with --to); "
    "the request is then sent.",
)
@click.argument("request_id")
@click.option("--to", help="The address to use instead of the suggested one.")
@user_errors
def contact_confirm(request_id: str, to: str | None) -> None:
    from takedown.fallback import confirm
    from takedown.tasks import publish_now

    with _database() as session:
        request = lifecycle.find_request(session, request_id)
        confirm(session, request, to)
        _record_request(
            session, "contact confirmed", request, "another address given" if to else None
        )
        rid, address = request.id, request.contact_to
    console.print(f"Request {rid[:8]} will be sent to {address}.")
    if not publish_now([rid]):
        console.print(BROKER_DOWN)


@main.group(help="The notice a request sends: preview it, check every template, change its law.")
def notice() -> None:
    pass


@notice.command("preview", help="Render a request's notice and check it against its legal basis.")
@click.argument("request_id")
@user_errors
def notice_preview(request_id: str) -> None:
    from takedown.delivery import platform_of
    from takedown.notices import compose, notice_context

    settings = _settings()
    with _database() as session:
        request = lifecycle.find_request(session, request_id)
        platform = platform_of(request, settings)
        case = request.item.case
        basis = request.legal_basis or "terms"
        choice = choose_basis(cases.facts_of(case), platform, _legal())
        context = notice_context(case.reference, request.item.url, platform, settings)
        try:
            text = compose(request, platform, settings, context)
        except (RenderError, LegalError) as error:
            raise click.ClickException(f"request {request.id[:8]}: {error}") from None
        _record_request(session, "notice viewed", request)
    console.print(f"[bold]Legal basis:[/] {_legal().basis(basis).name} ({basis})")
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
    from takedown.notices import sample_notices

    failures = 0
    for what, problem in sample_notices(_settings()):
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
    from takedown.delivery import platform_of

    with _database() as session:
        request = lifecycle.find_request(session, request_id)
        platform = platform_of(request, _settings())
        lifecycle.check_caseworker_action(request, "withdraw")  # only while not yet sent
        choose_basis(cases.facts_of(request.item.case), platform, _legal(), basis)
        request.legal_basis = basis
        _record_request(session, "basis changed", request, basis)
        rid = request.id
    console.print(f"Request {rid[:8]} will invoke {_legal().basis(basis).name}.")


@main.command("worker", help="Run a Celery worker (with the beat scheduler embedded when asked).")
@click.option("--beat", is_flag=True, help="Also run the beat scheduler (only ever one).")
@click.option("--concurrency", type=int, help="Worker processes or threads.")
@click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default="prefork")
@click.option("--loglevel", default="INFO")
@user_errors
def worker(beat: bool, concurrency: int | None, pool: str, loglevel: str) -> None:
    from takedown.celery_app import QUEUES, app_for, queue_name

    settings = _settings()
    keyring()  # refuse to start without the key that opens the victims' data
    migrate()
    _rehearsed_catalogue(settings)  # refuse to start on a broken platform file
    app = app_for(settings)
    argv = ["worker", f"--loglevel={loglevel}", f"--pool={pool}"]
    argv.append("--queues=" + ",".join(queue_name(settings, q) for q in QUEUES))
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if beat:
        argv.append("--beat")
    app.worker_main(argv)


@main.command("demo", help="The whole flow on local fake platforms (what `make demo` runs).")
def demo() -> None:
    from takedown.demo import run_demo

    sys.exit(run_demo(console))
