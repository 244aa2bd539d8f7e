"""The request life cycle: allowed transitions only; the claim lets exactly one worker send."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.cases.requests import mark_sent, retry_request, withdraw_request
from takedown.cases.service import find_case
from takedown.catalogue.platforms import catalogue_for
from takedown.channels.base import Job, Outcome, Result, Sender
from takedown.config import Settings
from takedown.delivery import prepare as prepare_module
from takedown.delivery.deliver import SENDERS, deliver
from takedown.delivery.lifecycle import claim, move, record_sent
from takedown.delivery.outcome import Finished, store_outcome
from takedown.delivery.prepare import Prepared
from takedown.errors import Conflict
from takedown.store.columns import utcnow
from takedown.store.db import session_scope
from takedown.store.models import RemovalRequest
from takedown.store.states import RequestState
from takedown.testing.cases import TEST_ACTOR, open_test_case
from takedown.testing.environment import Configure
from takedown.testing.fake_platform import FakePlatform
from takedown.worker.housekeeping import sweep


def queued_request(settings: Settings, url: str = "https://mailsite.example/p/1") -> str:
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session)
        add_links(session, case, [url], catalogue, actor=TEST_ACTOR)
        return queue_case(
            session, find_case(session, case.id), catalogue, actor=TEST_ACTOR
        ).request_ids[0]


def test_a_sent_request_cannot_go_back_to_queued(environment: Settings) -> None:
    request_id = queued_request(environment)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        move(session, request, RequestState.SENDING, "test")
        move(session, request, RequestState.SENT, "test")
        with pytest.raises(Conflict, match="a request that is sent cannot become queued"):
            move(session, request, RequestState.QUEUED, "test")


def test_of_eight_racing_claims_exactly_one_wins(environment: Settings) -> None:
    request_id = queued_request(environment)
    barrier = threading.Barrier(8)
    wins: list[bool] = []

    def race() -> None:
        barrier.wait()
        with session_scope() as session:
            wins.append(claim(session, request_id) is not None)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert request.state == RequestState.SENDING
        claims = [t for t in request.transitions if t.to_state == RequestState.SENDING]
        assert len(claims) == 1


def test_a_retrying_request_is_not_claimed_before_its_time(environment: Settings) -> None:
    request_id = queued_request(environment)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        move(session, request, RequestState.SENDING, "test")
        move(session, request, RequestState.RETRYING, "test")
        request.next_attempt_at = utcnow() + timedelta(minutes=5)
    with session_scope() as session:
        assert claim(session, request_id) is None
    with session_scope() as session:
        assert claim(session, request_id, now=utcnow() + timedelta(minutes=6)) is not None


def test_the_sweeper_finds_unsent_requests_once_and_again_when_their_message_is_lost(
    environment: Settings,
) -> None:
    request_id = queued_request(environment)
    now = utcnow()
    with session_scope() as session:
        assert request_id in sweep(session, environment, now).due
    with session_scope() as session:
        assert request_id not in sweep(session, environment, now + timedelta(seconds=1)).due
    later = now + timedelta(seconds=environment.redeliver_after_seconds + 1)
    with session_scope() as session:
        assert request_id in sweep(session, environment, later).due


def test_a_retry_is_enqueued_when_due_even_if_an_earlier_try_left_its_stamp(
    environment: Settings,
) -> None:
    request_id = queued_request(environment)
    now = utcnow()
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        move(session, request, RequestState.SENDING, "test")
        move(session, request, RequestState.RETRYING, "503")
        request.enqueued_at = now  # stamped for the first try, never cleared
        request.next_attempt_at = now + timedelta(seconds=0.5)
    # All within the redelivery window (2 s here), so "the message was lost" cannot explain it.
    with session_scope() as session:
        assert request_id not in sweep(session, environment, now + timedelta(seconds=0.25)).due
    with session_scope() as session:
        assert request_id in sweep(session, environment, now + timedelta(seconds=1)).due
    with session_scope() as session:
        assert request_id not in sweep(session, environment, now + timedelta(seconds=1.5)).due


def test_a_request_stuck_in_sending_becomes_ambiguous_not_resent(environment: Settings) -> None:
    request_id = queued_request(environment)
    with session_scope() as session:
        assert claim(session, request_id) is not None
    later = utcnow() + timedelta(seconds=environment.sending_timeout_seconds + 1)
    with session_scope() as session:
        result = sweep(session, environment, later)
    assert request_id in result.stuck
    assert request_id not in result.due
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert request.state == RequestState.AMBIGUOUS
        assert "may have reached the platform" in (request.last_error or "")
        path = [(t.from_state, t.to_state) for t in request.transitions]
        assert path == [("pending", "queued"), ("queued", "sending"), ("sending", "ambiguous")]


@pytest.mark.parametrize(
    "action",
    [
        lambda s, r, settings: retry_request(s, r, settings, actor=TEST_ACTOR),
        lambda s, r, settings: mark_sent(s, r, "T-1", settings, actor=TEST_ACTOR),
        lambda s, r, _settings: withdraw_request(s, r, actor=TEST_ACTOR),
    ],
    ids=["retry", "mark-sent", "withdraw"],
)
def test_a_caseworker_cannot_act_on_a_request_a_worker_is_sending(
    environment: Settings, action: Callable[[Session, RemovalRequest, Settings], object]
) -> None:
    request_id = queued_request(environment)
    with session_scope() as session:
        assert claim(session, request_id) is not None
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        with pytest.raises(Conflict, match="is being sent right now; wait for the outcome"):
            action(session, request, environment)


def test_a_withdrawal_that_races_a_claim_fails_instead_of_being_overwritten(
    environment: Settings,
) -> None:
    request_id = queued_request(environment)
    with session_scope() as caseworker:
        request = caseworker.get_one(RemovalRequest, request_id)  # read while still queued
        with session_scope() as worker:
            assert claim(worker, request_id) is not None

        def withdraw_and_write() -> None:
            withdraw_request(caseworker, request, actor=TEST_ACTOR)
            caseworker.flush()

        with pytest.raises(StaleDataError):
            withdraw_and_write()
        caseworker.rollback()
    with session_scope() as session:
        assert session.get_one(RemovalRequest, request_id).state == RequestState.SENDING


def test_a_late_outcome_does_not_overwrite_what_the_sweeper_decided(environment: Settings) -> None:
    request_id = queued_request(environment)
    with session_scope() as session:
        request = claim(session, request_id)
    assert request is not None
    later = utcnow() + timedelta(seconds=environment.sending_timeout_seconds + 1)
    with session_scope() as session:
        sweep(session, environment, later)  # the worker looked dead: ambiguous
    platform = catalogue_for(environment.platforms_dir).get("mailsite")
    delivered = Result(Outcome.DELIVERED, smtp_reply="250 ok")
    finished = Finished(Prepared(platform), delivered, utcnow(), 5.0, request.claimed_at)
    again = store_outcome(request_id, finished, environment)
    assert again is False
    with session_scope() as session:
        stored = session.get_one(RemovalRequest, request_id)
        assert stored.state == RequestState.AMBIGUOUS
        assert [a.outcome for a in stored.attempt_rows] == ["delivered"]
        assert "a late answer arrived after this request became ambiguous: delivered" in (
            stored.last_error or ""
        )


def test_the_database_refuses_a_second_active_request_for_one_link(environment: Settings) -> None:
    # Two `takedown queue` runs at the same moment both see "no request yet"; the unique
    # index is what stops the second insert.
    request_id = queued_request(environment, "https://mailsite.example/p/twice")
    with session_scope() as session:
        item = session.get_one(RemovalRequest, request_id).item
        session.add(
            RemovalRequest(item=item, platform_id="mailsite", channel="email", state="queued")
        )
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
    with session_scope() as session:
        withdraw_request(session, session.get_one(RemovalRequest, request_id), actor=TEST_ACTOR)
    with session_scope() as session:  # a withdrawn request leaves room for a new one
        item = session.get_one(RemovalRequest, request_id).item
        session.add(
            RemovalRequest(item=item, platform_id="mailsite", channel="email", state="queued")
        )


def test_retry_starts_again_from_the_preferred_channel(environment: Settings) -> None:
    request_id = queued_request(environment, "https://fallbacksite.example/p/again")
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        move(session, request, RequestState.SENDING, "test")
        move(session, request, RequestState.FAILED, "test")
        request.channel_index, request.channel = 1, "email"
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        retry_request(session, request, environment, actor=TEST_ACTOR)
        assert (request.state, request.channel_index, request.channel) == ("queued", 0, "webform")


class CrashingSender(Sender):
    """A channel with a bug: it raises, as no platform's answer ever makes it."""

    kind = "email"

    def deliver(self, job: Job) -> Result:
        raise KeyError(job.request_id)


def request_state(request_id: str) -> tuple[str, str | None, int]:
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        return request.state, request.last_error, len(request.attempt_rows)


def test_a_channel_that_crashes_leaves_the_request_ambiguous_and_never_sends_it_again(
    environment: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = queued_request(environment)
    monkeypatch.setitem(SENDERS, "email", CrashingSender)
    assert deliver(request_id, environment) is False
    state, error, attempts = request_state(request_id)
    # It may have gone out before the crash: a person settles it.
    assert (state, attempts) == (RequestState.AMBIGUOUS, 1)
    assert error == "takedown's email channel failed unexpectedly; see the worker log"
    assert deliver(request_id, environment) is False
    assert request_state(request_id)[2] == 1


def test_a_crash_while_preparing_is_a_definite_not_sent_and_tried_again(
    environment: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = queued_request(environment)

    def broken(_request: RemovalRequest, _settings: Settings) -> Prepared:
        raise ZeroDivisionError

    monkeypatch.setattr(prepare_module, "prepare", broken)
    deliver(request_id, environment)
    state, error, _ = request_state(request_id)
    assert state == RequestState.RETRYING
    assert error == "takedown could not prepare the notice (ZeroDivisionError); not sent"


def test_a_request_that_cannot_be_prepared_fails_without_trying_the_next_channel(
    environment: Settings, configure: Configure, site: FakePlatform
) -> None:
    url = f"https://fallbacksite.example/p/{uuid.uuid4().hex[:8]}"
    request_id = queued_request(environment, url)
    # The notifier was unset after queueing: no notice can be signed on any channel.
    unsigned = configure(TAKEDOWN_NOTIFIER_NAME="")
    assert deliver(request_id, unsigned) is False
    state, error, _ = request_state(request_id)
    assert state == RequestState.FAILED
    assert (error or "").startswith("TAKEDOWN_NOTIFIER_NAME and")
    with session_scope() as session:
        assert session.get_one(RemovalRequest, request_id).channel == "webform"
    assert not [post for post in site.requests_to("/fallbacksite/intake") if url in str(post.form)]


def test_a_sent_request_gets_its_platforms_deadline_from_the_moment_it_was_sent(
    environment: Settings,
) -> None:
    request_id = queued_request(environment)
    sent_at = utcnow()
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        move(session, request, RequestState.SENDING, "test")
        record_sent(session, request, "T-42", 48, "delivered", now=sent_at)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        # TAKE IT DOWN Act: 48 hours from the notice, not before it.
        assert (request.state, request.ticket) == (RequestState.SENT, "T-42")
        assert request.sent_at == sent_at
        assert request.deadline_at == sent_at + timedelta(hours=48)
