"""The email channel: a notice to the platform's abuse or NCII address over SMTP.

The SMTP conversation is driven step by step (MAIL, RCPT, DATA) rather than through
``send_message`` so that the outcome is exact: a refusal before DATA is safe to retry,
while a connection lost during DATA may have delivered the notice and is ``ambiguous``.

Every email takedown sends (notices, victims' notifications, caseworker alerts) is built by
``email_message`` and leaves through ``EmailSender.transmit``, which refuses a message whose
headers or envelope carry a line break or control character: a case field, a platform file
or a registry's answer can never add a header (``Bcc:``) or an SMTP command of its own.
"""

from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from takedown.catalogue.schema import EmailChannel
from takedown.channels.base import Job, Outcome, Result, Sender
from takedown.config import Settings, SmtpTls
from takedown.safety.safetext import line_problem


class UnsafeHeader(ValueError):
    """A header value with a line break or control character; the message names the header."""


def _checked(header: str, value: str) -> str:
    # The email package refuses CR and LF itself, but lets NUL and other controls through.
    problem = line_problem(value)
    if problem:
        raise UnsafeHeader(f"the {header} header {problem}")
    return value


def email_message(
    settings: Settings,
    *,
    sender_name: str,
    to: str,
    subject: str,
    body: str,
    language: str | None = None,
    idstring: str | None = None,
) -> EmailMessage:
    """A plain-text email from the organisation's address. Raises ``UnsafeHeader`` (a
    ValueError) naming the header when a value would carry a line break or control
    character into it."""
    local, _, domain = _checked("From", settings.notifier_email).partition("@")
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = Address(
        display_name=_checked("From", sender_name), username=local, domain=domain
    )
    message["To"] = _checked("To", to)
    message["Subject"] = _checked("Subject", subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(idstring=idstring, domain=domain or None)
    message.set_content(body)
    if language is not None:
        # After set_content, which replaces every Content-* header.
        message["Content-Language"] = _checked("Content-Language", language)
    return message


def header_problem(message: EmailMessage, recipient: str, sender: str) -> str | None:
    """Why the message must not be sent as it is (a header or an envelope address with a
    line break or control character), or None. The last check before bytes leave."""
    fields = [(f"{name} header", str(value)) for name, value in message.items()]
    fields += [("envelope recipient", recipient), ("envelope sender", sender)]
    for what, value in fields:
        problem = line_problem(value)
        if problem:
            return f"the {what} {problem}"
    return None


def build_message(job: Job, to: str, settings: Settings) -> EmailMessage:
    """The notice as an email, signed by the organisation, with the case reference in its
    subject."""
    reference = job.context["case"]["reference"]
    subject = job.notice.subject
    if reference not in subject:
        subject = f"{subject} [{reference}]"
    return email_message(
        settings,
        sender_name=settings.notifier_name,
        to=to,
        subject=subject,
        body=job.notice.body,
        language=job.notice.language,
        idstring=job.request_id,
    )


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}"


def _refusal(step: str, code: int, text: bytes | str, server: str) -> Result:
    reply = _reply(code, text)
    if 400 <= code < 500:
        return Result(
            Outcome.TRANSIENT,
            smtp_reply=reply,
            error=f"the mail server {server} deferred the {step} (SMTP {reply}); trying later",
        )
    return Result(
        Outcome.PERMANENT,
        smtp_reply=reply,
        error=f"the mail server {server} refused the {step} (SMTP {reply})",
    )


def _close_quietly(smtp: smtplib.SMTP) -> None:
    # The outcome is decided by then; a server that fumbles QUIT must not change it.
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


class EmailSender(Sender):
    kind = "email"

    def deliver(self, job: Job) -> Result:
        config: EmailChannel = job.channel_config
        try:
            message = build_message(job, config.to, self.settings)
        except ValueError as error:
            return Result(Outcome.PERMANENT, error=f"the email could not be built: {error}")
        return self.transmit(message, config.to)

    def transmit(self, message: EmailMessage, to: str) -> Result:
        """Send a built message through the configured relay; every outcome classified."""
        unsafe = header_problem(message, to, self.settings.notifier_email)
        if unsafe:
            return Result(Outcome.PERMANENT, error=f"the email was not sent: {unsafe}")
        server = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            return Result(
                Outcome.TRANSIENT, error=f"the mail server {server} could not be reached: {error}"
            )
        try:
            return self._converse(smtp, message, to, server)
        finally:
            _close_quietly(smtp)

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.smtp_ca_file:
            context.load_verify_locations(cafile=str(self.settings.smtp_ca_file))
        return context

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        timeout = settings.smtp_timeout_seconds
        if settings.smtp_tls == SmtpTls.SSL:
            return smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=timeout,
                context=self._tls_context(),
            )
        return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)

    def _converse(self, smtp: smtplib.SMTP, message: EmailMessage, to: str, server: str) -> Result:
        settings = self.settings
        try:
            smtp.ehlo()
            offers_tls = smtp.has_extn("starttls")
            if settings.smtp_tls == SmtpTls.STARTTLS and not offers_tls:
                return Result(
                    Outcome.PERMANENT,
                    error=(
                        f"the mail server {server} does not offer STARTTLS, and "
                        "TAKEDOWN_SMTP_TLS=starttls forbids sending in the clear"
                    ),
                )
            encrypted = settings.smtp_tls == SmtpTls.SSL
            if offers_tls and settings.smtp_tls in (SmtpTls.AUTO, SmtpTls.STARTTLS):
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
                encrypted = True
            if settings.smtp_username and not encrypted and settings.smtp_tls != SmtpTls.OFF:
                return Result(
                    Outcome.PERMANENT,
                    error=(
                        f"the mail server {server} offers no STARTTLS; takedown will not send "
                        "the SMTP password unencrypted (set TAKEDOWN_SMTP_TLS=off to allow it)"
                    ),
                )
            if settings.smtp_username:
                refused = self._login(smtp, server)
                if refused:
                    return refused
            code, text = smtp.mail(settings.notifier_email)
            if code != 250:
                return _refusal("sender", code, text, server)
            code, text = smtp.rcpt(to)
            if code not in (250, 251):
                return _refusal("recipient", code, text, server)
        except smtplib.SMTPResponseException as error:
            return _refusal("message", error.smtp_code, error.smtp_error, server)
        except (OSError, smtplib.SMTPException) as error:
            return Result(
                Outcome.TRANSIENT, error=f"the conversation with {server} failed: {error}"
            )
        return self._send_data(smtp, message, server)

    def _login(self, smtp: smtplib.SMTP, server: str) -> Result | None:
        """None when logged in. A refused or impossible login is the operator's to fix, so
        it is permanent; a connection that breaks meanwhile is not (it raises on)."""
        try:
            smtp.login(self.settings.smtp_username, self.settings.smtp_password)
        except smtplib.SMTPAuthenticationError as error:
            return Result(
                Outcome.PERMANENT,
                smtp_reply=_reply(error.smtp_code, error.smtp_error),
                error=f"the mail server {server} refused the login: check TAKEDOWN_SMTP_USERNAME",
            )
        except smtplib.SMTPServerDisconnected:
            raise
        except smtplib.SMTPException:
            # Not offered at all (SMTPNotSupportedError), or no mechanism in common.
            offered = (smtp.esmtp_features.get("auth") or "").strip() or "none"
            return Result(
                Outcome.PERMANENT,
                error=(
                    f"the mail server {server} offers no login takedown can use (AUTH: "
                    f"{offered}); unset TAKEDOWN_SMTP_USERNAME or use a relay that accepts one"
                ),
            )
        return None

    def _send_data(self, smtp: smtplib.SMTP, message: EmailMessage, server: str) -> Result:
        try:
            code, text = smtp.data(message.as_bytes())
        except smtplib.SMTPDataError as error:
            # DATA itself was refused: the message body was never transmitted.
            return _refusal("message", error.smtp_code, error.smtp_error, server)
        except (OSError, smtplib.SMTPException) as error:
            return Result(
                Outcome.AMBIGUOUS,
                error=(
                    f"the connection to {server} was lost while the notice was being "
                    f"transmitted ({type(error).__name__}); it may have been delivered"
                ),
            )
        if code != 250:
            return _refusal("message", code, text, server)
        return Result(Outcome.DELIVERED, smtp_reply=_reply(code, text))
