"""Validating the links a caseworker pastes, before anything is stored."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from publicsuffixlist import PublicSuffixList

from takedown.errors import InputError
from takedown.safety.netguard import HostNotResolved, PrivateTargetError, check_public
from takedown.safety.safetext import line_problem, shown

# Browsers and platforms stop well before this; anything longer is a paste gone wrong.
MAX_LINK_CHARS = 4096
# A host name after IDNA: labels of letters, digits and hyphens (and the underscore some
# sub-domains use), separated by dots. A percent sign or a slash here is a typo or a trick.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def _refused(why: str) -> InputError:
    return InputError(why, field="url")


@lru_cache(maxsize=1)
def _suffix_list() -> PublicSuffixList:
    # The snapshot bundled with the package: nothing is fetched at run time.
    return PublicSuffixList(only_icann=True)


def site_domain(host: str) -> str | None:
    """The registered domain a host is under (``cdn.files.example.net`` -> ``example.net``),
    by the ICANN part of the Public Suffix List; None for an address or a bare suffix."""
    return _suffix_list().privatesuffix(host.lower().rstrip("."))


def host_of(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.rstrip(".").lower()


def normalise_link(raw: str) -> str:
    """The link as it will be stored and sent, or an ``InputError`` (field ``url``) saying
    what is wrong.

    Only the scheme and host are normalised (lower case, IDNA for non-ASCII hosts); the path
    and query stay exactly as pasted, because platforms treat them case-sensitively.
    """
    text = raw.strip()
    if not text:
        raise _refused("the link is empty")
    if len(text) > MAX_LINK_CHARS:
        raise _refused(f"the link is longer than {MAX_LINK_CHARS} characters")
    if line_problem(text) or any(ch.isspace() for ch in text):
        raise _refused("the link contains spaces, control characters or bytes that are not text")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise _refused(f"the link cannot be read as a URL ({error})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _refused("the link must start with http:// or https://")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refused("the link has no host name")
    if parts.username is not None or parts.password is not None:
        raise _refused("the link contains a user name or password; remove them")
    literal = parts.netloc.rpartition("@")[2].startswith("[")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _refused(f"the host name {shown(host)} is not valid") from None
    if not literal and not _HOST_NAME.fullmatch(ascii_host):
        raise _refused(
            f"the host name {shown(host)} has characters a host name cannot have "
            "(letters, digits, hyphens and dots only)"
        )
    if len(ascii_host) > 253:
        raise _refused("the host name is longer than 253 characters")
    if "." not in ascii_host and ascii_host != "localhost" and ":" not in ascii_host:
        raise _refused(f"the host name {host!r} has no domain (such as .com)")
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit(
        (parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment)
    )


def refuse_private_host(url: str) -> None:
    """An ``InputError`` (field ``url``) when the link's host is, or resolves to, a
    loopback, private, link-local or otherwise non-public address. A host that does not
    resolve now is let through: it may later, and every connection is checked again then."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if "%" in host and ":" in host:
        # An IPv6 zone (fe80::1%eth0) does not resolve, so it would pass as "not resolved
        # yet"; but only a scoped address such as a link-local one has a zone.
        raise _refused(
            f"{host} has an IPv6 zone, so it is not a public address; refused "
            "(set TAKEDOWN_ALLOW_PRIVATE_TARGETS=1 only for local testing)"
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        check_public(host, port)
    except PrivateTargetError as error:
        raise _refused(str(error)) from None
    except HostNotResolved:
        return
