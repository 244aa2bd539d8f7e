"""How rows look to the doors: the typed read models every ``--json`` output (and, later, every
API answer) is made of.

Their field names are a contract (see README): fields are only ever added, never renamed.
Times are ISO 8601 strings as Python writes them (``2026-12-02T10:00:00+00:00``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from takedown.store.models import Alert, AuditEvent, Case, Item, RemovalRequest, Transition


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class ReadModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class CaseOpened(ReadModel):
    id: str
    reference: str


class RequestStatus(ReadModel):
    id: str
    platform: str
    channel: str
    state: str
    ticket: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: str | None
    sent_at: str | None
    deadline_at: str | None
    legal_basis: str
    contact_to: str | None
    contact_note: str | None

    @classmethod
    def of(cls, request: RemovalRequest) -> RequestStatus:
        return cls(
            id=request.id,
            platform=request.platform_id,
            channel=request.channel,
            state=request.state,
            ticket=request.ticket,
            attempts=request.attempts,
            last_error=request.last_error,
            next_attempt_at=iso(request.next_attempt_at),
            sent_at=iso(request.sent_at),
            deadline_at=iso(request.deadline_at),
            # Requests queued before legal bases existed invoked the platform's own terms.
            legal_basis=request.legal_basis or "terms",
            contact_to=request.contact_to,
            contact_note=request.contact_note,
        )


class ItemStatus(ReadModel):
    url: str
    platform: str | None
    # "host" or "search_engine": a search engine de-indexes; it does not remove.
    kind: str | None
    status: str
    last_checked: str | None
    # What the latest check found, in words ("HTTP 404; the content may still exist...").
    last_check: str | None
    requests: list[RequestStatus]

    @classmethod
    def of(cls, item: Item, kinds: Mapping[str, str], reasons: Mapping[str, str]) -> ItemStatus:
        return cls(
            url=item.url,
            platform=item.platform_id,
            kind=kinds.get(item.platform_id or ""),
            status=item.status,
            last_checked=iso(item.last_checked_at),
            last_check=reasons.get(item.id),
            requests=[RequestStatus.of(request) for request in item.requests],
        )


class CaseStatus(ReadModel):
    """``takedown status --json``."""

    id: str
    reference: str
    language: str
    minor: bool
    notify: bool
    country: str | None
    synthetic: bool
    created_at: str | None
    closed_at: str | None
    erased_at: str | None
    items: list[ItemStatus]

    @classmethod
    def of(
        cls, case: Case, kinds: Mapping[str, str], reasons: Mapping[str, str] | None = None
    ) -> CaseStatus:
        """``kinds``: each platform's kind by its id; ``reasons``: each link's latest check."""
        return cls(
            id=case.id,
            reference=case.reference,
            language=case.language,
            minor=case.minor,
            notify=case.notify,
            country=case.country,
            synthetic=case.synthetic,
            created_at=iso(case.created_at),
            closed_at=iso(case.closed_at),
            erased_at=iso(case.erased_at),
            items=[ItemStatus.of(item, kinds, reasons or {}) for item in case.items],
        )


class CaseSummary(ReadModel):
    """One row of ``takedown case list --json``."""

    id: str
    reference: str
    language: str
    created_at: str | None
    links: int
    # Requests that reached their platform: sent, overdue, escalated or removed since.
    sent: int


class OverdueRequest(ReadModel):
    """One row of ``takedown overdue --json``."""

    id: str
    case: str
    platform: str
    url: str
    ticket: str | None
    sent_at: str | None
    deadline_at: str | None

    @classmethod
    def of(cls, request: RemovalRequest, item: Item, case: Case) -> OverdueRequest:
        return cls(
            id=request.id,
            case=case.reference,
            platform=request.platform_id,
            url=item.url,
            ticket=request.ticket,
            sent_at=iso(request.sent_at),
            deadline_at=iso(request.deadline_at),
        )


class OpenAlert(ReadModel):
    """One row of ``takedown alerts --json``: never the link (``status`` shows it)."""

    id: int
    case: str
    request: str | None
    at: str
    what: str
    # The email to the caseworkers' address: pending, sent, failed (for good) ...
    email: str
    email_error: str | None

    @classmethod
    def of(cls, alert: Alert, case: Case) -> OpenAlert:
        return cls(
            id=alert.id,
            case=case.reference,
            request=alert.request_id,
            at=alert.created_at.isoformat(),
            what=alert.what,
            email=alert.email_state,
            email_error=alert.email_error,
        )


class AuditEntry(ReadModel):
    """One row of ``takedown audit --json``."""

    at: str
    actor: str
    action: str
    request: str | None
    detail: str | None

    @classmethod
    def of_event(cls, event: AuditEvent) -> AuditEntry:
        return cls(
            at=event.at.isoformat(),
            actor=event.actor,
            action=event.action,
            request=event.request_id,
            detail=event.detail,
        )

    @classmethod
    def of_transition(cls, change: Transition, actor: str) -> AuditEntry:
        return cls(
            at=change.at.isoformat(),
            actor=actor,
            action=f"{change.from_state} → {change.to_state}",
            request=change.request_id,
            detail=change.reason,
        )


class AddedLink(ReadModel):
    url: str
    platform: str | None


class LinksAdded(ReadModel):
    """``takedown case add-urls --json``."""

    added: list[AddedLink]
    already_in_case: list[str]
    no_known_platform: list[str]


class HashProgramme(ReadModel):
    """A hash-matching programme the case's platforms take part in, pointed out once."""

    name: str
    url: str
    what: str
    platforms: list[str]


class QueueResult(ReadModel):
    """``takedown queue --json``."""

    queued: list[str]
    already_requested: int
    no_known_platform: list[str]
    awaiting_contact: list[str]
    # StopNCII.org (Take It Down for a child), the first time the case is queued with a
    # platform that takes part; null otherwise.
    hash_programme: HashProgramme | None = None
    # Whether the ids reached the broker now; if not, the sweeper publishes them later.
    broker_reached: bool
