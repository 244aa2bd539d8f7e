"""``takedown contact confirm``: the abuse contact of a link on no known platform."""

from __future__ import annotations

import click

from takedown.cases.requests import confirm_contact, find_request
from takedown.cli.context import BROKER_DOWN, acting_user, console, open_database
from takedown.cli.errors import user_errors


@click.group(help="Abuse contacts of links on no known platform.")
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
    from takedown.worker.publish import publish_now

    with open_database() as session:
        request = find_request(session, request_id)
        confirm_contact(session, request, to, actor=acting_user())
        rid, address = request.id, request.contact_to
    console.print(f"Request {rid[:8]} will be sent to {address}.")
    if not publish_now([rid]):
        console.print(BROKER_DOWN)
