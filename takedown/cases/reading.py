"""What cases look like to a caseworker: one case's status, the list of cases, the requests
past their deadline. Reading one victim's case is an action too: it is audited.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from takedown.catalogue.platforms import Catalogue
from takedown.config import Settings
from takedown.monitoring.visits import items_to_check
from takedown.store.audit import record
from takedown.store.columns import utcnow
from takedown.store.models import Case, Check, Item, RemovalRequest
from takedown.store.read_models import CaseStatus, CaseSummary, OverdueRequest, iso
from takedown.store.states import WENT_OUT, RequestState


def case_status(
    session: Session, case: Case, catalogue: Catalogue | None = None, *, actor: str
) -> CaseStatus:
    """The case, its links and their requests. With the catalogue, each link says what kind
    of platform it is on (a search engine de-indexes; it does not remove)."""
    kinds = {p.id: p.kind for p in catalogue.platforms.values()} if catalogue else {}
    record(session, actor=actor, action="case viewed", case_id=case.id)
    return CaseStatus.of(case, kinds, last_check_reasons(session, case))


def last_check_reasons(session: Session, case: Case) -> dict[str, str]:
    """What the latest check of each link of the case found, in words, by link id: why a
    link is unknown (a private page, an expired link) is what the caseworker acts on."""
    latest = (
        select(Check.item_id, func.max(Check.id).label("id"))
        .join(Item, Check.item_id == Item.id)
        .where(Item.case_id == case.id)
        .group_by(Check.item_id)
        .subquery()
    )
    rows = session.execute(
        select(Check.item_id, Check.reason).join(latest, Check.id == latest.c.id)
    )
    return {str(row.item_id): str(row.reason) for row in rows}


def links_to_check(
    session: Session, settings: Settings, case: Case | None, *, actor: str
) -> list[str]:
    """The links a check now visits: one case's, or every link still watched across cases
    (audited without a case: it is the nightly check, run by a person)."""
    item_ids = items_to_check(session, settings, utcnow(), case.id if case else None)
    record(
        session,
        actor=actor,
        action="links checked",
        case_id=case.id if case else None,
        detail=f"{len(item_ids)} link(s)" + ("" if case else " of every case"),
    )
    return item_ids


def list_cases(session: Session) -> list[CaseSummary]:
    """Every case, newest first, with how many links it has and how many requests reached
    their platform (a request later found overdue, escalated or removed was sent too)."""
    links = func.count(func.distinct(Item.id))
    sent = func.count(func.distinct(RemovalRequest.id)).filter(RemovalRequest.state.in_(WENT_OUT))
    rows = session.execute(
        select(Case, links, sent)
        .outerjoin(Item, Item.case_id == Case.id)
        .outerjoin(RemovalRequest, RemovalRequest.item_id == Item.id)
        .group_by(Case.id)
        .order_by(Case.created_at.desc())
    ).all()
    return [
        CaseSummary(
            id=case.id,
            reference=case.reference,
            language=case.language,
            created_at=iso(case.created_at),
            links=link_count,
            sent=sent_count,
        )
        for case, link_count, sent_count in rows
    ]


def overdue_requests(session: Session, *, actor: str) -> list[OverdueRequest]:
    """Every overdue request across cases, the longest overdue first. Each case listed is
    audited, as reading it is: the list shows its links."""
    rows = session.execute(
        select(RemovalRequest, Item, Case)
        .join(Item, RemovalRequest.item_id == Item.id)
        .join(Case, Item.case_id == Case.id)
        .where(RemovalRequest.state == RequestState.OVERDUE)
        .order_by(RemovalRequest.deadline_at)
    ).all()
    for case_id in dict.fromkeys(case.id for _, _, case in rows):
        record(session, actor=actor, action="overdue listed", case_id=case_id)
    return [OverdueRequest.of(request, item, case) for request, item, case in rows]
