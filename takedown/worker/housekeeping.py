"""What one sweep of the beat scheduler does, in order: sends whose worker died made ambiguous
(requests, and emails to people), deadlines followed up, and the requests due now stamped
for publishing.

The order matters: a follow-up queued by escalation is published by the same sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from takedown.catalogue.legal import legal_for
from takedown.catalogue.platforms import catalogue_for
from takedown.config import Settings
from takedown.delivery.sweeper import claim_due, mark_stuck_as_ambiguous
from takedown.messages.alerts import flag_stuck_emails
from takedown.messages.notifications import flag_stuck as flag_stuck_notifications
from takedown.monitoring.deadlines import escalate_overdue, mark_overdue
from takedown.store.columns import utcnow


@dataclass
class Sweep:
    due: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    # Emails whose worker stopped mid-send: progress emails to victims, and alert emails.
    messages_flagged: int = 0


def sweep(
    session: Session,
    settings: Settings,
    now: datetime | None = None,
    *,
    messages_lost: bool = False,
) -> Sweep:
    """``messages_lost``: the broker lost its messages, so every queued request is due now
    (takedown.worker.broker_marker)."""
    now = now or utcnow()
    stuck = mark_stuck_as_ambiguous(session, settings, now)
    flagged = flag_stuck_notifications(session, settings, now)
    flagged += flag_stuck_emails(session, settings, now)
    overdue = mark_overdue(session, now)
    escalate_overdue(session, catalogue_for(settings.platforms_dir), legal_for(settings.legal_dir))
    due = claim_due(session, settings, now, messages_lost=messages_lost)
    return Sweep(due=due, stuck=stuck, overdue=overdue, messages_flagged=flagged)
