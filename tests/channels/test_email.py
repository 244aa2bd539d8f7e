"""The email channel against a real SMTP server (aiosmtpd) in the test process."""

from __future__ import annotations

import ssl
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme

from takedown.catalogue.schema import EmailChannel
from takedown.channels.base import Outcome
from takedown.channels.email import EmailSender
from takedown.config import Settings
from takedown.testing.jobs import JobFactory
from takedown.testing.smtp_sink import SmtpSink


def test_a_notice_arrives_with_message_id_reference_and_language(
    settings: Settings, smtp: SmtpSink, job_for: JobFactory
) -> None:
    job = job_for("mailsite", "https://mailsite.example/p/arrives")
    result = EmailSender(settings).deliver(job)

    assert result.outcome == Outcome.DELIVERED
    assert result.smtp_reply
    assert result.smtp_reply.startswith("250")
    message = next(
        m.message
        for m in smtp.to("ncii@mailsite.example")
        if "https://mailsite.example/p/arrives" in m.message.get_content()
    )
    assert "TD-2026-TEST01" in message["Subject"]
    assert message["Message-ID"].endswith("@helpline.example>")
    assert message["Content-Language"] == "en"
    assert message["From"].addresses[0].addr_spec == "reports@helpline.example"


@pytest.mark.parametrize("at", ["rcpt", "data"])
def test_an_smtp_451_is_transient(
    settings: Settings, smtp: SmtpSink, job_for: JobFactory, at: str
) -> None:
    smtp.refuse("ncii@mailsite.example", "451 4.3.0 Mailbox busy, try later", at=at)
    result = EmailSender(settings).deliver(job_for("mailsite", f"https://mailsite.example/451{at}"))
    assert result.outcome == Outcome.TRANSIENT
    assert result.smtp_reply == "451 4.3.0 Mailbox busy, try later"
    assert "deferred" in (result.error or "")


@pytest.mark.parametrize("at", ["rcpt", "data"])
def test_an_smtp_550_is_permanent(
    settings: Settings, smtp: SmtpSink, job_for: JobFactory, at: str
) -> None:
    smtp.refuse("ncii@mailsite.example", "550 5.1.1 No such user", at=at)
    result = EmailSender(settings).deliver(job_for("mailsite", f"https://mailsite.example/550{at}"))
    assert result.outcome == Outcome.PERMANENT
    assert "refused" in (result.error or "")
    assert "550 5.1.1" in (result.error or "")


def test_an_unreachable_mail_server_is_transient(settings: Settings, job_for: JobFactory) -> None:
    down = settings.model_copy(update={"smtp_port": 1})
    result = EmailSender(down).deliver(job_for("mailsite", "https://mailsite.example/down"))
    assert result.outcome == Outcome.TRANSIENT
    assert "could not be reached" in (result.error or "")


def test_the_smtp_password_is_never_sent_over_a_clear_connection(
    settings: Settings, smtp: SmtpSink, job_for: JobFactory
) -> None:
    with_login = settings.model_copy(update={"smtp_username": "takedown", "smtp_password": "pw"})
    url = "https://mailsite.example/clear-login"
    result = EmailSender(with_login).deliver(job_for("mailsite", url))
    assert result.outcome == Outcome.PERMANENT
    assert "will not send the SMTP password unencrypted" in (result.error or "")
    assert not [m for m in smtp.messages if url in m.message.get_content()]


def test_starttls_required_but_not_offered_is_permanent_and_nothing_is_sent(
    settings: Settings, smtp: SmtpSink, job_for: JobFactory
) -> None:
    strict = settings.model_copy(update={"smtp_tls": "starttls"})
    url = "https://mailsite.example/needs-tls"
    result = EmailSender(strict).deliver(job_for("mailsite", url))
    assert result.outcome == Outcome.PERMANENT
    assert "does not offer STARTTLS" in (result.error or "")
    assert not [m for m in smtp.messages if url in m.message.get_content()]


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _trusting(
    settings: Settings, ca: trustme.CA, tmp_path: Path, sink: SmtpSink, **more: str
) -> Settings:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return settings.model_copy(update={"smtp_port": sink.port, "smtp_ca_file": ca_file, **more})


def test_auto_upgrades_to_starttls_when_offered_and_logs_in_encrypted(
    settings: Settings, certificate_authority: trustme.CA, tmp_path: Path, job_for: JobFactory
) -> None:
    context = _server_context(certificate_authority)
    with SmtpSink(starttls=context, login=("takedown", "s3cret")) as sink:
        tls = _trusting(
            settings, certificate_authority, tmp_path, sink,
            smtp_username="takedown", smtp_password="s3cret",
        )  # fmt: skip
        result = EmailSender(tls).deliver(job_for("mailsite", "https://mailsite.example/tls"))
        assert result.outcome == Outcome.DELIVERED, result.error
        assert sink.encrypted_sessions == 1
        assert len(sink.messages) == 1


def test_a_wrong_smtp_password_is_permanent(
    settings: Settings, certificate_authority: trustme.CA, tmp_path: Path, job_for: JobFactory
) -> None:
    context = _server_context(certificate_authority)
    with SmtpSink(starttls=context, login=("takedown", "s3cret")) as sink:
        tls = _trusting(
            settings, certificate_authority, tmp_path, sink,
            smtp_username="takedown", smtp_password="wrong",
        )  # fmt: skip
        result = EmailSender(tls).deliver(job_for("mailsite", "https://mailsite.example/badpw"))
        assert result.outcome == Outcome.PERMANENT
        assert "refused the login" in (result.error or "")
        assert sink.messages == []


def test_an_untrusted_certificate_is_not_accepted(
    settings: Settings, certificate_authority: trustme.CA, job_for: JobFactory
) -> None:
    with SmtpSink(starttls=_server_context(certificate_authority)) as sink:
        untrusting = settings.model_copy(update={"smtp_port": sink.port})
        result = EmailSender(untrusting).deliver(
            job_for("mailsite", "https://mailsite.example/mitm")
        )
        assert result.outcome == Outcome.TRANSIENT
        assert "CERTIFICATE_VERIFY_FAILED" in (result.error or "")
        assert sink.messages == []


def test_a_login_the_server_does_not_offer_is_permanent(
    settings: Settings, certificate_authority: trustme.CA, tmp_path: Path, job_for: JobFactory
) -> None:
    with SmtpSink(starttls=_server_context(certificate_authority)) as sink:
        tls = _trusting(
            settings, certificate_authority, tmp_path, sink,
            smtp_username="takedown", smtp_password="s3cret",
        )  # fmt: skip
        result = EmailSender(tls).deliver(job_for("mailsite", "https://mailsite.example/noauth"))
        assert result.outcome == Outcome.PERMANENT
        assert "offers no login takedown can use (AUTH: none)" in (result.error or "")


def test_implicit_tls_delivers_over_an_encrypted_connection(
    settings: Settings, certificate_authority: trustme.CA, tmp_path: Path, job_for: JobFactory
) -> None:
    with SmtpSink(implicit_tls=_server_context(certificate_authority)) as sink:
        tls = _trusting(settings, certificate_authority, tmp_path, sink, smtp_tls="ssl")
        result = EmailSender(tls).deliver(job_for("mailsite", "https://mailsite.example/ssl"))
        assert result.outcome == Outcome.DELIVERED, result.error
        assert sink.encrypted_sessions == 1


EVIL = "evil@attacker.example"


def nothing_reached(smtp: SmtpSink, *recipients: str) -> None:
    """No message to these addresses, and none anywhere with an injected header."""
    for recipient in (*recipients, EVIL):
        assert smtp.to(recipient) == []
    for delivered in smtp.messages:
        assert delivered.message["Bcc"] is None
        assert EVIL not in delivered.message.as_string()


@pytest.mark.parametrize(
    "to",
    [
        f"ncii@mailsite.example\r\nBcc: {EVIL}",
        f"ncii@mailsite.example\nBcc: {EVIL}",
        f"ncii@mailsite.example\x00Bcc: {EVIL}",
        f"ncii@mailsite.example\u2028Bcc: {EVIL}",
    ],
    ids=["crlf", "lf", "nul", "line-separator"],
)
def test_a_platform_address_that_would_inject_a_header_fails_and_nothing_is_sent(
    settings: Settings, smtp: SmtpSink, job_for: JobFactory, to: str
) -> None:
    # As if a platform file had been read without validation (the loader refuses it).
    job = job_for("mailsite", "https://mailsite.example/inject")
    unchecked = EmailChannel.model_construct(type="email", to=to)
    result = EmailSender(settings).deliver(replace(job, channel_config=unchecked))
    assert result.outcome == Outcome.PERMANENT
    assert result.error == (
        "the email could not be built: the To header must not contain line breaks or "
        "control characters"
    )
    nothing_reached(smtp, to)


def test_a_nul_the_email_package_lets_through_is_refused_before_connecting(
    settings: Settings, smtp: SmtpSink
) -> None:
    # The stdlib refuses CR and LF in a header, but not NUL: the last check must.
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = "reports@helpline.example"
    message["To"] = "ncii@mailsite.example"
    message["Subject"] = f"Removal request\x00Bcc: {EVIL}"
    message.set_content("body")
    result = EmailSender(settings).transmit(message, "ncii@mailsite.example")
    assert result.outcome == Outcome.PERMANENT
    assert result.error == (
        "the email was not sent: the Subject header must not contain line breaks or "
        "control characters"
    )
    nothing_reached(smtp)


def test_an_envelope_recipient_that_would_inject_an_smtp_command_is_permanent(
    settings: Settings, smtp: SmtpSink
) -> None:
    message = EmailMessage(policy=policy.SMTP)
    message["To"] = "ncii@mailsite.example"
    message.set_content("body")
    to = f"ncii@mailsite.example>\r\nRCPT TO:<{EVIL}"
    result = EmailSender(settings).transmit(message, to)
    # Before the check, smtplib raised a ValueError that delivery took for "ambiguous".
    assert result.outcome == Outcome.PERMANENT
    assert "the envelope recipient must not contain line breaks" in (result.error or "")
    nothing_reached(smtp)
