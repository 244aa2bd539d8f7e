"""Victim notifications: in the victim's language, batched, never pointing at the content."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from takedown.cases.links import add_links
from takedown.cases.service import find_case
from takedown.catalogue.platforms import catalogue_for
from takedown.config import Settings, bundled_dir
from takedown.messages.alerts import open_alerts
from takedown.messages.notifications import record_event, send_due
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import Case, Notification
from takedown.testing.cases import TEST_ACTOR, open_test_case
from takedown.testing.environment import Configure
from takedown.testing.smtp_sink import Delivered, SmtpSink

LINKS = ["https://mailsite.example/p/secret-1", "https://formsite.example/p/secret-2"]


def new_case(settings: Settings, language: str) -> tuple[str, str]:
    victim = f"victim-{uuid.uuid4().hex[:8]}@example.org"
    with session_scope() as session:
        case = open_test_case(session, victim_email=victim, language=language)
        add_links(session, case, LINKS, catalogue_for(settings.platforms_dir), actor=TEST_ACTOR)
        return case.id, victim


def tell(case_id: str, *events: str) -> None:
    with session_scope() as session:
        for event in events:
            record_event(session, case_id, event)


def inbox(smtp: SmtpSink, victim: str) -> list[Delivered]:
    return smtp.to(victim)


def alerts_about(case_id: str) -> list[str]:
    with session_scope() as session:
        reference = session.get_one(Case, case_id).reference
        return [alert.what for alert in open_alerts(session) if alert.case == reference]


@pytest.mark.parametrize(
    ("language", "subject"), [("fi", "Päivitys asiaasi"), ("de", "Neuigkeiten zu Ihrem Anliegen")]
)
def test_a_notification_is_in_the_victims_language_and_names_no_link(
    environment: Settings, smtp: SmtpSink, language: str, subject: str
) -> None:
    case_id, victim = new_case(environment, language)
    tell(case_id, "requests_sent")
    assert send_due(environment) >= 1
    (mail,) = inbox(smtp, victim)
    message = mail.message
    assert message["Content-Language"] == language
    assert message["Subject"].startswith(subject)
    text = message.as_string() + message.get_content()
    for secret in ("secret-1", "secret-2", "mailsite", "formsite", "http", "Aino"):
        assert secret not in text


def test_events_within_the_interval_are_combined_into_one_later_message(
    environment: Settings, smtp: SmtpSink
) -> None:
    case_id, victim = new_case(environment, "en")
    tell(case_id, "requests_sent")
    send_due(environment)
    tell(case_id, "content_removed", "caseworker_needs_you")
    send_due(environment, utcnow() + timedelta(hours=1))
    assert len(inbox(smtp, victim)) == 1  # held: the last message was an hour ago
    send_due(environment, utcnow() + timedelta(hours=13))
    _first, digest = inbox(smtp, victim)
    body = digest.message.get_content()
    assert "caseworker" in body
    with session_scope() as session:
        states = [n.state for n in session.query(Notification).filter_by(case_id=case_id)]
    assert states == ["sent", "sent", "sent"]


def test_everything_removed_goes_at_once_even_within_the_interval(
    environment: Settings, smtp: SmtpSink
) -> None:
    case_id, victim = new_case(environment, "sv")
    tell(case_id, "requests_sent")
    send_due(environment)
    tell(case_id, "all_removed")
    send_due(environment, utcnow() + timedelta(minutes=5))
    assert len(inbox(smtp, victim)) == 2


def test_a_victim_who_opted_out_gets_nothing(environment: Settings, smtp: SmtpSink) -> None:
    case_id, victim = new_case(environment, "fi")
    with session_scope() as session:
        session.get_one(Case, case_id).notify = False
    tell(case_id, "all_removed")
    send_due(environment)
    assert inbox(smtp, victim) == []
    with session_scope() as session:
        assert [n.state for n in session.query(Notification).filter_by(case_id=case_id)] == [
            "skipped"
        ]


def test_an_smtp_deferral_is_retried_later(environment: Settings, smtp: SmtpSink) -> None:
    case_id, victim = new_case(environment, "en")
    smtp.refuse(victim, "451 4.3.0 Mailbox busy")
    tell(case_id, "requests_sent")
    assert send_due(environment) == 0
    assert send_due(environment, utcnow() + timedelta(seconds=10)) == 1
    assert len(inbox(smtp, victim)) == 1


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize(
    "leak",
    [
        "See https://x.example",  # any web address
        "Ask www.x.example",
        "It was on mailsite.example",  # a link's bare host, without http or www
        "It was on subsite.example",  # the site a link's host (m.subsite.example) is under
    ],
)
def test_a_template_that_mentions_a_web_address_is_never_sent(
    smtp: SmtpSink, tmp_path: Path, configure: Configure, leak: str
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(bundled_dir("templates"), templates)
    leaky = templates / "notifications" / "requests_sent" / "en.j2"
    leaky.write_text(leaky.read_text().replace("{% endblock %}", f" {leak} {{% endblock %}}", 2))
    settings = configure(TAKEDOWN_TEMPLATES_DIR=str(templates))
    case_id, victim = new_case(settings, "en")
    with session_scope() as session:
        case = find_case(session, case_id)
        catalogue = catalogue_for(settings.platforms_dir)
        add_links(session, case, ["https://m.subsite.example/p/3"], catalogue, actor=TEST_ACTOR)
    tell(case_id, "requests_sent")
    send_due(settings)
    assert inbox(smtp, victim) == []
    with session_scope() as session:
        (row,) = session.query(Notification).filter_by(case_id=case_id)
        assert row.state == "failed"
        assert "mentions a link or a web address" in (row.last_error or "")
    # The caseworker hears of it, to tell the victim another way.
    (what,) = alerts_about(case_id)
    assert what.startswith("a progress email to the victim could not be written")


def test_a_refusal_quoting_the_victims_address_is_stored_without_it(
    environment: Settings, smtp: SmtpSink
) -> None:
    case_id, victim = new_case(environment, "en")
    smtp.refuse(victim, f"550 5.1.1 <{victim}>: Recipient address rejected")
    tell(case_id, "requests_sent")
    assert send_due(environment) == 0
    with session_scope() as session:
        (row,) = session.scalars(select(Notification).where(Notification.case_id == case_id))
        assert row.state == "failed"
        assert row.last_error is not None
        assert "550 5.1.1 <[email]>: Recipient address rejected" in row.last_error
        assert victim not in row.last_error
    (what,) = alerts_about(case_id)
    assert what.startswith("a progress email to the victim could not be sent")
    assert victim not in what


@pytest.mark.parametrize("separator", ["\r\n", "\x00"], ids=["crlf", "nul"])
def test_a_stored_address_that_would_inject_a_header_fails_and_nothing_is_sent(
    environment: Settings, smtp: SmtpSink, separator: str
) -> None:
    # Stored around the checks of `case new` (an old row, an edit in the database).
    if separator == "\x00" and environment.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL cannot store a NUL at all")
    victim = f"victim-{uuid.uuid4().hex[:8]}@example.org"
    evil = f"evil-{uuid.uuid4().hex[:8]}@attacker.example"
    with session_scope() as session:
        case_id = open_test_case(session, victim_email=victim, language="en").id
        session.get_one(Case, case_id).victim_email = f"{victim}{separator}Bcc: {evil}"
    tell(case_id, "requests_sent")
    assert send_due(environment) == 0
    assert smtp.to(victim) == []
    assert smtp.to(evil) == []
    assert not [m for m in smtp.messages if evil in m.message.as_string()]
    with session_scope() as session:
        (row,) = session.query(Notification).filter_by(case_id=case_id)
        assert (row.state, row.last_error) == (
            "failed",
            "the To header must not contain line breaks or control characters",
        )


HASHING = ["https://hashsite.example/p/secret-3", "https://mailsite.example/p/secret-4"]


def hashing_case(settings: Settings, language: str = "en", **fields: object) -> tuple[str, str]:
    victim = f"victim-{uuid.uuid4().hex[:8]}@example.org"
    with session_scope() as session:
        case = open_test_case(session, victim_email=victim, language=language, **fields)
        add_links(session, case, HASHING, catalogue_for(settings.platforms_dir), actor=TEST_ACTOR)
        return case.id, victim


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "take part in StopNCII.org"),
        ("fi", "mukana StopNCII.org -palvelussa"),
        ("sv", "deltar i StopNCII.org"),
        ("de", "nehmen an StopNCII.org teil"),
    ],
)
def test_the_first_message_about_sent_requests_tells_of_stopncii_once_without_naming_anyone(
    environment: Settings, smtp: SmtpSink, language: str, words: str
) -> None:
    case_id, victim = hashing_case(environment, language)
    tell(case_id, "requests_sent")
    assert send_due(environment) == 1
    (first,) = inbox(smtp, victim)
    body = first.message.get_content()
    assert words in body
    assert "Hashsite" not in body  # which platforms take part would say where to look
    # Requests sent again later (a reappearance, a new link): not told a second time.
    tell(case_id, "requests_sent")
    assert send_due(environment, utcnow() + timedelta(days=1)) == 1
    second = inbox(smtp, victim)[1].message.get_content()
    assert "StopNCII" not in second


def test_a_childs_case_is_told_of_take_it_down_instead(
    environment: Settings, smtp: SmtpSink
) -> None:
    case_id, victim = hashing_case(environment, minor=True)
    tell(case_id, "requests_sent")
    send_due(environment)
    body = inbox(smtp, victim)[0].message.get_content()
    assert "Take It Down (NCMEC)" in body
    assert "under 18" in body
    assert "StopNCII" not in body


def test_a_case_on_no_platform_that_takes_part_hears_of_no_programme(
    environment: Settings, smtp: SmtpSink
) -> None:
    case_id, victim = new_case(environment, "en")
    tell(case_id, "requests_sent")
    send_due(environment)
    body = inbox(smtp, victim)[0].message.get_content()
    assert "StopNCII" not in body
    assert "Take It Down" not in body
