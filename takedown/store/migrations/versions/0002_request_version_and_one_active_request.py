"""Optimistic locking of removal requests; at most one active request per link.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE_REQUEST = sa.text("state NOT IN ('withdrawn', 'sent')")


def upgrade() -> None:
    with op.batch_alter_table("removal_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_index(
        "uq_removal_requests_active_item",
        "removal_requests",
        ["item_id"],
        unique=True,
        sqlite_where=ACTIVE_REQUEST,
        postgresql_where=ACTIVE_REQUEST,
    )


def downgrade() -> None:
    op.drop_index("uq_removal_requests_active_item", table_name="removal_requests")
    with op.batch_alter_table("removal_requests", schema=None) as batch_op:
        batch_op.drop_column("version")
