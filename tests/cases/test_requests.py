"""What a caseworker does to one request, called as every door calls it."""

from __future__ import annotations

import pytest

from takedown.cases.requests import mark_sent, package_of
from takedown.config import Settings
from takedown.delivery.deliver import deliver
from takedown.delivery.lifecycle import move
from takedown.errors import Conflict
from takedown.store.audit import history
from takedown.store.db import session_scope
from takedown.store.models import RemovalRequest
from takedown.store.states import RequestState
from takedown.testing.cases import TEST_ACTOR, queued_case


def test_a_request_whose_platform_file_was_removed_can_still_be_marked_sent(
    environment: Settings,
) -> None:
    (request_id,) = queued_case(environment, ["https://mailsite.example/p/gone"]).request_ids
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        move(session, request, RequestState.SENDING, "test")
        move(session, request, RequestState.FAILED, "test")
        request.platform_id = "renamed-since"  # no file of that name any more
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        mark_sent(session, request, "T-7", environment, actor=TEST_ACTOR)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        # Recorded as the person says; its platform's deadline can no longer be known.
        assert (request.state, request.ticket, request.deadline_at) == ("sent", "T-7", None)


def test_a_manual_package_is_shown_once_there_is_one_and_each_viewing_is_audited(
    environment: Settings,
) -> None:
    (request_id,) = queued_case(environment, ["https://handsite.example/p/1"]).request_ids
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        with pytest.raises(Conflict, match=f"request {request_id[:8]} has no manual package"):
            package_of(session, request, actor=TEST_ACTOR)
    assert deliver(request_id, environment) is False  # a manual channel: a package is made
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert request.state == RequestState.AWAITING_CASEWORKER
        package = package_of(session, request, actor=TEST_ACTOR)
        case_id = request.item.case_id
    assert "https://handsite.example/p/1" in package
    with session_scope() as session:
        viewed = [e for e in history(session, case_id) if e.action == "package viewed"]
    assert [(e.actor, e.request) for e in viewed] == [(TEST_ACTOR, request_id)]
