"""What the loopback HTTP stand-ins share: scripted replies, and a threaded server on
127.0.0.1 with a free port that starts, stops and serves as a context manager."""

from __future__ import annotations

import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


def free_port() -> int:
    """A loopback port nothing listens on now, for a server about to start."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    status: int = 200
    # Text is sent as UTF-8; bytes as they are (a page in another charset).
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow server, a read time-out)
    # Seconds between the body's 16 KiB pieces: a slow page, so that what a client stopped
    # reading shows in what was served (FakePlatform.served) rather than in socket buffers.
    trickle: float = 0.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    client_port: int = 0  # the sender's source port: which process of a worker sent it


class Script:
    """A path's scripted replies in turn; the last one repeats."""

    def __init__(self, replies: list[Reply]) -> None:
        self._replies = list(replies)
        self._lock = threading.Lock()

    def next(self) -> Reply:
        with self._lock:
            return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-request is what the time-out tests do on purpose; the
    default handler would print its traceback into the test output."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 (or another loopback address); subclasses give the
    request handler."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> None:
        self._server = _QuietServer((host, 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
