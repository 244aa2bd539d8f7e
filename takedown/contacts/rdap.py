"""Who can act on a link whose host matches no known platform: the abuse contacts of the
hosting provider (RDAP for the address the host resolves to) and of the registrar (RDAP for
the registrable domain).

RDAP (RFC 9083) is JSON over HTTP, so it is read here with ``requests`` through the caller's
session (the guarded one of :mod:`takedown.safety.netguard` refuses private addresses), and the
registries are found through IANA's bootstrap files (RFC 9224) under a configurable URL, which
is what lets the tests answer from a registry on loopback. Text WHOIS is never parsed.

Which address of an answer is written to is decided in :mod:`takedown.contacts.rdap_objects`.

A registry that fails (an HTTP error, a time-out, an answer that is not RDAP JSON) is never
raised: it becomes a sentence in ``Contacts.problems`` and the other part still runs. What was
derived from a good answer is cached in ``contact_lookups``; failures are not, so the next
lookup asks again.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import idna
import requests
from sqlalchemy import delete
from sqlalchemy.orm import Session

from takedown.catalogue.links import site_domain
from takedown.config import Settings
from takedown.contacts.rdap_objects import Contact
from takedown.contacts.rdap_registries import Lookup, RdapProblem, Timeout
from takedown.safety.netguard import is_public
from takedown.store.models import ContactLookup

Resolve = Callable[[str], list[str]]


@dataclass
class Contacts:
    hosting: Contact | None
    registrar: Contact | None
    problems: list[str] = field(default_factory=list)


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
    lookup = Lookup(bootstrap_url.rstrip("/") + "/", session, timeout, cache_hours)
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
    domain = site_domain(ascii_host)
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
        if is_public(parsed):
            return str(parsed)
    raise RdapProblem("the link's host resolves only to addresses that are not public")


def forget_old_lookups(session: Session, settings: Settings, now: datetime) -> int:
    """Delete RDAP answers older than their cache time: each names the host of a link, and
    would otherwise outlive the case that asked."""
    cutoff = now - timedelta(hours=settings.rdap_cache_hours)
    deleted = session.execute(delete(ContactLookup).where(ContactLookup.fetched_at < cutoff))
    return int(deleted.rowcount)  # type: ignore[attr-defined]
