"""What a caseworker does to one request, called as every door calls it."""

from __future__ import annotations

from takedown.cases.requests import mark_sent
from takedown.config import Settings
from takedown.delivery.lifecycle import move
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
