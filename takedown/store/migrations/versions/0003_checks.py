"""Status checks: a row per visit, check state on links, minors on cases.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OLD_ACTIVE = sa.text("state NOT IN ('withdrawn', 'sent')")
ACTIVE = sa.text("state NOT IN ('withdrawn', 'sent', 'removed')")


def upgrade() -> None:
    op.create_table(
        "checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_checks_item_id", "checks", ["item_id"])
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("minor", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_checked_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("removal_seen_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True)))
    op.drop_index("uq_removal_requests_active_item", table_name="removal_requests")
    op.create_index(
        "uq_removal_requests_active_item",
        "removal_requests",
        ["item_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_removal_requests_active_item", table_name="removal_requests")
    op.create_index(
        "uq_removal_requests_active_item",
        "removal_requests",
        ["item_id"],
        unique=True,
        sqlite_where=OLD_ACTIVE,
        postgresql_where=OLD_ACTIVE,
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("removed_at")
        batch_op.drop_column("removal_seen_at")
        batch_op.drop_column("last_checked_at")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("minor")
    op.drop_index("ix_checks_item_id", table_name="checks")
    op.drop_table("checks")
