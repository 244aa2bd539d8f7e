"""What a caseworker does with a case: open it, add links, queue requests, read its status.

Input is validated in full before anything is stored, so a mistake in one link of ten
stores none of them and the caseworker can correct the command and run it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pycountry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from takedown.config import get_settings
from takedown.crypto import keyring
from takedown.db import find_by_id_prefix
from takedown.fallback import Suggestion, contact_platform, new_contact_request
from takedown.legal import Facts, Legal, LegalError, choose_basis, legal_for
from takedown.lifecycle import move
from takedown.links import LinkError, host_of, normalise_link, refuse_private_host
from takedown.models import Case, Item, RemovalRequest
from takedown.platforms import LANGUAGES, Catalogue, Platform
from takedown.safetext import email_problem, line_problem, shown
from takedown.states import RequestState

# Far beyond any real name or ticket; a longer value is a paste gone wrong.
MAX_TEXT_CHARS = 500
# International or national format: digits with spaces, dashes, dots or brackets.
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,30}$")
MAX_NOTES_CHARS = 10_000


class InputError(ValueError):
    """A caseworker's input that cannot be used; the message names the field."""


class CaseNotFound(LookupError):
    pass


def clean_text(field_name: str, value: str) -> str:
    """One line of text a caseworker typed, without surrounding spaces, or an ``InputError``
    naming the field. Case fields reach email headers: a line break must never get there."""
    text = value.strip()
    if not text:
        raise InputError(f"{field_name}: must not be empty")
    problem = line_problem(text)
    if problem:
        raise InputError(f"{field_name}: {problem}")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"{field_name}: longer than {MAX_TEXT_CHARS} characters")
    return text


def open_case(
    session: Session,
    victim_name: str,
    victim_email: str,
    language: str,
    minor: bool = False,
    facts: Facts | None = None,
) -> Case:
    """A new case. ``facts`` (country, AI-made, copyright and consent to be named) choose
    the legal basis of its notices; ``minor`` there is overridden by the argument."""
    name = clean_text("--victim-name", victim_name)
    email = clean_text("--victim-email", victim_email)
    problem = email_problem(email)
    if problem:
        raise InputError(f"--victim-email: {problem}")
    if language not in LANGUAGES:
        raise InputError(
            f"--language: {shown(language)} is not supported; use one of {', '.join(LANGUAGES)}"
        )
    facts = facts or Facts()
    case = Case(
        victim_name=name,
        victim_email=email,
        language=language,
        minor=minor,
        country=country_code(facts.country),
        synthetic=facts.synthetic,
        victim_owns_copyright=facts.victim_owns_copyright,
        victim_may_be_named=facts.victim_may_be_named,
    )
    session.add(case)
    session.flush()
    return case


def set_contact_details(case: Case, phone: str | None, notes: str | None) -> None:
    """The victim's phone and the caseworker's notes: kept for the caseworker, encrypted,
    never put in a notice or a message."""
    if phone is not None:
        cleaned = clean_text("--victim-phone", phone)
        if not _PHONE.fullmatch(cleaned):
            raise InputError(f"--victim-phone: {shown(cleaned)} is not a phone number")
        case.victim_phone = cleaned
    if notes is not None:
        text = notes.strip()
        # Notes may run over several lines; each line must still be text.
        problem = next(filter(None, map(line_problem, text.splitlines())), None)
        if problem:
            raise InputError(f"--notes: {problem}")
        if len(text) > MAX_NOTES_CHARS:
            raise InputError(f"--notes: longer than {MAX_NOTES_CHARS:,} characters")
        case.notes = text or None


def refuse_if_erased(case: Case) -> None:
    if case.erased_at is not None:
        raise InputError(
            f"case {case.reference} was erased on {case.erased_at:%Y-%m-%d}; "
            "nothing can be added to it"
        )


def refuse_if_closed(case: Case) -> None:
    refuse_if_erased(case)
    if case.closed_at is not None:
        raise InputError(
            f"case {case.reference} was closed on {case.closed_at:%Y-%m-%d}; reopen it with "
            "takedown case reopen before adding links or queueing requests"
        )


def country_code(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 code (``fi`` and ``FIN`` are accepted too), or None."""
    if value is None or not value.strip():
        return None
    problem = line_problem(value.strip())
    if problem:
        raise InputError(f"--country: {problem}")
    try:
        country = pycountry.countries.lookup(value.strip())
    except LookupError:
        raise InputError(
            f"--country: {shown(value)} is not an ISO 3166 country code such as FI, DE, SE or US"
        ) from None
    return str(country.alpha_2)


def facts_of(case: Case) -> Facts:
    return Facts(
        country=case.country,
        minor=case.minor,
        synthetic=case.synthetic,
        victim_owns_copyright=case.victim_owns_copyright,
        victim_may_be_named=case.victim_may_be_named,
    )


def find_case(session: Session, key: str) -> Case:
    """A case by its id, its reference, or an unambiguous id prefix of 6 or more characters."""
    if line_problem(key):  # no id has one, and PostgreSQL refuses a NUL even in a query
        raise CaseNotFound(f"no case with the id or reference {shown(key)}")
    case = session.get(Case, key) or session.scalar(
        select(Case).where(Case.reference == key.upper())
    )
    if case is None:
        case = find_by_id_prefix(session, Case, key)
    if case is None:
        raise CaseNotFound(f"no case with the id or reference {shown(key)}")
    return case


@dataclass
class AddedLinks:
    added: list[Item] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)

    @property
    def unmatched(self) -> list[Item]:
        return [item for item in self.added if item.platform_id is None]


def add_links(
    session: Session,
    case: Case,
    raw_urls: list[str],
    catalogue: Catalogue,
    allow_private: bool | None = None,
) -> AddedLinks:
    """Validate every link, then store the new ones matched to their platforms.

    A link on no known platform is still stored (nothing the caseworker found is lost) and
    reported, so it can be handled by hand or once its platform is defined. A link whose host
    is, or resolves to, a non-public address is refused (unless private targets are allowed):
    nothing would ever be sent there, and a check would probe the operator's own network.
    """
    refuse_if_closed(case)
    if allow_private is None:
        allow_private = get_settings().allow_private_targets
    urls = []
    for position, raw in enumerate(raw_urls, start=1):
        try:
            url = normalise_link(raw)
            if not allow_private:
                refuse_private_host(url)
        except LinkError as error:
            raise InputError(f"URL {position} ({shown(raw)}): {error}") from None
        urls.append(url)
    keys = keyring()
    # Links are stored encrypted, so they are found again by their keyed hashes.
    existing = set(session.scalars(select(Item.url_hash).where(Item.case_id == case.id)))
    next_position = (
        session.scalar(select(func.max(Item.position)).where(Item.case_id == case.id)) or 0
    )
    result = AddedLinks()
    for url in urls:
        if existing.intersection(keys.link_hashes(url)):
            result.already_there.append(url)
            continue
        url_hash = keys.link_hash(url)
        existing.add(url_hash)
        next_position += 1
        platform = catalogue.match(url)
        item = Item(
            case=case,
            position=next_position,
            url=url,
            url_hash=url_hash,
            host=host_of(url),
            platform_id=platform.id if platform else None,
        )
        session.add(item)
        result.added.append(item)
    session.flush()
    return result


@dataclass
class Queued:
    request_ids: list[str] = field(default_factory=list)
    already_requested: int = 0
    no_platform: list[str] = field(default_factory=list)
    # Requests to an abuse address RDAP suggested, waiting for the caseworker's confirmation.
    awaiting_contact: list[str] = field(default_factory=list)


def queue_case(
    session: Session,
    case: Case,
    catalogue: Catalogue,
    legal: Legal | None = None,
    basis: str | None = None,
    contacts: dict[str, Suggestion] | None = None,
) -> Queued:
    """One removal request per link that has none yet (a withdrawn one does not count),
    each with the legal basis chosen for the case and its platform, or ``basis`` when a
    caseworker chose one. A basis that cannot be used for a link refuses the whole command
    before anything is stored."""
    refuse_if_closed(case)
    legal = legal or legal_for(get_settings().legal_dir)
    planned = []
    for item in case.items:
        if item.platform_id is None:
            continue
        if any(r.state != RequestState.WITHDRAWN for r in item.requests):
            continue
        platform = catalogue.get(item.platform_id)
        try:
            choice = choose_basis(facts_of(case), platform, legal, basis)
        except LegalError as error:
            raise InputError(f"{item.url}: {error}") from None
        planned.append((item, platform, choice.basis))
    queued = Queued()
    for item in case.items:
        if any(r.state != RequestState.WITHDRAWN for r in item.requests):
            queued.already_requested += 1
        elif item.platform_id is None:
            queued.no_platform.append(item.url)
    for item, platform, chosen in planned:
        request = new_request(session, item, platform, "queued by caseworker", chosen)
        queued.request_ids.append(request.id)
    # Links on no known platform: a request to the abuse address RDAP suggested, waiting
    # for the caseworker to confirm it.
    for item_id, suggestion in (contacts or {}).items():
        item = next(i for i in case.items if i.id == item_id)
        if item.platform_id is not None or any(
            r.state != RequestState.WITHDRAWN for r in item.requests
        ):
            continue
        chosen = choose_basis(facts_of(case), contact_platform(), legal).basis
        request = new_contact_request(session, item, suggestion, chosen)
        queued.awaiting_contact.append(request.id)
        queued.no_platform.remove(item.url)
    return queued


def links_without_platform(case: Case) -> list[Item]:
    """The links no platform file matches that have no request yet."""
    return [
        item
        for item in case.items
        if item.platform_id is None
        and not any(r.state != RequestState.WITHDRAWN for r in item.requests)
    ]


def new_request(
    session: Session, item: Item, platform: Platform, reason: str, basis: str
) -> RemovalRequest:
    """A queued removal request for a link, starting at the platform's preferred channel."""
    first = platform.channel_order(item.case.synthetic)[0]
    request = RemovalRequest(
        item=item,
        platform_id=platform.id,
        channel_index=first,
        channel=platform.channels[first].type,
        state=RequestState.PENDING,
        legal_basis=basis,
    )
    session.add(request)
    session.flush()
    move(session, request, RequestState.QUEUED, reason)
    return request


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def case_status(case: Case, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """The ``takedown status --json`` contract: keys are only ever added, never renamed.
    With the catalogue, each item says what kind of platform it is on (a search engine
    de-indexes; it does not remove)."""
    kinds = {p.id: p.kind for p in catalogue.platforms.values()} if catalogue else {}
    return {
        "id": case.id,
        "reference": case.reference,
        "language": case.language,
        "minor": case.minor,
        "notify": case.notify,
        "country": case.country,
        "synthetic": case.synthetic,
        "created_at": _iso(case.created_at),
        "closed_at": _iso(case.closed_at),
        "erased_at": _iso(case.erased_at),
        "items": [
            {
                "url": item.url,
                "platform": item.platform_id,
                "kind": kinds.get(item.platform_id or ""),
                "status": item.status,
                "last_checked": _iso(item.last_checked_at),
                "requests": [
                    {
                        "id": request.id,
                        "platform": request.platform_id,
                        "channel": request.channel,
                        "state": request.state,
                        "ticket": request.ticket,
                        "attempts": request.attempts,
                        "last_error": request.last_error,
                        "next_attempt_at": _iso(request.next_attempt_at),
                        "sent_at": _iso(request.sent_at),
                        "deadline_at": _iso(request.deadline_at),
                        "legal_basis": request.legal_basis or "terms",
                        "contact_to": request.contact_to,
                        "contact_note": request.contact_note,
                    }
                    for request in item.requests
                ],
            }
            for item in case.items
        ],
    }


def list_cases(session: Session) -> list[dict[str, Any]]:
    """Every case, newest first, with how many links it has and how many were sent."""
    links = func.count(func.distinct(Item.id))
    sent = func.count(func.distinct(RemovalRequest.id)).filter(
        RemovalRequest.state == RequestState.SENT
    )
    rows = session.execute(
        select(Case, links, sent)
        .outerjoin(Item, Item.case_id == Case.id)
        .outerjoin(RemovalRequest, RemovalRequest.item_id == Item.id)
        .group_by(Case.id)
        .order_by(Case.created_at.desc())
    ).all()
    return [
        {
            "id": case.id,
            "reference": case.reference,
            "language": case.language,
            "created_at": _iso(case.created_at),
            "links": link_count,
            "sent": sent_count,
        }
        for case, link_count, sent_count in rows
    ]


def overdue_requests(session: Session) -> list[dict[str, Any]]:
    """Every overdue request across cases, the longest overdue first."""
    rows = session.execute(
        select(RemovalRequest, Item, Case)
        .join(Item, RemovalRequest.item_id == Item.id)
        .join(Case, Item.case_id == Case.id)
        .where(RemovalRequest.state == RequestState.OVERDUE)
        .order_by(RemovalRequest.deadline_at)
    ).all()
    return [
        {
            "id": request.id,
            "case": case.reference,
            "platform": request.platform_id,
            "url": item.url,
            "ticket": request.ticket,
            "sent_at": _iso(request.sent_at),
            "deadline_at": _iso(request.deadline_at),
        }
        for request, item, case in rows
    ]
