"""Which hash-matching programme to point a case to, and on whose behalf: StopNCII.org for
an adult, Take It Down for a case involving a child, when the platforms of the case's links
take part in it (``hash_programmes`` in their files). The person hashes the image on their
own device; the image never leaves it, and the platforms that take part block copies.
"""

from __future__ import annotations

from dataclasses import dataclass

from takedown.catalogue.legal import Legal, Programme
from takedown.catalogue.platforms import Catalogue
from takedown.store.models import Case


@dataclass(frozen=True)
class Participation:
    programme: Programme
    # The names of the case's platforms that take part, for the caseworker (never the victim).
    platforms: list[str]


def programme_for(case: Case, catalogue: Catalogue, legal: Legal) -> Participation | None:
    """The programme the case's platforms take part in, if any does."""
    wanted = "take_it_down" if case.minor else "stopncii"
    programme = legal.programmes.get(wanted)
    if programme is None:
        return None
    names = {
        platform.name
        for item in case.items
        if (platform := catalogue.platforms.get(item.platform_id or "")) is not None
        and wanted in platform.hash_programmes
    }
    return Participation(programme, sorted(names, key=str.casefold)) if names else None
