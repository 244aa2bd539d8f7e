"""Queueing a case: one removal request per link that has none yet, each under the legal basis
chosen for the case and its platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from takedown.cases.service import refuse_if_closed
from takedown.catalogue.abuse_contact import contact_platform
from takedown.catalogue.bases import choose_basis, facts_of
from takedown.catalogue.legal import Legal, legal_for
from takedown.catalogue.platforms import Catalogue
from takedown.catalogue.programmes import Participation, programme_for
from takedown.catalogue.schema import Platform
from takedown.config import Settings, get_settings
from takedown.contacts.abuse_contacts import Suggestion, new_contact_request
from takedown.delivery.lifecycle import new_request
from takedown.errors import InputError
from takedown.store.audit import record
from takedown.store.columns import utcnow
from takedown.store.models import Case, Item
from takedown.store.read_models import HashProgramme, QueueResult
from takedown.store.states import RequestState


@dataclass
class Queued:
    request_ids: list[str] = field(default_factory=list)
    already_requested: int = 0
    no_platform: list[str] = field(default_factory=list)
    # Requests to an abuse address RDAP suggested, waiting for the caseworker's confirmation.
    awaiting_contact: list[str] = field(default_factory=list)
    # The hash-matching programme to point out, the first time only.
    programme: Participation | None = None

    def read(self, *, broker_reached: bool) -> QueueResult:
        programme = None
        if self.programme is not None:
            about = self.programme.programme
            programme = HashProgramme(
                name=about.name, url=about.url, what=about.what, platforms=self.programme.platforms
            )
        return QueueResult(
            queued=self.request_ids,
            already_requested=self.already_requested,
            no_known_platform=self.no_platform,
            awaiting_contact=self.awaiting_contact,
            hash_programme=programme,
            broker_reached=broker_reached,
        )


def hosts_to_ask(
    case: Case,
    settings: Settings,
    catalogue: Catalogue,
    legal: Legal | None = None,
    *,
    basis: str | None = None,
) -> dict[str, str]:
    """Whom queueing this case should ask RDAP about: the host of each link on no known
    platform that has no request yet, by link id. What queueing would refuse (no notifier, a
    closed case, a ``basis`` that cannot be used for one of the links) is refused first, so
    no registry is asked for nothing. The caller asks (``suggestions_for``) outside any
    transaction: the lookups take seconds, and write their own cache."""
    settings.require_notifier()
    refuse_if_closed(case)
    legal = legal or legal_for(settings.legal_dir)
    unrequested = [item for item in case.items if not _has_live_request(item)]
    for item in unrequested:
        # A link on no known platform would go to its abuse contact, under the same basis.
        platform = catalogue.get(item.platform_id) if item.platform_id else contact_platform()
        _chosen_basis(case, item, platform, legal, basis)
    return {item.id: item.host for item in unrequested if item.platform_id is None}


def _chosen_basis(
    case: Case, item: Item, platform: Platform, legal: Legal, basis: str | None
) -> str:
    try:
        return choose_basis(facts_of(case), platform, legal, basis).basis
    except InputError as error:
        raise InputError(f"{error.message} (for {item.url})", field="basis") from None


def queue_case(
    session: Session,
    case: Case,
    catalogue: Catalogue,
    legal: Legal | None = None,
    *,
    actor: str,
    basis: str | None = None,
    contacts: dict[str, Suggestion] | None = None,
) -> Queued:
    """One removal request per link that has none yet (a withdrawn one does not count),
    each with the legal basis chosen for the case and its platform, or ``basis`` when a
    caseworker chose one. A basis that cannot be used for a link refuses the whole command
    before anything is stored; so does a missing notifier, as nothing could be sent.

    ``contacts``: for links on no known platform, the abuse address RDAP suggested (by link
    id); each gets a request to it that waits for the caseworker to confirm the address."""
    settings = get_settings()
    settings.require_notifier()
    refuse_if_closed(case)
    legal = legal or legal_for(settings.legal_dir)
    contacts = contacts or {}

    queued = Queued()
    planned = []  # every basis is chosen before anything is stored
    for item in case.items:
        if _has_live_request(item):
            queued.already_requested += 1
            continue
        if item.platform_id is not None:
            platform = catalogue.get(item.platform_id)
        elif item.id in contacts:
            platform = contact_platform()
        else:
            queued.no_platform.append(item.url)
            continue
        planned.append((item, platform, _chosen_basis(case, item, platform, legal, basis)))
    for item, platform, chosen in planned:
        if item.platform_id is None:
            # On no known platform: to the abuse address RDAP suggested, once confirmed.
            request = new_contact_request(session, item, contacts[item.id], chosen)
            queued.awaiting_contact.append(request.id)
        else:
            request = new_request(session, item, platform, "queued by caseworker", chosen)
            queued.request_ids.append(request.id)
    count = len(queued.request_ids) + len(queued.awaiting_contact)
    if count and case.programme_shown_at is None:
        queued.programme = programme_for(case, catalogue, legal)
        if queued.programme is not None:
            case.programme_shown_at = utcnow()
    record(
        session,
        actor=actor,
        action="requests queued",
        case_id=case.id,
        detail=f"{count} request(s)" + (f", basis {basis}" if basis else ""),
    )
    return queued


def _has_live_request(item: Item) -> bool:
    """A withdrawn request does not count: the link may be requested again."""
    return any(r.state != RequestState.WITHDRAWN for r in item.requests)
