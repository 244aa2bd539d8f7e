"""A fake platform: a real HTTP server on loopback that plays a report form.

Used by ``takedown demo`` and by the tests, so both exercise the real web-form channel over
real sockets. Routes are scripted: a CSRF-protected form, or a sequence of replies (503,
then 429, then success) to one path. Every request is recorded with its arrival time.
"""

from __future__ import annotations

import itertools
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow platform, a read time-out)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


class _Script:
    """A route's replies in order; the last one repeats."""

    def __init__(self, replies: list[Reply]) -> None:
        self._replies = list(replies)
        self._lock = threading.Lock()

    def next(self) -> Reply:
        with self._lock:
            return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]


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


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-request is what the time-out tests do on purpose; the
    default handler would print its traceback into the test output."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FakePlatform:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._scripts: dict[str, _Script] = {}
        self._forms: dict[str, _CsrfForm] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> FakePlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def csrf_form(self, path: str, ticket_prefix: str = "FG") -> None:
        """GET ``path`` serves a form with a token; POST ``path`` checks it, returns a ticket."""
        self._forms[path] = _CsrfForm(ticket_prefix)

    def script(self, path: str, *replies: Reply) -> None:
        """Any request to ``path`` gets the next reply; the last one repeats."""
        self._scripts[path] = _Script(list(replies))

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
                fake._record(Received(method, path, form, headers, arrived))
                reply = fake._answer(method, path, form, self.headers.get("Cookie", ""))
                if reply.delay:
                    time.sleep(reply.delay)
                self._write(reply)

            def _write(self, reply: Reply) -> None:
                body = reply.body.encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a read time-out): nothing to tell it

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler
