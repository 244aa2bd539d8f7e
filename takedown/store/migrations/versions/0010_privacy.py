"""Victim identity and links encrypted at rest; links found by a keyed hash; closing and
erasing cases; the audit log.

Rows stored in clear by earlier versions are encrypted here, under TAKEDOWN_SECRET_KEY,
which must therefore be set before upgrading a database that holds cases.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from takedown.safety.redaction import redact
from takedown.store.encryption import keyring

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Text stored by earlier versions that may quote an address or a link (their errors were not
# scrubbed yet): scrubbed here as every stored error is now.
STORED_TEXT = {
    "attempts": ("error", "smtp_reply", "excerpt"),
    "removal_requests": ("last_error",),
    "notifications": ("last_error",),
    "transitions": ("reason",),
    "alerts": ("email_error",),
}

# SQLite reflects the old unique constraint without a name; this convention gives it one.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s"}


def upgrade() -> None:
    with op.batch_alter_table("cases") as cases:
        cases.alter_column("victim_name", existing_type=sa.Text(), nullable=True)
        cases.alter_column("victim_email", existing_type=sa.Text(), nullable=True)
        cases.add_column(sa.Column("victim_phone", sa.Text(), nullable=True))
        cases.add_column(sa.Column("notes", sa.Text(), nullable=True))
        cases.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        cases.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        cases.add_column(sa.Column("erased_summary", sa.Text(), nullable=True))
    with op.batch_alter_table("items") as items:
        items.add_column(sa.Column("url_hash", sa.String(length=64), nullable=True))
    _encrypt_existing_rows()
    _scrub_stored_text()
    with op.batch_alter_table("items", naming_convention=NAMING) as items:
        items.alter_column("url_hash", existing_type=sa.String(length=64), nullable=False)
        if op.get_bind().dialect.name == "postgresql":
            items.drop_constraint("items_case_id_url_key", type_="unique")
        else:
            items.drop_constraint("uq_items_case_id_url", type_="unique")
        items.create_unique_constraint("uq_items_case_id_url_hash", ["case_id", "url_hash"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_events_case_id", "audit_events", ["case_id"])


def _encrypt_existing_rows() -> None:
    connection = op.get_bind()
    cases = sa.table("cases", sa.column("id"), sa.column("victim_name"), sa.column("victim_email"))
    items = sa.table("items", sa.column("id"), sa.column("url"), sa.column("url_hash"))
    requests = sa.table("removal_requests", sa.column("id"), sa.column("package"))
    if connection.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one() == 0:
        return  # a new database: nothing to encrypt, and no key needed yet
    keys = keyring()
    for row in connection.execute(sa.select(cases)).all():
        connection.execute(
            cases.update()
            .where(cases.c.id == row.id)
            .values(
                victim_name=keys.encrypt(row.victim_name),
                victim_email=keys.encrypt(row.victim_email),
            )
        )
    for row in connection.execute(sa.select(items.c.id, items.c.url)).all():
        connection.execute(
            items.update()
            .where(items.c.id == row.id)
            .values(url=keys.encrypt(row.url), url_hash=keys.link_hash(row.url))
        )
    packages = sa.select(requests).where(requests.c.package.is_not(None))
    for row in connection.execute(packages).all():
        connection.execute(
            requests.update()
            .where(requests.c.id == row.id)
            .values(package=keys.encrypt(row.package))
        )


def _scrub_stored_text() -> None:
    connection = op.get_bind()
    for name, columns in STORED_TEXT.items():
        table = sa.table(name, sa.column("id"), *(sa.column(column) for column in columns))
        for row in connection.execute(sa.select(table)).all():
            values = {c: redact(row._mapping[c]) for c in columns if row._mapping[c] is not None}
            if any(values[c] != row._mapping[c] for c in values):
                connection.execute(table.update().where(table.c.id == row.id).values(values))


def downgrade() -> None:
    raise NotImplementedError(
        "0010 encrypted the victims' data; going back would write it in clear. Restore a "
        "backup taken before the upgrade instead."
    )
