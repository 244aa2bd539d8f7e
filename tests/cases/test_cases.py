"""Opening cases, adding links and queueing: validated first, nothing half-stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from takedown.cases.erasure import close_case, erase_case
from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.cases.reading import case_status, list_cases, overdue_requests
from takedown.cases.service import CaseChanges, find_case, reopen_case, update_case
from takedown.catalogue.platforms import catalogue_for
from takedown.config import Settings, get_settings
from takedown.contacts.abuse_contacts import Suggestion
from takedown.delivery.lifecycle import move, record_sent
from takedown.errors import ConfigError, Conflict, InputError
from takedown.monitoring.deadlines import mark_overdue
from takedown.store.audit import history
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import Item, RemovalRequest
from takedown.store.states import RequestState
from takedown.testing.cases import TEST_ACTOR, open_test_case, queued_case, sent_request
from takedown.testing.environment import Configure


def new_case(language: str = "fi") -> str:
    with session_scope() as session:
        return open_test_case(session, language=language).id


@pytest.mark.usefixtures("environment")
def test_a_case_gets_an_id_and_a_reference_that_does_not_name_the_victim() -> None:
    case_id = new_case()
    with session_scope() as session:
        case = find_case(session, case_id)
        assert case.reference.startswith("TD-")
        assert "Aino" not in case.reference
        assert find_case(session, case.reference.lower()).id == case_id
        assert find_case(session, case_id[:8]).id == case_id


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize(
    ("name", "email", "language", "field", "message"),
    [
        ("Aino", "aino@example.org", "xx", "language", "'xx' is not supported; use one of en, fi"),
        ("Aino", "not-an-email", "fi", "victim_email", "'not-an-email' is not an email address"),
        ("   ", "aino@example.org", "fi", "victim_name", "must not be empty"),
        ("Aino\r\nBcc: x", "aino@example.org", "fi", "victim_name", "must not contain line breaks"),
    ],
)
def test_bad_case_input_is_refused_naming_the_field(
    name: str, email: str, language: str, field: str, message: str
) -> None:
    with pytest.raises(InputError) as refused, session_scope() as session:
        open_test_case(session, victim_name=name, victim_email=email, language=language)
    assert refused.value.field == field
    assert refused.value.message.startswith(message)


def count_items(case_id: str) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).where(Item.case_id == case_id)) or 0


def test_one_malformed_link_stores_none_of_the_batch(environment: Settings) -> None:
    case_id = new_case()
    catalogue = catalogue_for(environment.platforms_dir)
    with (
        pytest.raises(InputError, match=r"^urls: the link must start with http") as refused,
        session_scope() as session,
    ):
        add_links(
            session,
            find_case(session, case_id),
            ["https://formsite.example/p/1", "formsite.example/p/2"],
            catalogue,
            actor=TEST_ACTOR,
        )
    assert (refused.value.field, refused.value.index) == ("urls", 2)
    assert refused.value.value == "formsite.example/p/2"
    assert count_items(case_id) == 0


def test_links_are_matched_kept_when_unknown_and_never_added_twice(environment: Settings) -> None:
    case_id = new_case()
    catalogue = catalogue_for(environment.platforms_dir)
    links = ["https://www.formsite.example/p/1", "https://nowhere.example/x.jpg"]
    with session_scope() as session:
        added = add_links(session, find_case(session, case_id), links, catalogue, actor=TEST_ACTOR)
        assert [i.platform_id for i in added.added] == ["formsite", None]
        assert [i.url for i in added.unmatched] == ["https://nowhere.example/x.jpg"]
    with session_scope() as session:
        again = add_links(
            session, find_case(session, case_id), links[:1], catalogue, actor=TEST_ACTOR
        )
        assert again.added == []
        assert again.already_there == links[:1]
    assert count_items(case_id) == 2


def test_queue_makes_one_request_per_link_and_never_a_second_one(environment: Settings) -> None:
    case_id = new_case()
    catalogue = catalogue_for(environment.platforms_dir)
    links = [
        "https://formsite.example/p/1",
        "https://mailsite.example/p/2",
        "https://nowhere.example/3",
    ]
    with session_scope() as session:
        case = find_case(session, case_id)
        add_links(session, case, links, catalogue, actor=TEST_ACTOR)
        first = queue_case(session, case, catalogue, actor=TEST_ACTOR)
    with session_scope() as session:
        second = queue_case(session, find_case(session, case_id), catalogue, actor=TEST_ACTOR)
    assert len(first.request_ids) == 2
    assert first.no_platform == ["https://nowhere.example/3"]
    assert second.request_ids == []
    assert second.already_requested == 2
    with session_scope() as session:
        states = session.scalars(
            select(RemovalRequest.state).where(RemovalRequest.id.in_(first.request_ids))
        ).all()
    assert states == [RequestState.QUEUED, RequestState.QUEUED]


@pytest.mark.usefixtures("environment")
def test_queueing_before_a_notifier_is_configured_is_refused_and_stores_nothing(
    configure: Configure,
) -> None:
    settings = configure(TAKEDOWN_NOTIFIER_NAME="")
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session)
        add_links(session, case, ["https://formsite.example/p/1"], catalogue, actor=TEST_ACTOR)
        case_id = case.id
    with pytest.raises(ConfigError, match="TAKEDOWN_NOTIFIER_NAME and"), session_scope() as s:
        queue_case(s, find_case(s, case_id), catalogue, actor=TEST_ACTOR)
    with session_scope() as session:
        assert [item.requests for item in find_case(session, case_id).items] == [[]]


def test_status_follows_the_json_contract(environment: Settings) -> None:
    case_id = new_case()
    catalogue = catalogue_for(environment.platforms_dir)
    with session_scope() as session:
        case = find_case(session, case_id)
        add_links(session, case, ["https://mailsite.example/p/1"], catalogue, actor=TEST_ACTOR)
        queue_case(session, case, catalogue, actor=TEST_ACTOR)
    with session_scope() as session:
        status = case_status(session, find_case(session, case_id), actor=TEST_ACTOR).model_dump()
    assert {"id", "reference", "items"} <= status.keys()
    item = status["items"][0]
    assert {"url", "platform", "status", "requests"} <= item.keys()
    request = item["requests"][0]
    assert {
        "id",
        "platform",
        "channel",
        "state",
        "ticket",
        "attempts",
        "last_error",
    } <= request.keys()
    assert (item["platform"], request["channel"], request["state"]) == (
        "mailsite",
        "email",
        "queued",
    )
    assert "Aino" not in str(status)


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:8080/admin",
        "http://10.1.2.3/x.jpg",
        "http://169.254.169.254/latest/meta-data/",  # a cloud metadata service
        "http://[::1]/x",
        "http://localhost/x.jpg",  # a name that resolves to loopback
    ],
)
def test_a_link_to_a_non_public_address_is_refused_and_nothing_is_stored(
    configure: Configure, link: str
) -> None:
    settings = configure(TAKEDOWN_ALLOW_PRIVATE_TARGETS="0")
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session)
        with pytest.raises(InputError) as refused:
            add_links(
                session, case, ["https://mailsite.example/p/1", link], catalogue, actor=TEST_ACTOR
            )
        assert (refused.value.field, refused.value.index, refused.value.value) == ("urls", 2, link)
        assert "is not a public address; refused" in refused.value.message
        assert session.scalar(select(func.count()).where(Item.case_id == case.id)) == 0
        # A public address, and a name that does not resolve (yet), are accepted.
        added = add_links(
            session,
            case,
            ["http://93.184.215.14/x.jpg", "https://mailsite.example/p/1"],
            catalogue,
            actor=TEST_ACTOR,
        )
        assert len(added.added) == 2


def test_the_case_list_counts_every_request_that_reached_its_platform(
    environment: Settings,
) -> None:
    queued = queued_case(
        environment, ["https://mailsite.example/p/1", "https://formsite.example/p/2"]
    )
    with session_scope() as session:
        first, second = (session.get_one(RemovalRequest, rid) for rid in queued.request_ids)
        for request in (first, second):
            move(session, request, RequestState.SENDING, "test")
            record_sent(session, request, "T-1", 48, "test")
        # The first was removed since, the second passed its deadline: both were sent.
        move(session, first, RequestState.REMOVED, "test")
        move(session, second, RequestState.OVERDUE, "test")
    with session_scope() as session:
        (summary,) = [row for row in list_cases(session) if row.id == queued.case_id]
    assert (summary.links, summary.sent) == (2, 2)


@pytest.mark.usefixtures("environment")
def test_a_basis_chosen_by_the_caseworker_applies_to_abuse_contact_requests_too() -> None:
    with session_scope() as session:
        case = open_test_case(session, country="FI")  # the DSA would be chosen for FI
        catalogue = catalogue_for(get_settings().platforms_dir)
        added = add_links(
            session, case, ["https://nowhere.example/x.jpg"], catalogue, actor=TEST_ACTOR
        )
        contacts = {added.unmatched[0].id: Suggestion("abuse@hoster.example", "RDAP said so")}
        queued = queue_case(
            session, case, catalogue, actor=TEST_ACTOR, basis="terms", contacts=contacts
        )
        (request_id,) = queued.awaiting_contact
        assert session.get_one(RemovalRequest, request_id).legal_basis == "terms"


@pytest.mark.usefixtures("environment")
def test_an_update_with_one_bad_field_changes_nothing() -> None:
    with session_scope() as session:
        case = open_test_case(session, country="FI")
        case_id = case.id
    changes = CaseChanges(notes="new notes", country="SE", victim_phone="not a phone")
    with session_scope() as session:
        case = find_case(session, case_id)
        with pytest.raises(InputError) as refused:
            update_case(session, case, changes, actor=TEST_ACTOR)
        # Refused before anything was set, not only rolled back afterwards.
        assert (case.notes, case.country, case.victim_phone) == (None, "FI", None)
    assert refused.value.field == "victim_phone"


@pytest.mark.usefixtures("environment")
def test_a_closed_case_reopens_for_new_links_and_an_erased_one_refuses_every_change() -> None:
    catalogue = catalogue_for(get_settings().platforms_dir)
    case_id = new_case()
    with session_scope() as session:
        close_case(session, find_case(session, case_id), utcnow(), actor=TEST_ACTOR)
    with session_scope() as session:
        reopen_case(session, find_case(session, case_id), actor=TEST_ACTOR)
    with session_scope() as session:
        case = find_case(session, case_id)
        assert case.closed_at is None
        add_links(session, case, ["https://formsite.example/p/1"], catalogue, actor=TEST_ACTOR)
        erase_case(session, case, utcnow(), actor=TEST_ACTOR)
    erased = "was erased on"
    with session_scope() as session:
        case = find_case(session, case_id)
        with pytest.raises(Conflict, match=erased):
            reopen_case(session, case, actor=TEST_ACTOR)
        with pytest.raises(Conflict, match=erased):
            update_case(session, case, CaseChanges(notes="a note"), actor=TEST_ACTOR)
        with pytest.raises(Conflict, match=erased):
            add_links(session, case, ["https://formsite.example/p/2"], catalogue, actor=TEST_ACTOR)
    with session_scope() as session:
        actions = [entry.action for entry in history(session, case_id)]
    assert actions[:4] == ["case opened", "case closed", "case reopened", "links added"]
    assert actions[-1] == "case erased"


def test_the_overdue_list_is_audited_for_every_case_it_shows(environment: Settings) -> None:
    item_id, request_id = sent_request(environment)
    with session_scope() as session:
        mark_overdue(session, utcnow() + timedelta(hours=49))
    with session_scope() as session:
        listed = overdue_requests(session, actor="caseworker.maija")
        case_id = session.get_one(Item, item_id).case_id
    assert request_id in [row.id for row in listed]
    with session_scope() as session:
        shown = [(e.actor, e.action) for e in history(session, case_id)]
    assert ("caseworker.maija", "overdue listed") in shown
