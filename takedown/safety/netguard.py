"""Outbound HTTP: refusing loopback, private and other non-public addresses, and telling
how a request failed.

A link or a platform file could point a worker at the operator's own network (a database,
a cloud metadata service). Unless ``TAKEDOWN_ALLOW_PRIVATE_TARGETS=1`` (the tests and the
demo set it), every HTTP request is checked at the transport, so redirects are checked too.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
import urllib3.connection
import urllib3.exceptions
from requests.adapters import HTTPAdapter


class PrivateTargetError(requests.exceptions.InvalidURL):
    """The host is, or resolves to, an address that is not on the public internet."""


class HostNotResolved(requests.exceptions.ConnectionError):
    """The host name did not resolve; nothing was sent, so trying later is safe."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes whose last 32 bits are an IPv4 address the packets end up at (RFC 6052
# NAT64, RFC 8215 local-use NAT64), judged as that IPv4 address.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# IPv4-compatible addresses (RFC 4291 2.5.5.1): deprecated and never routed, and some stacks
# still send them to the embedded IPv4 address.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet; the one verdict both checks use (when
    a link is added, and on every connection).

    Python's ``is_global`` is not enough: it calls multicast global, and IPv6 addresses
    that carry an IPv4 address inside them (IPv4-mapped, NAT64, 6to4, Teredo) are judged by
    the IPv6 prefix, so ``64:ff9b::7f00:1`` (127.0.0.1 through NAT64) passes. Here an
    address that embeds an IPv4 address is public only if that IPv4 address is.
    """
    embedded = embedded_ipv4(address)
    if embedded is not None:
        return _public(embedded)
    if isinstance(address, ipaddress.IPv6Address) and address in _IPV4_COMPATIBLE:
        return False
    return _public(address)


# Blocks the IANA special-purpose registries list as not globally reachable, or as no single
# host, that Python 3.11's tables still call global (they were added or widened later):
# https://www.iana.org/assignments/iana-ipv4-special-registry/ and
# https://www.iana.org/assignments/iana-ipv6-special-registry/ (read 2026-12-02).
_SPECIAL_PURPOSE = tuple(
    ipaddress.ip_network(block)
    for block in (
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
        "192.88.99.0/24",  # the retired 6to4 relay anycast (RFC 7526)
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # segment routing identifiers (RFC 9602)
        "fec0::/10",  # site-local, deprecated (RFC 3879)
    )
)


def _public(address: IPAddress) -> bool:
    return (
        address.is_global
        # is_global lets these through: one address is never many hosts, nor a reserved one.
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_unspecified
        and not any(address in block for block in _SPECIAL_PURPOSE)
    )


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address maps or tunnels to, if it carries one."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address: where the packets are for
    if any(address in prefix for prefix in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_public(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise HostNotResolved(f"the host {host} could not be resolved ({error.strerror})") from None
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not is_public(address):
            raise PrivateTargetError(f"{_named(host, address)}; refused {_ALLOW_HINT}")


_ALLOW_HINT = "(set TAKEDOWN_ALLOW_PRIVATE_TARGETS=1 only for local testing)"


def _named(host: str, address: IPAddress) -> str:
    """``host`` and the address it is, in words, for a refusal."""
    carried = embedded_ipv4(address)
    what = f"{address} (which carries {carried})" if carried else str(address)
    if host.strip("[]") == str(address):
        return f"{what} is not a public address"
    return f"{host} resolves to {what}, which is not a public address"


class _PrivatePeer(urllib3.exceptions.NewConnectionError):
    """The socket connected to a non-public address although the name resolved to a public
    one when it was checked (DNS re-binding). Nothing was sent."""

    def __init__(self, connection: Any, why: str) -> None:
        super().__init__(connection, why)
        self.why = why


class _PublicPeer:
    """Checks the address a connection actually reached, after the TCP connect and before
    TLS or a byte of HTTP: a name can resolve differently between the check and the
    connection."""

    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%")[0])
        if not is_public(peer):
            sock.close()
            raise _PrivatePeer(
                self,
                f"{self.host} connected to {peer}, which is not a public address; refused",
            )
        return sock


class _PublicHTTPConnection(_PublicPeer, urllib3.connection.HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeer, urllib3.connection.HTTPSConnection):
    pass


class _PublicHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """Checks every request's host, including each hop of a redirect, before connecting, and
    the address each connection actually reached."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPPool,
            "https": _PublicHTTPSPool,
        }

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parsed = urlsplit(request.url or "")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        check_public(parsed.hostname or "", port)
        try:
            return super().send(request, *args, **kwargs)
        except requests.exceptions.ConnectionError as error:
            cause = error.args[0] if error.args else None
            if isinstance(cause, urllib3.exceptions.MaxRetryError):
                cause = cause.reason
            if isinstance(cause, _PrivatePeer):
                raise PrivateTargetError(cause.why) from None
            raise


_adapters: dict[bool, HTTPAdapter] = {}


def new_session(allow_private: bool) -> requests.Session:
    """A session with its own cookies over a connection pool shared by the whole process."""
    adapter = _adapters.get(allow_private)
    if adapter is None:
        # Pools for many hosts: the nightly check visits a thousand, and requests' default of
        # ten pools made every visit open (and another host's close) a connection.
        kind = HTTPAdapter if allow_private else PublicOnlyAdapter
        adapter = kind(pool_connections=1024, pool_maxsize=32)
        _adapters[allow_private] = adapter
    session = requests.Session()
    # No proxy from HTTP(S)_PROXY: through a proxy, the address checked would not be the one
    # connected to. (It also spares reading the environment on every request.)
    session.trust_env = False
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.max_redirects = 5
    return session


def never_sent(error: BaseException) -> bool:
    """True when the request failed before a byte of it reached the platform: the host did
    not resolve or was refused, the connection was refused or timed out, or the TLS handshake
    failed (a certificate problem, almost always, which happens before any HTTP is sent)."""
    if isinstance(
        error,
        requests.exceptions.ConnectTimeout
        | requests.exceptions.SSLError
        | HostNotResolved
        | PrivateTargetError,
    ):
        return True
    if isinstance(error, requests.exceptions.ConnectionError) and error.args:
        cause = error.args[0]
        if isinstance(cause, urllib3.exceptions.MaxRetryError):
            cause = cause.reason
        # NewConnectionError (and NameResolutionError) subclass ConnectTimeoutError.
        return isinstance(cause, urllib3.exceptions.ConnectTimeoutError)
    return False


def reason(error: requests.RequestException) -> str:
    """Why a request failed, in words. Never the exception's text: it quotes the URL, and a
    platform's URL can carry the link to the content."""
    if isinstance(error, HostNotResolved | PrivateTargetError):
        return str(error)
    if isinstance(error, requests.exceptions.SSLError):
        return "the TLS handshake failed (is the certificate valid?)"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "the connection timed out"
    if isinstance(error, requests.exceptions.ReadTimeout):
        return "no answer within the read time-out"
    if never_sent(error):
        return "the connection was refused"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "the connection broke off"
    return type(error).__name__
