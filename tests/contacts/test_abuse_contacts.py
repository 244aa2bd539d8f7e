"""Links on no known platform: the hosting provider's abuse address is found over RDAP (a
local registry answering recorded registry data), shown to the caseworker, and used only once
confirmed."""

from __future__ import annotations

import pytest

from takedown.cases.links import add_links
from takedown.cases.queueing import hosts_to_ask, queue_case
from takedown.cases.service import find_case
from takedown.catalogue.legal import legal_for
from takedown.catalogue.platforms import catalogue_for
from takedown.config import Settings
from takedown.contacts.abuse_contacts import confirm, suggestions_for
from takedown.delivery.deliver import deliver
from takedown.delivery.lifecycle import move
from takedown.errors import Conflict, InputError
from takedown.messages.alerts import open_alerts
from takedown.store.db import session_scope
from takedown.store.models import RemovalRequest
from takedown.store.states import RequestState
from takedown.testing.cases import TEST_ACTOR, open_test_case, queued_case
from takedown.testing.environment import Configure
from takedown.testing.loopback import Reply
from takedown.testing.rdap_server import RdapServer
from takedown.testing.smtp_sink import SmtpSink

GOOGLE = "74.125.225.229"  # ARIN's recorded answer names an abuse role with an email


@pytest.fixture
def registry(rdap: RdapServer, configure: Configure) -> Settings:
    return configure(TAKEDOWN_RDAP_BOOTSTRAP_URL=rdap.bootstrap_url)


def queue_unknown_link(settings: Settings, url: str, country: str = "FI") -> tuple[str, str]:
    """What `takedown queue` does: RDAP outside any transaction (it writes its own cache),
    then the requests."""
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session, country=country)
        add_links(session, case, [url], catalogue, actor=TEST_ACTOR)
        case_id = case.id
        hosts = hosts_to_ask(case, settings, catalogue)
    contacts = suggestions_for(hosts, settings)
    with session_scope() as session:
        case = find_case(session, case_id)
        legal = legal_for(settings.legal_dir)
        queued = queue_case(session, case, catalogue, legal, actor=TEST_ACTOR, contacts=contacts)
        (request_id,) = queued.awaiting_contact
        return request_id, case.reference


def test_the_suggested_address_waits_for_the_caseworker_then_gets_the_notice(
    registry: Settings, smtp: SmtpSink
) -> None:
    request_id, reference = queue_unknown_link(registry, f"http://{GOOGLE}/img/a1.jpg")
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert request.state == "awaiting_caseworker"
        assert request.contact_to == "arin-contact@google.com"
        assert "hosting provider (Google Inc.)" in (request.contact_note or "")
        assert "abuse role" in (request.contact_note or "")
        assert request.legal_basis == "dsa"  # a hosting service, for a victim in Finland
        alerts = [alert.what for alert in open_alerts(session) if alert.case == reference]
    assert alerts == ["abuse contact of a link on no known platform to confirm (takedown status)"]
    assert deliver(request_id, registry) is False  # not claimable: nothing is sent unconfirmed
    assert not any(reference in m.message["Subject"] for m in smtp.to("arin-contact@google.com"))

    with session_scope() as session:
        confirm(session, session.get_one(RemovalRequest, request_id), None)
    deliver(request_id, registry)
    with session_scope() as session:
        assert session.get_one(RemovalRequest, request_id).state == "sent"
    (mail,) = [m for m in smtp.to("arin-contact@google.com") if reference in m.message["Subject"]]
    assert f"http://{GOOGLE}/img/a1.jpg" in mail.message.get_content()


def test_a_caseworker_can_send_to_another_address_than_the_suggested_one(
    registry: Settings, smtp: SmtpSink
) -> None:
    request_id, reference = queue_unknown_link(registry, f"http://{GOOGLE}/img/b2.jpg")
    with session_scope() as session:
        confirm(session, session.get_one(RemovalRequest, request_id), "noc@hoster.example")
    deliver(request_id, registry)
    assert any(reference in m.message["Subject"] for m in smtp.to("noc@hoster.example"))
    assert not any(reference in m.message["Subject"] for m in smtp.to("arin-contact@google.com"))


def test_a_registry_answering_errors_leaves_the_address_to_the_caseworker(
    registry: Settings, rdap: RdapServer
) -> None:
    rdap.script(f"/arin/ip/{GOOGLE}", Reply(503, "busy"))
    request_id, _ = queue_unknown_link(registry, f"http://{GOOGLE}/img/c3.jpg")
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert request.contact_to is None
        assert "503" in (request.contact_note or "")
        with pytest.raises(InputError) as no_address:
            confirm(session, request, None)
        assert no_address.value.field == "to"
        assert no_address.value.message.startswith("RDAP found no address for this host")
        with pytest.raises(InputError, match="not an email address"):
            confirm(session, request, "nobody")


def test_a_stored_contact_that_would_inject_a_header_fails_for_good_and_nothing_is_sent(
    environment: Settings, smtp: SmtpSink
) -> None:
    request_id, _reference = queue_unknown_link(environment, "http://192.0.2.7/img/c3.jpg")
    evil = "evil@attacker.example"
    with session_scope() as session:
        # Around `contact confirm`, which refuses it: an old row, an edit in the database.
        request = session.get_one(RemovalRequest, request_id)
        request.contact_to = f"abuse@hoster.example\r\nBcc: {evil}"
        move(session, request, RequestState.QUEUED, "confirmed before addresses were checked")
    deliver(request_id, environment)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert request.state == RequestState.FAILED
        # Stored errors never quote an address (takedown.channels.base.Result).
        assert request.last_error == (
            f"the abuse contact '[email]\\r\\nBcc: [email]' of request {request_id[:8]} is not "
            "an email address; confirm another address for it"
        )
    assert smtp.to("abuse@hoster.example") == []
    assert smtp.to(evil) == []


def test_only_a_request_awaiting_its_contact_can_be_confirmed(registry: Settings) -> None:
    request_id, _ = queue_unknown_link(registry, f"http://{GOOGLE}/img/d4.jpg")
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        with pytest.raises(InputError, match="must not be empty"):
            confirm(session, request, "  ")
        confirm(session, request, None)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        with pytest.raises(Conflict, match="is queued; only a request awaiting its contact"):
            confirm(session, request, "noc@hoster.example")
        assert request.contact_to == "arin-contact@google.com"  # the first confirmation stands
    known = queued_case(registry, ["https://mailsite.example/p/d4"]).request_ids[0]
    with session_scope() as session, pytest.raises(Conflict, match="goes to a known platform"):
        confirm(session, session.get_one(RemovalRequest, known), "noc@hoster.example")
