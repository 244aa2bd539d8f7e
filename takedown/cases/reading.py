"""What a case looks like to a caseworker: its status, the list of cases, overdue requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from takedown.catalogue.platforms import Catalogue
from takedown.store.models import Case, Item, RemovalRequest
from takedown.store.states import RequestState


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def case_status(case: Case, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """The ``takedown status --json`` contract: keys are only ever added, never renamed.
    With the catalogue, each item says what kind of platform it is on (a search engine
    de-indexes; it does not remove)."""
    kinds = {p.id: p.kind for p in catalogue.platforms.values()} if catalogue else {}
    return {
        "id": case.id,
        "reference": case.reference,
        "language": case.language,
        "minor": case.minor,
        "notify": case.notify,
        "country": case.country,
        "synthetic": case.synthetic,
        "created_at": _iso(case.created_at),
        "closed_at": _iso(case.closed_at),
        "erased_at": _iso(case.erased_at),
        "items": [
            {
                "url": item.url,
                "platform": item.platform_id,
                "kind": kinds.get(item.platform_id or ""),
                "status": item.status,
                "last_checked": _iso(item.last_checked_at),
                "requests": [
                    {
                        "id": request.id,
                        "platform": request.platform_id,
                        "channel": request.channel,
                        "state": request.state,
                        "ticket": request.ticket,
                        "attempts": request.attempts,
                        "last_error": request.last_error,
                        "next_attempt_at": _iso(request.next_attempt_at),
                        "sent_at": _iso(request.sent_at),
                        "deadline_at": _iso(request.deadline_at),
                        "legal_basis": request.legal_basis or "terms",
                        "contact_to": request.contact_to,
                        "contact_note": request.contact_note,
                    }
                    for request in item.requests
                ],
            }
            for item in case.items
        ],
    }


def list_cases(session: Session) -> list[dict[str, Any]]:
    """Every case, newest first, with how many links it has and how many were sent."""
    links = func.count(func.distinct(Item.id))
    sent = func.count(func.distinct(RemovalRequest.id)).filter(
        RemovalRequest.state == RequestState.SENT
    )
    rows = session.execute(
        select(Case, links, sent)
        .outerjoin(Item, Item.case_id == Case.id)
        .outerjoin(RemovalRequest, RemovalRequest.item_id == Item.id)
        .group_by(Case.id)
        .order_by(Case.created_at.desc())
    ).all()
    return [
        {
            "id": case.id,
            "reference": case.reference,
            "language": case.language,
            "created_at": _iso(case.created_at),
            "links": link_count,
            "sent": sent_count,
        }
        for case, link_count, sent_count in rows
    ]


def overdue_requests(session: Session) -> list[dict[str, Any]]:
    """Every overdue request across cases, the longest overdue first."""
    rows = session.execute(
        select(RemovalRequest, Item, Case)
        .join(Item, RemovalRequest.item_id == Item.id)
        .join(Case, Item.case_id == Case.id)
        .where(RemovalRequest.state == RequestState.OVERDUE)
        .order_by(RemovalRequest.deadline_at)
    ).all()
    return [
        {
            "id": request.id,
            "case": case.reference,
            "platform": request.platform_id,
            "url": item.url,
            "ticket": request.ticket,
            "sent_at": _iso(request.sent_at),
            "deadline_at": _iso(request.deadline_at),
        }
        for request, item, case in rows
    ]
