"""Queueing a case's requests, and what a caseworker does to one request: ``queue``, ``status``,
``mark-sent``, ``package``, ``retry``, ``withdraw``.
"""

from __future__ import annotations

import click

from takedown.cases.fields import clean_text
from takedown.cases.queueing import links_without_platform, queue_case
from takedown.cases.reading import case_status
from takedown.cases.requests import find_request, mark_sent_by_caseworker, requeue, withdraw_request
from takedown.cases.service import find_case
from takedown.catalogue.bases import deadline_hours
from takedown.cli.context import (
    BROKER_DOWN,
    console,
    current_catalogue,
    current_legal,
    current_settings,
    find_abuse_contacts,
    open_database,
    print_json,
    record_request,
)
from takedown.cli.errors import user_errors
from takedown.cli.tables import minor_routes_view, status_view
from takedown.store.audit import record


@click.command("queue", help="Queue one removal request per link of a case for delivery.")
@click.argument("case_id")
@click.option(
    "--basis",
    type=click.Choice(["dsa", "take_it_down", "dmca", "terms"]),
    help="The law or policy every notice invokes, instead of the one chosen per platform.",
)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def queue(case_id: str, basis: str | None, as_json: bool) -> None:
    from takedown.worker.publish import publish_now

    problem = current_settings().notifier_problem()
    if problem:
        raise click.ClickException(problem)
    catalogue = current_catalogue()
    with open_database() as session:
        found = find_case(session, case_id)
        hosts = {item.id: item.host for item in links_without_platform(found)}
    contacts = find_abuse_contacts(hosts, as_json)
    with open_database() as session:
        found = find_case(session, case_id)
        queued = queue_case(session, found, catalogue, current_legal(), basis, contacts)
        record(
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
        print_json(data)
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


@click.command("status", help="A case, its links and their requests.")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def status(case_id: str, as_json: bool) -> None:
    with open_database() as session:
        found = find_case(session, case_id)
        data = case_status(found, current_catalogue())
        # Reading a victim's case is an action too: the log says who looked.
        record(session, "case viewed", found.id)
    if as_json:
        print_json(data)
        return
    console.print(status_view(data))
    if data["minor"]:
        console.print(
            minor_routes_view(current_legal().routes_for(data["country"]), data["country"])
        )


@click.command("mark-sent", help="Record a request a caseworker submitted (or confirmed) by hand.")
@click.argument("request_id")
@click.option("--ticket", help="The platform's reference number for the report.")
@user_errors
def mark_sent(request_id: str, ticket: str | None) -> None:
    ticket = clean_text("--ticket", ticket) if ticket is not None else None
    catalogue = current_catalogue()
    with open_database() as session:
        request = find_request(session, request_id)
        platform = catalogue.platforms.get(request.platform_id)
        hours = deadline_hours(request.legal_basis, platform, current_legal()) if platform else None
        mark_sent_by_caseworker(session, request, ticket, hours)
        record_request(session, "marked sent", request)
        rid = request.id
    console.print(f"Request {rid} recorded as sent" + (f", ticket {ticket}." if ticket else "."))


@click.command("package", help="Show what to paste for a request that must be submitted by hand.")
@click.argument("request_id")
@user_errors
def package(request_id: str) -> None:
    with open_database() as session:
        request = find_request(session, request_id)
        text = request.package
        record_request(session, "package viewed", request)
    if not text:
        raise click.ClickException(f"request {request_id} has no manual package")
    click.echo(text)


@click.command("retry", help="Send a failed or ambiguous request again, after checking why.")
@click.argument("request_id")
@user_errors
def retry(request_id: str) -> None:
    from takedown.catalogue.platforms import platform_of
    from takedown.worker.publish import publish_now

    settings = current_settings()
    with open_database() as session:
        request = find_request(session, request_id)
        platform = platform_of(request, settings)
        first = platform.channel_order(request.item.case.synthetic)[0]
        first_channel = platform.channels[first].type
        requeue(session, request, first, first_channel)
        record_request(session, "retried", request)
        rid = request.id
    console.print(f"Request {rid} queued again, from its {first_channel} channel.")
    if not publish_now([rid]):
        console.print(BROKER_DOWN)


@click.command("withdraw", help="Cancel a request that has not been sent.")
@click.argument("request_id")
@user_errors
def withdraw(request_id: str) -> None:
    with open_database() as session:
        request = find_request(session, request_id)
        withdraw_request(session, request)
        record_request(session, "withdrawn", request)
        rid = request.id
    console.print(f"Request {rid} withdrawn.")
