"""The transition tables: a row moves only along them, and a move they do not allow is
refused in words."""

from __future__ import annotations

import pytest

from takedown.errors import Conflict
from takedown.store.states import (
    LINK_ALLOWED,
    MESSAGE_ALLOWED,
    LinkStatus,
    MessageState,
    check_link_transition,
    check_message_transition,
)


def test_a_link_reappears_only_after_its_removal_was_confirmed() -> None:
    check_link_transition(LinkStatus.REMOVED, LinkStatus.REAPPEARED)
    check_link_transition(LinkStatus.REAPPEARED, LinkStatus.REMOVED)
    with pytest.raises(Conflict, match="a link that is online cannot become reappeared"):
        check_link_transition(LinkStatus.ONLINE, LinkStatus.REAPPEARED)
    with pytest.raises(Conflict, match="a link that is removed cannot become unknown"):
        check_link_transition(LinkStatus.REMOVED, LinkStatus.UNKNOWN)


def test_every_link_status_and_message_state_has_its_row_in_the_table() -> None:
    assert set(LINK_ALLOWED) == set(LinkStatus)
    assert set(MESSAGE_ALLOWED) == set(MessageState)


def test_an_email_that_went_out_or_may_have_is_never_sent_again() -> None:
    for done in (MessageState.SENT, MessageState.AMBIGUOUS, MessageState.FAILED):
        with pytest.raises(Conflict):
            check_message_transition(done, MessageState.SENDING)
    with pytest.raises(Conflict):  # only a claim, from pending, starts a send
        check_message_transition(MessageState.PENDING, MessageState.SENT)
