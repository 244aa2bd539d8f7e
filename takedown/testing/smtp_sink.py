"""A local SMTP server (aiosmtpd) that keeps what it receives and can be told to refuse.

Replies are scripted per recipient, so one test can have its platform's mail server defer
(451) or reject (550) while another's accepts.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from takedown.testing.loopback import free_port


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    recipients: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    # aiosmtpd calls its handler's hooks by these names, with these arguments.
    async def handle_RCPT(  # noqa: N802
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        refusal = self.sink._next_refusal(address, "rcpt")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for address in envelope.rcpt_tos:
            refusal = self.sink._next_refusal(address, "data")
            if refusal:
                return refusal
        # STARTTLS sets session.ssl; implicit TLS shows only on the transport.
        if session.ssl is not None or server.transport.get_extra_info("ssl_object"):
            with self.sink._lock:
                self.sink.encrypted_sessions += 1
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.sink._keep(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 Ok: queued"


class SmtpSink:
    """``starttls`` offers STARTTLS with that server context; ``implicit_tls`` speaks TLS from
    the first byte instead; ``login`` = (user, password) requires that login (over TLS)."""

    def __init__(
        self,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.messages: list[Delivered] = []
        self.encrypted_sessions = 0
        self._refusals: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()
        self._login = login
        self.port = free_port()
        options: dict[str, Any] = {}
        if starttls is not None:
            options["tls_context"] = starttls
        if login is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
        else:  # like most relays that trust their network: no AUTH offered at all
            options.update(auth_exclude_mechanism=["LOGIN", "PLAIN"])
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=implicit_tls,
            server_hostname="localhost",
            **options,
        )

    def _authenticate(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        expected = self._login
        given = (
            (data.login.decode(), data.password.decode())
            if isinstance(data, LoginPassword)
            else None
        )
        if expected is not None and given == expected:
            return AuthResult(success=True)
        # handled=False: let aiosmtpd answer 535 itself (True means "already answered").
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refuse(self, recipient: str, *replies: str, at: str = "rcpt") -> None:
        """Answer the next mails to ``recipient`` with these replies (e.g. "451 4.3.0 Busy"),
        at the RCPT or the DATA step; afterwards accept."""
        with self._lock:
            self._refusals[(recipient.lower(), at)] = list(replies)

    def to(self, recipient: str) -> list[Delivered]:
        with self._lock:
            return [m for m in self.messages if recipient.lower() in map(str.lower, m.recipients)]

    def _next_refusal(self, recipient: str, step: str) -> str | None:
        with self._lock:
            queue = self._refusals.get((recipient.lower(), step))
            return queue.pop(0) if queue else None

    def _keep(self, delivered: Delivered) -> None:
        with self._lock:
            self.messages.append(delivered)
