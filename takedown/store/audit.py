"""The audit log: who did what to a case, and when.

Every domain function that changes or reveals a case writes one event, naming the acting
person, in the same transaction as its change, so the log and the data never disagree, and
no door (command line, API, web) can forget it. Who is acting is the door's to say: the
login for the command line, the signed-in user or token for the others. The state changes the
workers make are already recorded as transitions; ``history`` merges the two.

Events never hold a name, an address or a link: they say which fields changed, not to what.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from takedown.errors import InputError
from takedown.safety.safetext import is_blank, line_problem
from takedown.store.models import AuditEvent, Item, RemovalRequest, Transition
from takedown.store.read_models import AuditEntry

# Who the workers, the sweeper and the nightly job are, in the merged history.
SERVICE_ACTOR = "takedown"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    case_id: str | None = None,
    request_id: str | None = None,
    detail: str | None = None,
) -> None:
    # Every door names its actor (a login, a setting, an account); whichever it is, one
    # line of plain text, or the log could be made to show an entry nobody wrote.
    problem = line_problem(actor) or ("must not be empty" if is_blank(actor) else None)
    if problem:
        raise InputError(f"the acting user {problem}", field="actor")
    session.add(
        AuditEvent(
            actor=actor,
            case_id=case_id,
            request_id=request_id,
            action=action,
            detail=detail,
        )
    )


def history(session: Session, case_id: str) -> list[AuditEntry]:
    """Caseworker actions and request state changes of a case, oldest first."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id)).all()
    transitions = session.scalars(
        select(Transition)
        .join(RemovalRequest, Transition.request_id == RemovalRequest.id)
        .join(Item, RemovalRequest.item_id == Item.id)
        .where(Item.case_id == case_id)
    ).all()
    merged = [(event.at, AuditEntry.of_event(event)) for event in events]
    merged += [
        (change.at, AuditEntry.of_transition(change, SERVICE_ACTOR)) for change in transitions
    ]
    return [entry for _, entry in sorted(merged, key=lambda pair: pair[0])]
