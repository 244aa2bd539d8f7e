"""Alerts name their request and are emailed to the caseworkers' address.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("alerts") as alerts:
        alerts.add_column(sa.Column("request_id", sa.String(length=32), nullable=True))
        alerts.add_column(sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True))
        alerts.add_column(
            sa.Column("email_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        alerts.add_column(sa.Column("email_next_at", sa.DateTime(timezone=True), nullable=True))
        alerts.add_column(sa.Column("email_error", sa.Text(), nullable=True))
        alerts.create_foreign_key(
            "fk_alerts_request_id", "removal_requests", ["request_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as alerts:
        alerts.drop_constraint("fk_alerts_request_id", type_="foreignkey")
        for column in ("email_error", "email_next_at", "email_attempts", "emailed_at"):
            alerts.drop_column(column)
        alerts.drop_column("request_id")
