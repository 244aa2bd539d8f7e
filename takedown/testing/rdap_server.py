"""A local RDAP service: IANA-style bootstrap files and the registries they point to, all on
one real HTTP server on loopback.

``/bootstrap/ipv4.json``, ``ipv6.json`` and ``dns.json`` (RFC 9224) map address blocks and
TLDs to per-registry base URLs on the same server (``/arin/``, ``/ripe/``, ``/apnic/``,
``/lacnic/``, ``/afrinic/``, ``/verisign/``, ``/pir/``). Each registry answers ``ip/<address>``,
``domain/<name>`` and ``entity/<handle>`` with the objects it was given (recorded answers in
the tests), 404 in RDAP's error shape otherwise, and any path can be scripted to fail (a 503,
a 429, a slow answer). Every request is recorded, so a test can tell that a lookup asked
nobody.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from takedown.testing.loopback import LoopbackServer, Received, Reply, Script

# Real IANA allocations to each regional registry: enough to cover the recorded answers.
ADDRESS_REGISTRIES = {
    "arin": ("74.0.0.0/8", "2001:4800::/23"),
    "ripe": ("62.0.0.0/8", "2a00::/12"),
    "apnic": ("210.0.0.0/8", "2001:200::/23"),
    "lacnic": ("200.0.0.0/8", "2800::/12"),
    "afrinic": ("196.0.0.0/8", "2001:4200::/23"),
}
DOMAIN_REGISTRIES = {"verisign": ("com", "net"), "pir": ("org",)}

RDAP_JSON = "application/rdap+json"


class RdapServer(LoopbackServer):
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: dict[str, Any] = {}  # path -> RDAP object
        self._scripts: dict[str, Script] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler_class())

    @property
    def bootstrap_url(self) -> str:
        return f"{self.base_url}/bootstrap/"

    def registry_url(self, registry: str) -> str:
        return f"{self.base_url}/{registry}/"

    # ------------------------------------------------------------------ what it answers

    def add_ip(self, address: str, answer: Any) -> str:
        """Serve ``answer`` for ``address`` from the registry whose block holds it; the path."""
        registry = registry_for_address(address)
        return self._add(f"/{registry}/ip/{ipaddress.ip_address(address)}", answer)

    def add_domain(self, name: str, answer: Any) -> str:
        registry = registry_for_domain(name)
        return self._add(f"/{registry}/domain/{name.lower()}", answer)

    def add_entity(self, registry: str, handle: str, answer: Any) -> str:
        return self._add(f"/{registry}/entity/{handle}", answer)

    def script(self, path: str, *replies: Reply) -> None:
        """Requests to ``path`` get these replies in turn, the last one repeating."""
        self._scripts[path] = Script(list(replies))

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def _add(self, path: str, answer: Any) -> str:
        self._answers[path] = answer
        return path

    def _bootstrap(self, name: str) -> Reply | None:
        services: list[list[list[str]]] = []
        if name in ("ipv4.json", "ipv6.json"):
            version = int(name[3])
            for registry, blocks in ADDRESS_REGISTRIES.items():
                mine = [b for b in blocks if ipaddress.ip_network(b).version == version]
                services.append([mine, [self.registry_url(registry)]])
        elif name == "dns.json":
            for registry, tlds in DOMAIN_REGISTRIES.items():
                services.append([list(tlds), [self.registry_url(registry)]])
        else:
            return None
        document = {
            "version": "1.0",
            "publication": "2026-11-01T00:00:00Z",
            "description": f"RDAP bootstrap file ({name}) of the local test registries",
            "services": services,
        }
        return Reply(200, json.dumps(document), {"Content-Type": "application/json"})

    def _answer(self, path: str) -> Reply:
        if path in self._scripts:
            return self._scripts[path].next()
        if path.startswith("/bootstrap/"):
            reply = self._bootstrap(path.removeprefix("/bootstrap/"))
            if reply is not None:
                return reply
        if path in self._answers:
            return Reply(200, json.dumps(self._answers[path]), {"Content-Type": RDAP_JSON})
        error = {"errorCode": 404, "title": "Not Found", "description": ["No such object"]}
        return Reply(404, json.dumps(error), {"Content-Type": RDAP_JSON})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        rdap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # see FakePlatform: no 40 ms delayed-ACK stalls

            def log_message(self, format: str, *args: object) -> None:
                pass  # the tests read `received` instead

            def do_GET(self) -> None:
                arrived = time.monotonic()
                path = unquote(self.path.split("?", 1)[0])
                headers = {k.lower(): v for k, v in self.headers.items()}
                with rdap._lock:
                    rdap.received.append(Received("GET", path, {}, headers, arrived))
                reply = rdap._answer(path)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": RDAP_JSON, **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a read time-out)

        return Handler


def registry_for_address(address: str) -> str:
    parsed = ipaddress.ip_address(address)
    for registry, blocks in ADDRESS_REGISTRIES.items():
        if any(parsed in ipaddress.ip_network(block) for block in blocks):
            return registry
    raise ValueError(f"no local registry holds {address}; add its block to ADDRESS_REGISTRIES")


def registry_for_domain(name: str) -> str:
    tld = name.rsplit(".", 1)[-1].lower()
    for registry, tlds in DOMAIN_REGISTRIES.items():
        if tld in tlds:
            return registry
    raise ValueError(f"no local registry serves .{tld}; add it to DOMAIN_REGISTRIES")
