"""The audit log: who did what to a case, and when.

Every caseworker command that changes or reveals a case writes one event in the same
transaction as its change, so the log and the data never disagree. The state changes the
workers make are already recorded as transitions; ``history`` merges the two.

Events never hold a name, an address or a link: they say which fields changed, not to what.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from takedown.config import get_settings
from takedown.store.models import AuditEvent, Item, RemovalRequest, Transition

# Who the workers, the sweeper and the nightly job are, in the merged history.
SERVICE_ACTOR = "takedown"


def actor() -> str:
    """The caseworker running this command: TAKEDOWN_ACTOR (set it per person where one
    service account is shared), or else the operating-system login."""
    configured = get_settings().actor.strip()
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"


def record(
    session: Session,
    action: str,
    case_id: str | None = None,
    request_id: str | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            actor=actor(),
            case_id=case_id,
            request_id=request_id,
            action=action,
            detail=detail,
        )
    )


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    action: str
    request_id: str | None
    detail: str | None


def history(session: Session, case_id: str) -> list[Entry]:
    """Caseworker actions and request state changes of a case, oldest first."""
    entries = [
        Entry(event.at, event.actor, event.action, event.request_id, event.detail)
        for event in session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id))
    ]
    transitions = session.scalars(
        select(Transition)
        .join(RemovalRequest, Transition.request_id == RemovalRequest.id)
        .join(Item, RemovalRequest.item_id == Item.id)
        .where(Item.case_id == case_id)
    )
    entries += [
        Entry(
            change.at,
            SERVICE_ACTOR,
            f"{change.from_state} → {change.to_state}",
            change.request_id,
            change.reason,
        )
        for change in transitions
    ]
    return sorted(entries, key=lambda entry: entry.at)
