"""When a case's hash-matching programme (StopNCII.org, or Take It Down for a child) was
pointed out to the caseworker and told to the victim: each once per case. And who confirmed
a link's removal: a check, or a caseworker where a check cannot tell (then a check that sees
it online again only asks the caseworker to look).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as cases:
        cases.add_column(sa.Column("programme_shown_at", sa.DateTime(timezone=True)))
        cases.add_column(sa.Column("programme_told_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("items") as items:
        items.add_column(sa.Column("removal_confirmed_by", sa.String(length=16)))


def downgrade() -> None:
    with op.batch_alter_table("items") as items:
        items.drop_column("removal_confirmed_by")
    with op.batch_alter_table("cases") as cases:
        cases.drop_column("programme_told_at")
        cases.drop_column("programme_shown_at")
