"""After sending: removal confirmed before anyone is told, reappearance reopens, deadlines."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.cases.requests import confirm_reappeared, confirm_removed
from takedown.catalogue.platforms import catalogue_for
from takedown.config import Settings, bundled_dir
from takedown.contacts.abuse_contacts import Suggestion, confirm
from takedown.delivery.lifecycle import move, record_sent
from takedown.errors import Conflict
from takedown.messages.alerts import acknowledge, open_alerts
from takedown.monitoring.checks import Seen
from takedown.monitoring.recording import record_checks
from takedown.monitoring.visits import items_to_check
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import Check, Item, Notification, RemovalRequest
from takedown.store.states import CheckOutcome, RequestState
from takedown.testing.cases import TEST_ACTOR, open_test_case, queued_case, sent_request
from takedown.testing.environment import Configure
from takedown.worker.housekeeping import sweep

GONE = Seen(CheckOutcome.REMOVED, "HTTP 404", 404)
THERE = Seen(CheckOutcome.ONLINE, "HTTP 200", 200)
DOWN = Seen(CheckOutcome.UNKNOWN, "the platform is busy or failing (HTTP 503)", 503)


def visit(settings: Settings, item_id: str, seen: Seen, at_hours: float) -> str | None:
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        when = utcnow() + timedelta(hours=at_hours)
        changes = record_checks(session, [(item_id, seen, when)], settings, catalogue)
        return changes[0].what if changes else None


def state_of(request_id: str) -> tuple[str, str]:
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        return request.item.status, request.state


def test_removal_is_confirmed_by_a_second_check_before_requests_become_removed(
    environment: Settings,
) -> None:
    item_id, request_id = sent_request(environment)
    assert visit(environment, item_id, GONE, 0) == "seen gone; to be confirmed by a later check"
    assert state_of(request_id) == ("unknown", "sent")
    assert visit(environment, item_id, GONE, 1) is None  # too early: 4 h by default
    assert visit(environment, item_id, GONE, 5) == "removal confirmed"
    assert state_of(request_id) == ("removed", "removed")


def test_a_5xx_between_two_sightings_neither_confirms_nor_cancels(environment: Settings) -> None:
    item_id, request_id = sent_request(environment)
    visit(environment, item_id, GONE, 0)
    visit(environment, item_id, DOWN, 5)
    assert state_of(request_id) == ("unknown", "sent")
    assert visit(environment, item_id, GONE, 6) == "removal confirmed"


def test_content_back_before_confirmation_is_not_removed(environment: Settings) -> None:
    item_id, request_id = sent_request(environment)
    visit(environment, item_id, GONE, 0)
    assert visit(environment, item_id, THERE, 5) == "back online before its removal was confirmed"
    assert state_of(request_id) == ("online", "sent")


def test_reappearance_reopens_the_link_and_queues_a_new_request(environment: Settings) -> None:
    item_id, _ = sent_request(environment)
    visit(environment, item_id, GONE, 0)
    visit(environment, item_id, GONE, 5)
    assert visit(environment, item_id, THERE, 48) == "back online; a new request is queued"
    with session_scope() as session:
        item = session.get_one(Item, item_id)
        assert item.status == "reappeared"
        assert [r.state for r in item.requests] == ["removed", "queued"]
        reference = item.case.reference
        (alert,) = [a for a in open_alerts(session) if a.case == reference]
        assert alert.what == "content back online after removal"
        assert (
            "mailsite" not in alert.model_dump_json()
        )  # the link is shown by `status`, not in alerts
        acknowledge(session, alert.id, actor=TEST_ACTOR)
    with session_scope() as session:
        assert [a for a in open_alerts(session) if a.case == reference] == []


def test_a_reappeared_link_that_flickers_stays_reappeared_until_removal_is_confirmed(
    environment: Settings,
) -> None:
    item_id, _ = sent_request(environment)
    visit(environment, item_id, GONE, 0)
    visit(environment, item_id, GONE, 5)
    visit(environment, item_id, THERE, 48)
    assert visit(environment, item_id, GONE, 50) == "seen gone; to be confirmed by a later check"
    assert visit(environment, item_id, THERE, 51) == "back online before its removal was confirmed"
    with session_scope() as session:
        item = session.get_one(Item, item_id)
        assert item.status == "reappeared"
        assert [r.state for r in item.requests] == ["removed", "queued"]
    visit(environment, item_id, GONE, 60)
    assert visit(environment, item_id, GONE, 65) == "removal confirmed"
    with session_scope() as session:
        item = session.get_one(Item, item_id)
        assert item.status == "removed"
        # The content went before the new request did: it is withdrawn, not sent.
        assert [r.state for r in item.requests] == ["removed", "withdrawn"]


def test_a_link_sent_to_an_abuse_contact_that_reappears_is_left_to_the_caseworker(
    environment: Settings,
) -> None:
    catalogue = catalogue_for(environment.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session)
        added = add_links(
            session, case, ["https://nowhere.example/x.jpg"], catalogue, actor=TEST_ACTOR
        )
        item_id = added.unmatched[0].id
        contacts = {item_id: Suggestion("abuse@hoster.example", "RDAP said so")}
        (request_id,) = queue_case(
            session, case, catalogue, actor=TEST_ACTOR, contacts=contacts
        ).awaiting_contact
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        confirm(session, request, None)
        move(session, request, RequestState.SENDING, "test")
        record_sent(session, request, "T-9", 48, "test")
    visit(environment, item_id, GONE, 0)
    visit(environment, item_id, GONE, 5)
    # No platform file says where a new request would go: a person decides.
    assert (
        visit(environment, item_id, THERE, 48) == "back online; no platform file to send a request"
    )
    with session_scope() as session:
        item = session.get_one(Item, item_id)
        assert item.status == "reappeared"
        assert [r.state for r in item.requests] == ["removed"]
        (alert,) = [a for a in open_alerts(session) if a.case == item.case.reference]
        assert alert.what == "content back online after removal"


def test_removed_links_are_watched_for_thirty_days_then_left_alone(environment: Settings) -> None:
    item_id, _ = sent_request(environment)
    visit(environment, item_id, GONE, 0)
    visit(environment, item_id, GONE, 5)
    with session_scope() as session:
        assert item_id in items_to_check(session, environment, utcnow() + timedelta(days=29))
        assert item_id not in items_to_check(session, environment, utcnow() + timedelta(days=31))


def test_a_request_past_its_deadline_becomes_overdue_at_the_next_sweep(
    environment: Settings,
) -> None:
    _, request_id = sent_request(environment)  # sent with a 48-hour deadline
    with session_scope() as session:
        assert request_id not in sweep(session, environment, utcnow() + timedelta(hours=47)).overdue
    with session_scope() as session:
        assert request_id in sweep(session, environment, utcnow() + timedelta(hours=49)).overdue
    # Mailsite takes email, so the same sweep queues the follow-up (tests/test_escalation.py).
    assert state_of(request_id)[1] == "escalated"


def test_content_removed_before_the_notice_went_out_withdraws_the_request(
    environment: Settings,
) -> None:
    catalogue = catalogue_for(environment.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session)
        add_links(session, case, ["https://mailsite.example/p/early"], catalogue, actor=TEST_ACTOR)
        request_id = queue_case(session, case, catalogue, actor=TEST_ACTOR).request_ids[0]
        item_id = session.get_one(RemovalRequest, request_id).item_id
    visit(environment, item_id, GONE, 0)
    visit(environment, item_id, GONE, 5)
    assert state_of(request_id) == ("removed", "withdrawn")


def test_a_link_whose_host_stays_busy_is_left_for_a_later_check(environment: Settings) -> None:
    from collections.abc import Iterator
    from contextlib import contextmanager

    from takedown.monitoring.visits import HostBusy, check_now

    item_id, _ = sent_request(environment, "https://mailsite.example/p/busy")

    @contextmanager
    def saturated(host: str) -> Iterator[object]:
        raise HostBusy(host)
        yield  # pragma: no cover

    finished: list[int] = []
    changes = check_now([item_id], environment, lambda: finished.append(1), gate=saturated)
    assert (changes, finished) == ([], [1])
    with session_scope() as session:
        item = session.get_one(Item, item_id)
        assert (item.last_checked_at, item.status) == (None, "unknown")


@pytest.mark.usefixtures("environment")
def test_a_group_that_removes_a_cases_last_links_tells_everything_removed_once(
    configure: Configure,
) -> None:
    from takedown.monitoring.recording import record_checks
    from takedown.store.models import Notification

    settings = configure(TAKEDOWN_REMOVAL_CONFIRM_SECONDS="0")
    catalogue = catalogue_for(settings.platforms_dir)
    links = ["https://mailsite.example/p/g1", "https://mailsite.example/p/g2"]
    with session_scope() as session:
        case = open_test_case(session)
        item_ids = [
            item.id for item in add_links(session, case, links, catalogue, actor=TEST_ACTOR).added
        ]
        case_id = case.id
    now = utcnow()
    with session_scope() as session:
        results = [(item_id, GONE, now) for item_id in item_ids]
        changes = record_checks(session, results, settings, catalogue)
    assert [change.what for change in changes] == ["removal confirmed"] * 2
    with session_scope() as session:
        events = session.scalars(
            select(Notification.event).where(Notification.case_id == case_id)
        ).all()
        checks = session.scalar(select(func.count()).where(Check.item_id.in_(item_ids)))
    assert sorted(events) == ["all_removed", "content_removed"]
    assert checks == 2


def legal_data_without(basis: str, into: Path) -> Path:
    """A copy of the legal data that lacks one basis (a platform file may still list it)."""
    shutil.copytree(bundled_dir("legal"), into)
    bases = yaml.safe_load((into / "bases.yaml").read_text(encoding="utf-8"))
    del bases[basis]
    (into / "bases.yaml").write_text(yaml.safe_dump(bases, allow_unicode=True), encoding="utf-8")
    return into


def test_a_legal_check_that_fails_for_one_reappeared_link_leaves_the_others_of_the_batch(
    environment: Settings, configure: Configure, tmp_path: Path
) -> None:
    # A US victim: TAKE IT DOWN is tried first, and Lawsite's file lists it; Mailsite's does not.
    urls = ["https://lawsite.example/p/1", "https://mailsite.example/p/1"]
    queued = queued_case(environment, urls, country="US", language="en")
    with session_scope() as session:
        for request_id in queued.request_ids:
            request = session.get_one(RemovalRequest, request_id)
            move(session, request, RequestState.SENDING, "test")
            record_sent(session, request, "T-1", 48, "test")
        lawsite, mailsite = (
            session.get_one(RemovalRequest, request_id).item_id for request_id in queued.request_ids
        )
    for item_id in (lawsite, mailsite):  # removed, and confirmed
        visit(environment, item_id, GONE, 0)
        visit(environment, item_id, GONE, 5)
    # Since then, the legal data was edited and lost the basis Lawsite's file still lists.
    legal = legal_data_without("take_it_down", tmp_path / "legal")
    settings = configure(TAKEDOWN_LEGAL_DIR=str(legal))

    later = utcnow() + timedelta(hours=48)
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        results = [(lawsite, THERE, later), (mailsite, THERE, later)]
        changes = {c.item_id: c for c in record_checks(session, results, settings, catalogue)}
    assert "no request could be queued: the legal data (bases.yaml) has no basis" in (
        changes[lawsite].what
    )
    assert changes[mailsite].new_request_id is not None
    with session_scope() as session:
        for item_id in (lawsite, mailsite):  # both visits are recorded, both links reopened
            assert session.get_one(Item, item_id).status == "reappeared"
            checks = select(func.count()).where(Check.item_id == item_id)
            assert session.scalar(checks) == 3
        reference = session.get_one(Item, lawsite).case.reference
        alerts = [alert.what for alert in open_alerts(session) if alert.case == reference]
    assert any("no request could be queued" in what for what in alerts)


def test_a_removal_confirmed_by_hand_is_not_reopened_by_a_check_that_may_see_a_page_shell(
    environment: Settings,
) -> None:
    item_id, request_id = sent_request(environment)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        confirm_removed(session, request, "platform-answered", actor=TEST_ACTOR)
    what = visit(environment, item_id, THERE, 24)
    assert what == "seen online again; a caseworker is asked to look"
    assert visit(environment, item_id, THERE, 48) is None  # asked once, not every night
    with session_scope() as session:
        item = session.get_one(Item, item_id)
        # Nothing sent again, and the victim not told it came back.
        assert (item.status, [r.state for r in item.requests]) == ("removed", ["removed"])
        events = session.scalars(
            select(Notification.event).where(Notification.case_id == item.case_id)
        )
        assert "content_reappeared" not in list(events)
        reference = item.case.reference
        (alert,) = [a for a in open_alerts(session) if a.case == reference]
        assert "takedown mark-reappeared" in alert.what

    # The caseworker looks, and it is back: as if a check had seen it.
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        new_id = confirm_reappeared(session, request, environment, actor=TEST_ACTOR)
    with session_scope() as session:
        item = session.get_one(Item, item_id)
        assert item.status == "reappeared"
        assert sorted(r.state for r in item.requests) == ["queued", "removed"]
        assert new_id in {r.id for r in item.requests}
        events = session.scalars(
            select(Notification.event).where(Notification.case_id == item.case_id)
        )
        assert "content_reappeared" in list(events)
        assert [a for a in open_alerts(session) if a.case == reference] == []
        request = session.get_one(RemovalRequest, request_id)
        with pytest.raises(Conflict, match="is reappeared, not removed"):
            confirm_reappeared(session, request, environment, actor=TEST_ACTOR)
