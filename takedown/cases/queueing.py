"""Queueing a case: one removal request per link that has none yet, each under the legal basis
chosen for the case and its platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from takedown.cases.fields import InputError
from takedown.cases.service import refuse_if_closed
from takedown.catalogue.abuse_contact import contact_platform
from takedown.catalogue.bases import choose_basis, facts_of
from takedown.catalogue.legal import Legal, LegalError, legal_for
from takedown.catalogue.platforms import Catalogue
from takedown.config import get_settings
from takedown.contacts.abuse_contacts import Suggestion, new_contact_request
from takedown.delivery.lifecycle import new_request
from takedown.store.models import Case, Item
from takedown.store.states import RequestState


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
