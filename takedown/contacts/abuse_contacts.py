"""Links on no known platform: a request to the hosting provider's (or the registrar's)
abuse address, found through RDAP and confirmed by a caseworker before anything is sent.

Registry data can be out of date or name the wrong party, so a derived address is only ever
a suggestion: the request waits in ``awaiting_caseworker`` until a caseworker confirms it
(or gives a better one) with ``takedown contact confirm``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from takedown.catalogue.abuse_contact import ABUSE_CONTACT
from takedown.config import Settings
from takedown.contacts.rdap import Contacts, find_contacts
from takedown.delivery.lifecycle import move
from takedown.errors import Conflict, InputError
from takedown.messages.alerts import settle_for_request
from takedown.safety.netguard import new_session
from takedown.safety.safetext import email_problem, printable
from takedown.store.models import Item, RemovalRequest
from takedown.store.states import RequestState


@dataclass(frozen=True)
class Suggestion:
    """The address to propose to the caseworker, and where it came from, in words."""

    to: str | None
    note: str


def look_up(host: str, settings: Settings) -> Contacts:
    return find_contacts(
        host,
        bootstrap_url=settings.rdap_bootstrap_url,
        session=new_session(settings.allow_private_targets),
        cache_hours=settings.rdap_cache_hours,
        timeout=(settings.http_connect_timeout_seconds, settings.http_read_timeout_seconds),
    )


def suggestions_for(hosts: dict[str, str], settings: Settings) -> dict[str, Suggestion]:
    """For links on no known platform (host by link id), the abuse address to suggest for
    each. One host is asked once, and RDAP answers are cached: a case with many links on one
    host asks its registry once."""
    by_host = {host: suggest(look_up(host, settings)) for host in set(hosts.values())}
    return {item_id: by_host[host] for item_id, host in hosts.items()}


def suggest(contacts: Contacts) -> Suggestion:
    """The hosting provider first (it can remove the file), then the registrar (it can only
    act on the domain); both, and any problem, in the note the caseworker reads."""
    parts = []
    for role, contact in (
        ("hosting provider", contacts.hosting),
        ("registrar", contacts.registrar),
    ):
        if contact is not None:
            # A registry's words end up in the caseworker's terminal: one line, no escapes.
            who = f" ({printable(contact.organisation, 120)})" if contact.organisation else ""
            parts.append(f"{role}{who}: {contact.email} [{contact.how}; {contact.source}]")
    parts += contacts.problems
    chosen = contacts.hosting or contacts.registrar
    note = "; ".join(parts) or "RDAP named nobody"
    return Suggestion(chosen.email if chosen else None, note)


def new_contact_request(
    session: Session, item: Item, suggestion: Suggestion, basis: str
) -> RemovalRequest:
    """A request to a derived abuse address, waiting for a caseworker to confirm it."""
    request = RemovalRequest(
        item=item,
        platform_id=ABUSE_CONTACT,
        channel_index=0,
        channel="email",
        state=RequestState.PENDING,
        legal_basis=basis,
        contact_to=suggestion.to,
        contact_note=suggestion.note,
    )
    session.add(request)
    session.flush()
    move(session, request, RequestState.AWAITING_CASEWORKER, "abuse contact to be confirmed")
    return request


def confirm(session: Session, request: RemovalRequest, to: str | None) -> None:
    """A caseworker checked the address (or gave another): the request may now be sent."""
    if request.platform_id != ABUSE_CONTACT:
        raise Conflict(
            f"request {request.id[:8]} goes to a known platform; there is no contact to confirm"
        )
    if request.state != RequestState.AWAITING_CASEWORKER:
        raise Conflict(
            f"request {request.id[:8]} is {request.state}; only a request awaiting its "
            "contact can be confirmed"
        )
    if to is not None and not to.strip():
        raise InputError("must not be empty", field="to")
    address = (to or request.contact_to or "").strip()
    if not address:
        raise InputError("RDAP found no address for this host: give one with {field}", field="to")
    problem = email_problem(address)
    if problem:
        raise InputError(problem, field="to")
    if to:
        request.contact_note = f"given by the caseworker; RDAP said: {request.contact_note}"
    request.contact_to = address
    settle_for_request(session, request.id)
    move(session, request, RequestState.QUEUED, f"abuse contact {address} confirmed")
