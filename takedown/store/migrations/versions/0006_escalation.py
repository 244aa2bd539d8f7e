"""Escalation: a follow-up is a request that escalates another.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_ACTIVE = sa.text("state NOT IN ('withdrawn', 'sent', 'removed')")
ACTIVE = sa.text("escalates_id IS NULL AND state NOT IN ('withdrawn', 'sent', 'removed')")


def _active_index(where: sa.TextClause) -> None:
    op.create_index(
        "uq_removal_requests_active_item",
        "removal_requests",
        ["item_id"],
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )


def upgrade() -> None:
    op.drop_index("uq_removal_requests_active_item", table_name="removal_requests")
    with op.batch_alter_table("removal_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalates_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("escalation_step", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_removal_requests_escalates", "removal_requests", ["escalates_id"], ["id"]
        )
    _active_index(ACTIVE)


def downgrade() -> None:
    op.drop_index("uq_removal_requests_active_item", table_name="removal_requests")
    with op.batch_alter_table("removal_requests", schema=None) as batch_op:
        batch_op.drop_constraint("fk_removal_requests_escalates", type_="foreignkey")
        batch_op.drop_column("escalation_step")
        batch_op.drop_column("escalates_id")
    _active_index(OLD_ACTIVE)
