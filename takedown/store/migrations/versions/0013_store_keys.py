"""The fingerprints of the keys a store's values are encrypted under, so that a process
with another key is refused before it writes anything (takedown.store.keycheck).

A store from before has none; the first process to open it records its key, once that key
has been seen to open the values already stored.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_keys",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("store_keys")
