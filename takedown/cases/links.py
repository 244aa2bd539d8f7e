"""Adding links to a case: every link validated before any is stored, then matched to its
platform.

A link on no known platform is still stored (nothing the caseworker found is lost) and
reported, so it can be handled by hand or once its platform is defined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from takedown.cases.service import refuse_if_closed
from takedown.catalogue.links import host_of, normalise_link, refuse_private_host
from takedown.catalogue.platforms import Catalogue
from takedown.config import get_settings
from takedown.errors import InputError
from takedown.store.audit import record
from takedown.store.encryption import keyring
from takedown.store.models import Case, Item
from takedown.store.read_models import AddedLink, LinksAdded


@dataclass
class AddedLinks:
    added: list[Item] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)

    @property
    def unmatched(self) -> list[Item]:
        return [item for item in self.added if item.platform_id is None]

    def read(self) -> LinksAdded:
        return LinksAdded(
            added=[AddedLink(url=item.url, platform=item.platform_id) for item in self.added],
            already_in_case=self.already_there,
            no_known_platform=[item.url for item in self.unmatched],
        )


def add_links(
    session: Session,
    case: Case,
    raw_urls: list[str],
    catalogue: Catalogue,
    *,
    actor: str,
) -> AddedLinks:
    """Validate every link, then store the new ones matched to their platforms.

    A link on no known platform is still stored (nothing the caseworker found is lost) and
    reported, so it can be handled by hand or once its platform is defined. A link whose host
    is, or resolves to, a non-public address is refused (unless private targets are allowed):
    nothing would ever be sent there, and a check would probe the operator's own network.
    """
    refuse_if_closed(case)
    allow_private = get_settings().allow_private_targets
    urls = []
    for position, raw in enumerate(raw_urls, start=1):
        try:
            url = normalise_link(raw)
            if not allow_private:
                refuse_private_host(url)
        except InputError as error:
            raise InputError(error.message, field="urls", index=position, value=raw) from None
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
    record(
        session,
        actor=actor,
        action="links added",
        case_id=case.id,
        detail=f"{len(result.added)} added, {len(result.already_there)} already in the case",
    )
    return result
