"""The states rows move through, each with its table of allowed transitions: removal requests
and links.

The removal-request life cycle:

```
pending → queued → sending → sent
            ↑        │ │ │
            └ retrying ← (transient: next_attempt_at, honouring Retry-After)
                     │ └→ failed     (permanent: a human must act)
                     └→ ambiguous   (may have reached the platform: a human decides)
manual channel: queued → sending → awaiting_caseworker → sent
withdrawn: a caseworker cancels anything not yet sent
after sending: sent → removed (confirmed gone), or sent → overdue (past the platform's
deadline) → escalated → removed
```
"""

from __future__ import annotations

from enum import StrEnum

from takedown.errors import Conflict


class RequestState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"
    AMBIGUOUS = "ambiguous"
    AWAITING_CASEWORKER = "awaiting_caseworker"
    WITHDRAWN = "withdrawn"
    REMOVED = "removed"
    OVERDUE = "overdue"
    ESCALATED = "escalated"


S = RequestState

ALLOWED: dict[RequestState, frozenset[RequestState]] = {
    # AWAITING_CASEWORKER: a request to an abuse address RDAP suggested waits for a person.
    S.PENDING: frozenset({S.QUEUED, S.WITHDRAWN, S.AWAITING_CASEWORKER}),
    S.QUEUED: frozenset({S.SENDING, S.WITHDRAWN}),
    S.RETRYING: frozenset({S.SENDING, S.WITHDRAWN}),
    S.SENDING: frozenset(
        # QUEUED: a permanent failure on one channel falls back to the next channel.
        {S.SENT, S.RETRYING, S.FAILED, S.AMBIGUOUS, S.AWAITING_CASEWORKER, S.QUEUED}
    ),
    # A caseworker settles these by hand: they checked it arrived, or they send it again.
    S.AMBIGUOUS: frozenset({S.SENT, S.QUEUED, S.WITHDRAWN}),
    S.FAILED: frozenset({S.QUEUED, S.SENT, S.WITHDRAWN}),
    # QUEUED: the caseworker confirmed the suggested abuse address.
    S.AWAITING_CASEWORKER: frozenset({S.SENT, S.WITHDRAWN, S.QUEUED}),
    S.SENT: frozenset({S.REMOVED, S.OVERDUE}),
    S.OVERDUE: frozenset({S.REMOVED, S.ESCALATED}),
    S.ESCALATED: frozenset({S.REMOVED}),
    S.REMOVED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

#: States a worker may claim a request from.
CLAIMABLE = frozenset({S.QUEUED, S.RETRYING})

#: States in which delivery is over: nothing more is sent without a person (or a deadline).
AT_REST = frozenset(
    {
        S.SENT,
        S.FAILED,
        S.AMBIGUOUS,
        S.AWAITING_CASEWORKER,
        S.WITHDRAWN,
        S.REMOVED,
        S.OVERDUE,
        S.ESCALATED,
    }
)

#: Not (yet) with the platform: a caseworker may withdraw it, and removal withdraws it.
NOT_DELIVERED = frozenset(
    {S.PENDING, S.QUEUED, S.RETRYING, S.FAILED, S.AMBIGUOUS, S.AWAITING_CASEWORKER}
)

#: The platform has the request; the link is watched until the content is gone.
DELIVERED = frozenset({S.SENT, S.OVERDUE, S.ESCALATED})

#: The request reached its platform at some point: delivered, or removed since.
WENT_OUT = DELIVERED | {S.REMOVED}


def check_transition(current: RequestState, new: RequestState) -> None:
    if new not in ALLOWED[current]:
        allowed = ", ".join(sorted(ALLOWED[current])) or "nothing: it is final"
        raise Conflict(
            f"a request that is {current} cannot become {new} (it can become: {allowed})"
        )


class CheckOutcome(StrEnum):
    """What one visit to a link found. A network error or a 5xx is unknown, never removed."""

    ONLINE = "online"
    REMOVED = "removed"
    UNKNOWN = "unknown"


class LinkStatus(StrEnum):
    """What the checks found at a link. "Removed" only once a second check confirmed it."""

    UNKNOWN = "unknown"
    ONLINE = "online"
    REMOVED = "removed"
    # Back online after its removal was confirmed: a new request is queued.
    REAPPEARED = "reappeared"


L = LinkStatus

LINK_ALLOWED: dict[LinkStatus, frozenset[LinkStatus]] = {
    L.UNKNOWN: frozenset({L.ONLINE, L.REMOVED}),
    L.ONLINE: frozenset({L.REMOVED}),
    L.REMOVED: frozenset({L.REAPPEARED}),
    L.REAPPEARED: frozenset({L.REMOVED}),
}


def check_link_transition(current: LinkStatus, new: LinkStatus) -> None:
    if new != current and new not in LINK_ALLOWED[current]:
        raise Conflict(f"a link that is {current} cannot become {new}")


class MessageState(StrEnum):
    """An email to a person: a victim's progress email, or the caseworkers' alert email."""

    PENDING = "pending"  # waiting to be sent, now or at its next attempt
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"
    FAILED = "failed"  # will not be sent: refused for good, or tried too often
    SKIPPED = "skipped"  # not to be sent: the victim asked for no emails
    # The worker sending it stopped before recording the outcome: it may have gone, so it
    # is never sent again, and a person is told.
    AMBIGUOUS = "ambiguous"


MESSAGE_ALLOWED: dict[MessageState, frozenset[MessageState]] = {
    MessageState.PENDING: frozenset({MessageState.SENDING}),
    MessageState.SENDING: frozenset(
        {
            MessageState.SENT,
            MessageState.PENDING,
            MessageState.FAILED,
            MessageState.SKIPPED,
            MessageState.AMBIGUOUS,
        }
    ),
    MessageState.SENT: frozenset(),
    MessageState.FAILED: frozenset(),
    MessageState.SKIPPED: frozenset(),
    MessageState.AMBIGUOUS: frozenset(),
}


def check_message_transition(current: MessageState, new: MessageState) -> None:
    if new not in MESSAGE_ALLOWED[current]:
        raise Conflict(f"a message that is {current} cannot become {new}")
