"""The registries: finding the RDAP server of an address or a domain through IANA's bootstrap
files (RFC 9224), asking it, following an abuse entity by its handle, and caching what was
derived from a good answer in ``contact_lookups``.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import timedelta
from urllib.parse import quote

import requests
from sqlalchemy.exc import IntegrityError

from takedown.contacts.rdap_objects import (
    Contact,
    JsonObject,
    derive_contact,
    entities,
    holder,
    name_of,
    roles_of,
)
from takedown.safety.netguard import reason
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import ContactLookup

Timeout = float | tuple[float, float]


IP_OTHER_ROLES = ("noc", "technical", "administrative", "registrant")


DOMAIN_OTHER_ROLES = ("registrar",)

ACCEPT = {"Accept": "application/rdap+json, application/json;q=0.9"}


# RDAP answers are a few kilobytes; a server sending megabytes is broken or hostile.
MAX_ANSWER_BYTES = 2_000_000


# IANA updates the bootstrap files a few times a year; one fetch a day per process is plenty.
BOOTSTRAP_TTL_SECONDS = 24 * 3600.0


class RdapProblem(Exception):
    """A part of the lookup failed; the message is a sentence for a caseworker."""


class Lookup:
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
        return derive_contact(
            network, url, holder(network), IP_OTHER_ROLES, self._follower(url, "ip")
        )

    def for_domain(self, domain: str) -> Contact | None:
        base = _base_for_domain(self._bootstrap("dns.json"), domain)
        answer, url = self._get(f"{base}domain/{domain}", f"the RDAP server for {domain}")
        registrar = next((e for e in entities(answer) if "registrar" in roles_of(e)), None)
        organisation = name_of(registrar) if registrar else None
        follow = self._follower(url, "domain")
        return derive_contact(answer, url, organisation, DOMAIN_OTHER_ROLES, follow)

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
