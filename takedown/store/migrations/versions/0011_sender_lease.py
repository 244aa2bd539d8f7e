"""The sending lease: when the worker sending a request was last heard from.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("removal_requests") as requests:
        requests.add_column(sa.Column("sender_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("removal_requests") as requests:
        requests.drop_column("sender_seen_at")
