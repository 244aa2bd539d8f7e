"""Queueing a case's requests, and what a caseworker does to one request: ``queue``, ``status``,
``mark-sent``, ``package``, ``retry``, ``withdraw``.
"""

from __future__ import annotations

import click

from takedown.cases.queueing import hosts_to_ask, queue_case
from takedown.cases.reading import case_status
from takedown.cases.requests import (
    REMOVAL_EVIDENCE,
    confirm_reappeared,
    confirm_removed,
    find_request,
    mark_sent,
    package_of,
    retry_request,
    withdraw_request,
)
from takedown.cases.service import find_case
from takedown.catalogue.bases import PREFERENCE
from takedown.cli.context import (
    BROKER_DOWN,
    acting_user,
    console,
    current_catalogue,
    current_legal,
    current_settings,
    open_database,
    print_json,
)
from takedown.cli.errors import user_errors
from takedown.cli.tables import hash_programme_view, minor_routes_view, status_view


@click.command("queue", help="Queue one removal request per link of a case for delivery.")
@click.argument("case_id")
@click.option(
    "--basis",
    type=click.Choice(PREFERENCE),
    help="The law or policy every notice invokes, instead of the one chosen per platform.",
)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def queue(case_id: str, basis: str | None, as_json: bool) -> None:
    from takedown.contacts.abuse_contacts import suggestions_for
    from takedown.worker.publish import publish_now

    settings = current_settings()
    catalogue = current_catalogue()
    with open_database() as session:
        found = find_case(session, case_id)
        hosts = hosts_to_ask(found, settings, catalogue, current_legal(), basis=basis)
    with console.status("Asking RDAP who hosts the links on no known platform…") as spinner:
        if as_json:
            spinner.stop()
        contacts = suggestions_for(hosts, settings)
    with open_database() as session:
        found = find_case(session, case_id)
        queued = queue_case(
            session, found, catalogue, current_legal(), actor=acting_user(), basis=basis,
            contacts=contacts,
        )  # fmt: skip
    published = publish_now(queued.request_ids)
    if as_json:
        print_json(queued.read(broker_reached=published))
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
    programme = queued.read(broker_reached=published).hash_programme
    if programme is not None:
        console.print(hash_programme_view(programme))
    if queued.request_ids and not published:
        console.print(BROKER_DOWN)


@click.command("status", help="A case, its links and their requests.")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def status(case_id: str, as_json: bool) -> None:
    with open_database() as session:
        found = find_case(session, case_id)
        data = case_status(session, found, current_catalogue(), actor=acting_user())
    if as_json:
        print_json(data)
        return
    console.print(status_view(data))
    if data.minor:
        console.print(minor_routes_view(current_legal().routes_for(data.country), data.country))


@click.command("mark-sent", help="Record a request a caseworker submitted (or confirmed) by hand.")
@click.argument("request_id")
@click.option("--ticket", help="The platform's reference number for the report.")
@user_errors
def mark_sent_command(request_id: str, ticket: str | None) -> None:
    settings = current_settings()
    with open_database() as session:
        request = find_request(session, request_id)
        mark_sent(session, request, ticket, settings, actor=acting_user())
        rid = request.id
    given = f", ticket {ticket.strip()}." if ticket else "."
    console.print(f"Request {rid} recorded as sent{given}")


@click.command("package", help="Show what to paste for a request that must be submitted by hand.")
@click.argument("request_id")
@user_errors
def package(request_id: str) -> None:
    with open_database() as session:
        text = package_of(session, find_request(session, request_id), actor=acting_user())
    click.echo(text)


@click.command("retry", help="Send a failed or ambiguous request again, after checking why.")
@click.argument("request_id")
@user_errors
def retry(request_id: str) -> None:
    from takedown.worker.publish import publish_now

    settings = current_settings()
    with open_database() as session:
        request = find_request(session, request_id)
        channel = retry_request(session, request, settings, actor=acting_user())
        rid = request.id
    console.print(f"Request {rid} queued again, from its {channel} channel.")
    if not publish_now([rid]):
        console.print(BROKER_DOWN)


@click.command("withdraw", help="Cancel a request that has not been sent.")
@click.argument("request_id")
@user_errors
def withdraw(request_id: str) -> None:
    with open_database() as session:
        request = find_request(session, request_id)
        withdraw_request(session, request, actor=acting_user())
        rid = request.id
    console.print(f"Request {rid} withdrawn.")


@click.command(
    "mark-removed",
    help="Record that a sent request's content is gone, where a check cannot tell.",
)
@click.argument("request_id")
@click.option(
    "--because",
    "evidence",
    required=True,
    type=click.Choice(list(REMOVAL_EVIDENCE)),
    help="How you know: " + "; ".join(f"{key}: {words}" for key, words in REMOVAL_EVIDENCE.items()),
)
@user_errors
def mark_removed(request_id: str, evidence: str) -> None:
    with open_database() as session:
        request = find_request(session, request_id)
        confirm_removed(session, request, evidence, actor=acting_user())
        rid = request.id
    console.print(
        f"Request {rid}: its content is recorded as removed ({REMOVAL_EVIDENCE[evidence]}). "
        "The link is still watched in case it comes back."
    )


@click.command(
    "mark-reappeared",
    help="Record that removed content is back, where a check cannot tell it from a page shell.",
)
@click.argument("request_id")
@user_errors
def mark_reappeared(request_id: str) -> None:
    from takedown.worker.publish import publish_now

    settings = current_settings()
    with open_database() as session:
        request = find_request(session, request_id)
        new_id = confirm_reappeared(session, request, settings, actor=acting_user())
        rid = request.id
    if new_id is None:
        console.print(f"Request {rid}: its link is back online; no new request could be queued.")
        return
    console.print(f"Request {rid}: its link is back online; new request {new_id} is queued.")
    if not publish_now([new_id]):
        console.print(BROKER_DOWN)
