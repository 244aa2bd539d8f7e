"""Who can act on a link whose host matches no known platform: the abuse contacts of the
hosting provider (RDAP for the address the host resolves to) and of the registrar (RDAP for
the registrable domain).

RDAP (RFC 9083) is JSON over HTTP, so it is read here with ``requests`` through the caller's
session (the guarded one of :mod:`takedown.netguard` refuses private addresses), and the
registries are found through IANA's bootstrap files (RFC 9224) under a configurable URL, which
is what lets the tests answer from a registry on loopback. Text WHOIS is never parsed.

Where the address comes from, in order:

1. an entity with the role ``abuse`` (at any depth, nearest first) whose vCard has an email;
2. such an entity listed only by handle, fetched from ``<base>entity/<handle>``;
3. an address in ``remarks`` that speak of abuse ("please send abuse reports to ...");
4. only when there is none of these, a contact in another role, marked
   ``how="not an abuse role: <roles>"`` so a caseworker sees it is a guess: for an address,
   the network's NOC, technical, administrative or registrant contact (all of them the
   provider's); for a domain, only the registrar's own address, never the registrant's, who
   may be the person who posted the content.

A registry that fails (an HTTP error, a time-out, an answer that is not RDAP JSON) is never
raised: it becomes a sentence in ``Contacts.problems`` and the other part still runs. What was
derived from a good answer is cached in ``contact_lookups``; failures are not, so the next
lookup asks again.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import idna
import requests
from publicsuffixlist import PublicSuffixList
from sqlalchemy.exc import IntegrityError

from takedown.db import session_scope
from takedown.models import ContactLookup, utcnow
from takedown.netguard import reason

JsonObject = dict[str, Any]
Resolve = Callable[[str], list[str]]
Timeout = float | tuple[float, float]

ACCEPT = {"Accept": "application/rdap+json, application/json;q=0.9"}
# RDAP answers are a few kilobytes; a server sending megabytes is broken or hostile.
MAX_ANSWER_BYTES = 2_000_000
# IANA updates the bootstrap files a few times a year; one fetch a day per process is plenty.
BOOTSTRAP_TTL_SECONDS = 24 * 3600.0
# An abuse entity given by handle costs a request each; real answers list one or two.
MAX_HANDLES_FOLLOWED = 3
IP_FALLBACK_ROLES = ("noc", "technical", "administrative", "registrant")
DOMAIN_FALLBACK_ROLES = ("registrar",)

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")


@dataclass(frozen=True)
class Contact:
    email: str
    organisation: str | None
    source: str  # the RDAP URL the address came from
    how: str  # "abuse role", "abuse entity followed by handle", "remarks text", ...


@dataclass
class Contacts:
    hosting: Contact | None
    registrar: Contact | None
    problems: list[str] = field(default_factory=list)


class RdapProblem(Exception):
    """A part of the lookup failed; the message is a sentence for a caseworker."""


# ---------------------------------------------------------------------------- entry point


def find_contacts(
    host: str,
    *,
    bootstrap_url: str,
    session: requests.Session,
    resolve: Resolve | None = None,
    cache_hours: float = 24,
    timeout: Timeout = (10.0, 30.0),
) -> Contacts:
    """The hosting provider's and the registrar's abuse contacts for ``host``."""
    host = host.strip().strip("[]").rstrip(".").lower()
    lookup = _Lookup(bootstrap_url.rstrip("/") + "/", session, timeout, cache_hours)
    contacts = Contacts(hosting=None, registrar=None)
    literal = _ip_literal(host)
    try:
        address = literal or _public_address(host, resolve or resolve_addresses)
        contacts.hosting = lookup.cached(f"ip:{address}", lambda: lookup.for_address(address))
    except RdapProblem as problem:
        contacts.problems.append(str(problem))
    try:
        if literal:
            raise RdapProblem("the link's host is an IP address, so there is no registrar to ask")
        domain = registrable_domain(host)
        contacts.registrar = lookup.cached(f"domain:{domain}", lambda: lookup.for_domain(domain))
    except RdapProblem as problem:
        contacts.problems.append(str(problem))
    return contacts


def registrable_domain(host: str) -> str:
    """``cdn.files.example.net`` -> ``example.net``, by the ICANN part of the Public Suffix
    List: the registrar holds ``github.io``, not a user's ``name.github.io``."""
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise RdapProblem("the link's host is not a valid domain name") from None
    domain = _suffix_list().privatesuffix(ascii_host)
    if domain is None:
        raise RdapProblem("the link's host is not under a registered domain")
    return domain


def resolve_addresses(host: str) -> list[str]:
    """The host's IPv4 then IPv6 addresses, [] when the name has none (DNS, via dnspython)."""
    # Imported here: dnspython takes a fifth of a second to import, and only the queue
    # command and the worker ever resolve a host.
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver()
    resolver.lifetime = 10.0
    addresses: list[str] = []
    for kind in ("A", "AAAA"):
        try:
            answer = resolver.resolve(host, kind, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except dns.exception.Timeout:
            raise RdapProblem("the DNS lookup of the link's host timed out") from None
        except dns.exception.DNSException:
            raise RdapProblem("the DNS lookup of the link's host failed") from None
        addresses.extend(record.to_text() for record in answer)
    return addresses


@lru_cache(maxsize=1)
def _suffix_list() -> PublicSuffixList:
    # The snapshot bundled with the package: nothing is fetched at run time.
    return PublicSuffixList(only_icann=True)


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _public_address(host: str, resolve: Resolve) -> str:
    addresses = resolve(host)
    if not addresses:
        raise RdapProblem("the link's host does not resolve")
    for address in addresses:
        parsed = ipaddress.ip_address(address)
        if parsed.is_global:
            return str(parsed)
    raise RdapProblem("the link's host resolves only to addresses that are not public")


# ---------------------------------------------------------------------------- registries


class _Lookup:
    """One lookup's registry access: bootstrap, RDAP queries and the cache."""

    def __init__(
        self, bootstrap_url: str, session: requests.Session, timeout: Timeout, cache_hours: float
    ) -> None:
        self.bootstrap_url = bootstrap_url
        self.session = session
        self.timeout = timeout
        self.cache_hours = cache_hours

    def for_address(self, address: str) -> Contact | None:
        version = ipaddress.ip_address(address).version
        base = _base_for_address(self._bootstrap(f"ipv{version}.json"), address)
        network, url = self._get(f"{base}ip/{address}", f"the RDAP server for {address}")
        return _derive(network, url, _holder(network), IP_FALLBACK_ROLES, self._follower(url, "ip"))

    def for_domain(self, domain: str) -> Contact | None:
        base = _base_for_domain(self._bootstrap("dns.json"), domain)
        answer, url = self._get(f"{base}domain/{domain}", f"the RDAP server for {domain}")
        registrar = next((e for e in _entities(answer) if "registrar" in _roles(e)), None)
        organisation = _name(registrar) if registrar else None
        follow = self._follower(url, "domain")
        return _derive(answer, url, organisation, DOMAIN_FALLBACK_ROLES, follow)

    def cached(self, key: str, fetch: Callable[[], Contact | None]) -> Contact:
        """The contact derived for ``key`` within ``cache_hours``, else ``fetch()`` stored."""
        with session_scope() as db:
            row = db.get(ContactLookup, key)
            fresh = utcnow() - timedelta(hours=self.cache_hours)
            if row is not None and self.cache_hours > 0 and row.fetched_at >= fresh:
                stored = json.loads(row.answer)["contact"]
                return _found(Contact(**stored) if stored else None, key)
        contact = fetch()
        answer = json.dumps({"contact": asdict(contact) if contact else None})
        try:
            with session_scope() as db:
                db.merge(ContactLookup(key=key, answer=answer, fetched_at=utcnow()))
        except IntegrityError:
            pass  # another worker stored the same lookup first; its answer is as good
        return _found(contact, key)

    def _follower(self, answer_url: str, kind: str) -> Callable[[str], tuple[JsonObject, str]]:
        # The entity lives on the server that answered, which a redirect may have changed.
        base = answer_url.rpartition(f"/{kind}/")[0] + "/"
        return lambda handle: self._get(
            f"{base}entity/{quote(handle, safe='')}", f"the RDAP server for the contact {handle}"
        )

    def _bootstrap(self, name: str) -> JsonObject:
        url = self.bootstrap_url + name
        with _bootstrap_lock:
            kept = _bootstrap_files.get(url)
        if kept is not None and time.monotonic() - kept[0] < BOOTSTRAP_TTL_SECONDS:
            return kept[1]
        try:
            data, _ = self._get(url, "the bootstrap server")
        except RdapProblem as problem:
            raise RdapProblem(
                f"the RDAP bootstrap file {name} could not be read: {problem}"
            ) from None
        with _bootstrap_lock:
            _bootstrap_files[url] = (time.monotonic(), data)
        return data

    def _get(self, url: str, server: str) -> tuple[JsonObject, str]:
        """The JSON object at ``url`` and the URL that finally answered (after redirects);
        ``server`` names it in problems ("the RDAP server for 192.0.2.1")."""
        try:
            with self.session.get(url, headers=ACCEPT, timeout=self.timeout, stream=True) as got:
                body = _read_capped(got, server)
                status, final_url = got.status_code, got.url
        except requests.RequestException as error:
            raise RdapProblem(f"{server} could not be reached: {reason(error)}") from None
        if status == 404:
            raise RdapProblem(f"{server} has no record of it (HTTP 404)")
        if status == 429:
            raise RdapProblem(f"{server} answered HTTP 429 (too many requests)")
        if status >= 400:
            raise RdapProblem(f"{server} answered HTTP {status}")
        try:
            data = json.loads(body)
        except ValueError:
            raise RdapProblem(f"{server} answered something that is not JSON") from None
        if not isinstance(data, dict):
            raise RdapProblem(f"{server} answered JSON that is not an RDAP object")
        return data, final_url


_bootstrap_files: dict[str, tuple[float, JsonObject]] = {}
_bootstrap_lock = threading.Lock()


def _read_capped(response: requests.Response, server: str) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body.extend(chunk)
        if len(body) > MAX_ANSWER_BYTES:
            raise RdapProblem(f"{server} answered more than {MAX_ANSWER_BYTES} bytes")
    return bytes(body)


def _found(contact: Contact | None, key: str) -> Contact:
    if contact is None:
        kind, _, name = key.partition(":")
        what = "address" if kind == "ip" else "domain"
        raise RdapProblem(f"the RDAP answer for the {what} {name} names no contact to write to")
    return contact


def _services(bootstrap: JsonObject) -> Iterator[tuple[list[str], str]]:
    """(entries, base URL) of an RFC 9224 file, preferring an https URL where both exist."""
    for service in bootstrap.get("services") or []:
        if not (isinstance(service, list) and len(service) >= 2):
            continue
        entries, urls = service[0], [str(u) for u in service[1]]
        if urls:
            base = next((u for u in urls if u.startswith("https://")), urls[0])
            yield [str(entry) for entry in entries], base.rstrip("/") + "/"


def _base_for_address(bootstrap: JsonObject, address: str) -> str:
    parsed = ipaddress.ip_address(address)
    best: tuple[int, str] | None = None
    for entries, base in _services(bootstrap):
        for entry in entries:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if parsed in network and (best is None or network.prefixlen > best[0]):
                best = (network.prefixlen, base)
    if best is None:
        raise RdapProblem(f"no RDAP service is listed for the address {address}")
    return best[1]


def _base_for_domain(bootstrap: JsonObject, domain: str) -> str:
    by_label = {entry.lower(): base for entries, base in _services(bootstrap) for entry in entries}
    labels = domain.split(".")
    # The longest matching suffix wins (RFC 9224, section 4).
    for start in range(len(labels)):
        base = by_label.get(".".join(labels[start:]))
        if base:
            return base
    raise RdapProblem(f"no RDAP service is listed for the domain {domain}")


# ---------------------------------------------------------------------------- RDAP objects


def _derive(
    rdap: JsonObject,
    source: str,
    organisation: str | None,
    fallback_roles: tuple[str, ...],
    follow: Callable[[str], tuple[JsonObject, str]],
) -> Contact | None:
    """The address to write to, by the order in the module docstring."""
    return (
        _by_abuse_role(rdap, source, organisation, follow)
        or _by_remarks(rdap, source, organisation)
        or _by_other_role(rdap, source, organisation, fallback_roles)
    )


def _by_abuse_role(
    rdap: JsonObject,
    source: str,
    organisation: str | None,
    follow: Callable[[str], tuple[JsonObject, str]],
) -> Contact | None:
    abuse = [entity for entity in _entities(rdap) if "abuse" in _roles(entity)]
    for entity in abuse:
        email = _pick_email(entity)
        if email:
            return Contact(email, organisation or _name(entity), source, "abuse role")
    handles = [e["handle"] for e in abuse if isinstance(e.get("handle"), str) and e["handle"]]
    for handle in handles[:MAX_HANDLES_FOLLOWED]:
        entity, url = follow(handle)
        email = _pick_email(entity)
        if email:
            name = organisation or _name(entity)
            return Contact(email, name, url, "abuse entity followed by handle")
    return None


def _by_remarks(rdap: JsonObject, source: str, organisation: str | None) -> Contact | None:
    for owner in (rdap, *_entities(rdap)):
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
        for entity in _entities(rdap):
            email = _pick_email(entity) if role in _roles(entity) else None
            if email:
                how = "not an abuse role: " + ", ".join(_roles(entity))
                return Contact(email, organisation or _name(entity), source, how)
    return None


def _entities(rdap: JsonObject) -> Iterator[JsonObject]:
    """Every entity nested in ``rdap``, nearest first: a network's own abuse contact is listed
    above the abuse contacts of the organisations it names."""
    queue = deque(rdap.get("entities") or [])
    while queue:
        entity = queue.popleft()
        if isinstance(entity, dict):
            yield entity
            queue.extend(entity.get("entities") or [])


def _roles(entity: JsonObject) -> list[str]:
    return [str(role).lower() for role in entity.get("roles") or []]


def _holder(network: JsonObject) -> str | None:
    """The organisation an address block is registered to: the hosting provider."""
    for entity in _entities(network):
        name = _name(entity) if "registrant" in _roles(entity) else None
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


def _name(entity: JsonObject) -> str | None:
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
