"""Cases for the tests and the benchmarks: opened, given links and queued through the same
domain functions a caseworker's command calls, by a caseworker of their own."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.cases.service import NewCase, open_case
from takedown.catalogue.platforms import catalogue_for
from takedown.config import Settings
from takedown.contacts.abuse_contacts import Suggestion
from takedown.delivery.lifecycle import move, record_sent
from takedown.store.db import session_scope
from takedown.store.models import Case, Item, RemovalRequest
from takedown.store.states import AT_REST, RequestState

TEST_ACTOR = "test-caseworker"
VICTIM = NewCase(victim_name="Aino Virtanen", victim_email="aino@example.org", language="fi")


def open_test_case(session: Session, **fields: object) -> Case:
    """A case of ``VICTIM``, with any of its fields changed (``language="en"``)."""
    new = dataclasses.replace(VICTIM, **fields)  # type: ignore[arg-type]
    return open_case(session, new, actor=TEST_ACTOR)


@dataclass(frozen=True)
class QueuedCase:
    case_id: str
    reference: str
    request_ids: list[str]
    # {request id: link}, for counting what a platform received per link.
    links: dict[str, str]


def queued_case(settings: Settings, urls: list[str], **fields: object) -> QueuedCase:
    """A case with these links, and a queued request for each one on a known platform (not
    published: the caller publishes, or lets the sweeper find them)."""
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session, **fields)
        add_links(session, case, urls, catalogue, actor=TEST_ACTOR)
        queued = queue_case(session, case, catalogue, actor=TEST_ACTOR)
        rows = session.execute(
            select(RemovalRequest.id, Item.url)
            .join(Item, RemovalRequest.item_id == Item.id)
            .where(RemovalRequest.id.in_(queued.request_ids))
        )
        links = {request_id: url for request_id, url in rows}  # noqa: C416
        return QueuedCase(case.id, case.reference, queued.request_ids, links)


def sent_request(
    settings: Settings,
    url: str = "https://mailsite.example/p/1",
    deadline_hours: float = 48,
    **fields: object,
) -> tuple[str, str]:
    """A request recorded as sent a moment ago, as a worker records a delivery, with a
    deadline ``deadline_hours`` from now: (link id, request id). ``fields`` change the
    case (``country="FI"``)."""
    queued = queued_case(settings, [url], **fields)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, queued.request_ids[0])
        move(session, request, RequestState.SENDING, "test")
        record_sent(session, request, "T-1", deadline_hours, "test")
        return request.item_id, request.id


@dataclass
class RequestSeen:
    """A request as a test checks it: its state, ticket, attempts and their outcomes."""

    state: str
    ticket: str | None
    attempts: int
    channel: str
    last_error: str | None
    package: str | None
    outcomes: list[tuple[str, str]]  # (channel, outcome) per attempt


def seen(request_id: str) -> RequestSeen:
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        return RequestSeen(
            state=request.state,
            ticket=request.ticket,
            attempts=request.attempts,
            channel=request.channel,
            last_error=request.last_error,
            package=request.package,
            outcomes=[(a.channel, a.outcome) for a in request.attempt_rows],
        )


def wait_at_rest(request_id: str, seconds: float = 30) -> RequestSeen:
    deadline = time.monotonic() + seconds
    while True:
        now = seen(request_id)
        if now.state in AT_REST:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"request still {now.state} after {seconds} s: {now}")
        time.sleep(0.1)


def seed(platforms_dir: Path) -> dict[str, Any]:
    """A case with links on three platforms, their queued requests, and a request to an
    abuse contact waiting for the caseworker (which raises an alert)."""
    catalogue = catalogue_for(platforms_dir)
    links = [
        "https://formsite.example/p/seed",
        "https://mailsite.example/p/seed",
        "https://nowhere.example/seed.jpg",
    ]
    with session_scope() as session:
        case = open_test_case(session)
        added = add_links(session, case, links, catalogue, actor=TEST_ACTOR)
        contacts = {added.unmatched[0].id: Suggestion(None, "RDAP named nobody")}
        queued = queue_case(session, case, catalogue, actor=TEST_ACTOR, contacts=contacts)
        return {
            "case": case.id,
            "reference": case.reference,
            "requests": queued.request_ids,
            "awaiting": queued.awaiting_contact[0],
        }
