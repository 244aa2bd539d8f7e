"""One outbox for the victims' progress emails and the caseworkers' alert email: each row
knows its state and when a worker claimed it, so that a send whose worker died is noticed
and flagged, and a send that fails for good stops. An alert may be about a case rather
than one of its links (a progress email that may not have gone out).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as notifications:
        notifications.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("alerts") as alerts:
        alerts.add_column(
            sa.Column("email_state", sa.String(16), nullable=False, server_default="pending")
        )
        alerts.add_column(sa.Column("email_claimed_at", sa.DateTime(timezone=True), nullable=True))
        alerts.alter_column("item_id", existing_type=sa.String(32), nullable=True)
    # Before, `emailed_at` was set when an alert was claimed and lifted again if the send
    # failed: an alert that has it was sent.
    op.execute("UPDATE alerts SET email_state = 'sent' WHERE emailed_at IS NOT NULL")
    # A progress email an old worker left in `sending` (one killed mid-send) gets a claim
    # time, so that the sweep flags it once any task that could still be sending it is over.
    op.execute("UPDATE notifications SET claimed_at = CURRENT_TIMESTAMP WHERE state = 'sending'")


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE item_id IS NULL")
    with op.batch_alter_table("alerts") as alerts:
        alerts.alter_column("item_id", existing_type=sa.String(32), nullable=False)
        alerts.drop_column("email_claimed_at")
        alerts.drop_column("email_state")
    with op.batch_alter_table("notifications") as notifications:
        notifications.drop_column("claimed_at")
