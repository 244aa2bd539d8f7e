"""Legal bases of notices, the case facts that choose them, and RDAP abuse contacts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CASE_FLAGS = ("synthetic", "victim_owns_copyright", "victim_may_be_named")


def upgrade() -> None:
    with op.batch_alter_table("cases") as cases:
        cases.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        for flag in CASE_FLAGS:
            cases.add_column(
                sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
            )
    with op.batch_alter_table("removal_requests") as requests:
        requests.add_column(sa.Column("legal_basis", sa.String(length=32), nullable=True))
        requests.add_column(sa.Column("contact_to", sa.Text(), nullable=True))
        requests.add_column(sa.Column("contact_note", sa.Text(), nullable=True))
    op.create_table(
        "contact_lookups",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("contact_lookups")
    with op.batch_alter_table("removal_requests") as requests:
        for column in ("contact_note", "contact_to", "legal_basis"):
            requests.drop_column(column)
    with op.batch_alter_table("cases") as cases:
        for column in (*reversed(CASE_FLAGS), "country"):
            cases.drop_column(column)
