"""Reading RDAP answers (RFC 9083): which address in an answer to write to, and who it is.

Where the address comes from, in order:

1. an entity with the role ``abuse`` (at any depth, nearest first) whose vCard has an email;
2. such an entity listed only by handle, fetched from ``<base>entity/<handle>``;
3. an address in ``remarks`` that speak of abuse ("please send abuse reports to ...");
4. only when there is none of these, a contact in another role, marked
   ``how="not an abuse role: <roles>"`` so a caseworker sees it is a guess: for an address,
   the network's NOC, technical, administrative or registrant contact (all of them the
   provider's); for a domain, only the registrar's own address, never the registrant's, who
   may be the person who posted the content.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]


# An abuse entity given by handle costs a request each; real answers list one or two.
MAX_HANDLES_FOLLOWED = 3


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")


@dataclass(frozen=True)
class Contact:
    email: str
    organisation: str | None
    source: str  # the RDAP URL the address came from
    how: str  # "abuse role", "abuse entity followed by handle", "remarks text", ...


def derive_contact(
    rdap: JsonObject,
    source: str,
    organisation: str | None,
    other_roles: tuple[str, ...],
    follow: Callable[[str], tuple[JsonObject, str]],
) -> Contact | None:
    """The address to write to, by the order in the module docstring."""
    return (
        _by_abuse_role(rdap, source, organisation, follow)
        or _by_remarks(rdap, source, organisation)
        or _by_other_role(rdap, source, organisation, other_roles)
    )


def _by_abuse_role(
    rdap: JsonObject,
    source: str,
    organisation: str | None,
    follow: Callable[[str], tuple[JsonObject, str]],
) -> Contact | None:
    abuse = [entity for entity in entities(rdap) if "abuse" in roles_of(entity)]
    for entity in abuse:
        email = _pick_email(entity)
        if email:
            return Contact(email, organisation or name_of(entity), source, "abuse role")
    handles = [e["handle"] for e in abuse if isinstance(e.get("handle"), str) and e["handle"]]
    for handle in handles[:MAX_HANDLES_FOLLOWED]:
        entity, url = follow(handle)
        email = _pick_email(entity)
        if email:
            name = organisation or name_of(entity)
            return Contact(email, name, url, "abuse entity followed by handle")
    return None


def _by_remarks(rdap: JsonObject, source: str, organisation: str | None) -> Contact | None:
    for owner in (rdap, *entities(rdap)):
        for remark in owner.get("remarks") or []:
            if not isinstance(remark, dict):
                continue
            lines = [str(line) for line in remark.get("description") or []]
            text = " ".join([str(remark.get("title") or ""), *lines])
            if "abuse" not in text.lower():
                continue
            emails = [email.rstrip(".") for email in _EMAIL.findall(text)]
            if emails:
                return Contact(_prefer_abuse(emails), organisation, source, "remarks text")
    return None


def _by_other_role(
    rdap: JsonObject, source: str, organisation: str | None, roles: tuple[str, ...]
) -> Contact | None:
    for role in roles:
        for entity in entities(rdap):
            email = _pick_email(entity) if role in roles_of(entity) else None
            if email:
                how = "not an abuse role: " + ", ".join(roles_of(entity))
                return Contact(email, organisation or name_of(entity), source, how)
    return None


def entities(rdap: JsonObject) -> Iterator[JsonObject]:
    """Every entity nested in ``rdap``, nearest first: a network's own abuse contact is listed
    above the abuse contacts of the organisations it names."""
    queue = deque(rdap.get("entities") or [])
    while queue:
        entity = queue.popleft()
        if isinstance(entity, dict):
            yield entity
            queue.extend(entity.get("entities") or [])


def roles_of(entity: JsonObject) -> list[str]:
    return [str(role).lower() for role in entity.get("roles") or []]


def holder(network: JsonObject) -> str | None:
    """The organisation an address block is registered to: the hosting provider."""
    for entity in entities(network):
        name = name_of(entity) if "registrant" in roles_of(entity) else None
        if name:
            return name
    return None


def _vcard(entity: JsonObject, name: str) -> list[tuple[JsonObject, Any]]:
    """(parameters, value) of each ``name`` property of the entity's jCard (RFC 7095)."""
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and isinstance(card[1], list)):
        return []
    return [
        (prop[1], prop[3])
        for prop in card[1]
        if isinstance(prop, list)
        and len(prop) >= 4
        and str(prop[0]).lower() == name
        and isinstance(prop[1], dict)
    ]


def name_of(entity: JsonObject) -> str | None:
    for prop in ("org", "fn"):
        for _, value in _vcard(entity, prop):
            text = ";".join(map(str, value)) if isinstance(value, list) else str(value or "")
            if text.strip():
                return text.strip()
    return None


def _pick_email(entity: JsonObject) -> str | None:
    """Of several addresses on one card: one named abuse, then the lowest ``pref``, then the
    first listed, so the same answer always gives the same address."""
    found: list[tuple[int, int, int, str]] = []
    for index, (params, value) in enumerate(_vcard(entity, "email")):
        email = str(value or "").strip().removeprefix("mailto:")
        if not _EMAIL.fullmatch(email):
            continue
        try:
            pref = int(params.get("pref", 100))
        except (TypeError, ValueError):
            pref = 100
        found.append((0 if "abuse" in email.lower() else 1, pref, index, email))
    return min(found)[3] if found else None


def _prefer_abuse(emails: list[str]) -> str:
    return next((email for email in emails if "abuse" in email.lower()), emails[0])
