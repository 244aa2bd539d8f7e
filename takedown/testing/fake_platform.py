"""A fake platform: a real HTTP server on loopback that plays a report form.

Used by ``takedown demo`` and by the tests, so both exercise the real web-form channel over
real sockets. Routes are scripted: a CSRF-protected form, or a sequence of replies (503,
then 429, then success) to one path. Every request is recorded with its arrival time.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from takedown.testing.loopback import LoopbackServer, Received, Reply, Script

__all__ = ["FakePlatform", "Received", "Reply"]


class _CsrfForm:
    """A report form that only accepts a POST carrying the token its GET handed out."""

    def __init__(self, ticket_prefix: str) -> None:
        self.tokens: dict[str, str] = {}  # session cookie -> token
        self.numbers = itertools.count(1001)
        self.ticket_prefix = ticket_prefix
        self._lock = threading.Lock()

    def page(self) -> Reply:
        session, token = secrets.token_hex(8), secrets.token_hex(16)
        with self._lock:
            self.tokens[session] = token
        body = (
            "<html><body><h1>Report content</h1><form method='post'>"
            f"<input type='hidden' name='csrf_token' value='{token}'>"
            "<input type='text' name='url'><textarea name='details'></textarea>"
            "<button>Send</button></form></body></html>"
        )
        return Reply(200, body, {"Set-Cookie": f"session={session}; Path=/; HttpOnly"})

    def submit(self, form: dict[str, str], cookie_header: str) -> Reply:
        cookie = SimpleCookie(cookie_header)
        session = cookie["session"].value if "session" in cookie else ""
        with self._lock:
            expected = self.tokens.get(session)
        if not expected or form.get("csrf_token") != expected:
            return Reply(403, "<p>CSRF token missing or invalid. Please reload the form.</p>")
        missing = [name for name in ("url", "details") if not form.get(name)]
        if missing:
            return Reply(400, f"<p>Please fill in all fields: {', '.join(missing)}</p>")
        ticket = f"{self.ticket_prefix}-{next(self.numbers)}"
        return Reply(200, f"<p>Thank you. Report ID: {ticket}</p>")


class FakePlatform(LoopbackServer):
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.received: list[Received] = []
        # Body bytes each path's answers got out to a client, for what a check downloaded.
        self.served: dict[str, int] = {}
        self._scripts: dict[str, Script] = {}
        self._forms: dict[str, _CsrfForm] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler_class(), host)

    def url(self, path: str) -> str:
        return self.base_url + path

    def csrf_form(self, path: str, ticket_prefix: str = "FG") -> None:
        """GET ``path`` serves a form with a token; POST ``path`` checks it, returns a ticket."""
        self._forms[path] = _CsrfForm(ticket_prefix)

    def script(self, path: str, *replies: Reply) -> None:
        """Any request to ``path`` gets the next reply; the last one repeats."""
        self._scripts[path] = Script(list(replies))

    def requests_to(self, path: str, method: str = "POST") -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path and r.method == method]

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _answer(self, method: str, path: str, form: dict[str, str], cookie: str) -> Reply:
        if path in self._forms:
            form_route = self._forms[path]
            return form_route.page() if method == "GET" else form_route.submit(form, cookie)
        if path in self._scripts:
            return self._scripts[path].next()
        return Reply(404, "<p>Not found</p>")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without this, each answer on a kept-alive connection waits ~40 ms for the
            # client's delayed ACK, and the fake, not the code under test, sets the pace.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass  # the tests and the demo read `received` instead

            def _serve(self, method: str) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                path = self.path.split("?", 1)[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                port = int(self.client_address[1])
                fake._record(Received(method, path, form, headers, arrived, port))
                reply = fake._answer(method, path, form, self.headers.get("Cookie", ""))
                if reply.delay:
                    time.sleep(reply.delay)
                self._write(path, reply)

            def _write(self, path: str, reply: Reply) -> None:
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                piece = 16 * 1024 if reply.trickle else len(body) or 1
                try:
                    self.send_response(reply.status)
                    if not any(name.lower() == "content-type" for name in reply.headers):
                        self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    for start in range(0, len(body), piece):
                        if start and reply.trickle:
                            time.sleep(reply.trickle)
                        self.wfile.write(body[start : start + piece])
                        self.wfile.flush()
                        with fake._lock:
                            fake.served[path] = fake.served.get(path, 0) + min(
                                piece, len(body) - start
                            )
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up (a read time-out, a page it stopped reading)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler
