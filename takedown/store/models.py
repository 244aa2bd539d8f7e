"""The relational store: the single source of truth. The broker only ever carries ids."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from takedown.store.columns import UTCDateTime, new_id, new_reference, utcnow
from takedown.store.encryption import EncryptedText
from takedown.store.states import MessageState, RequestState


class Base(DeclarativeBase):
    pass


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(32), unique=True, default=new_reference)
    # The victim's identity, encrypted at rest (takedown.store.encryption); NULL once the case
    # is erased.
    victim_name: Mapped[str | None] = mapped_column(EncryptedText)
    victim_email: Mapped[str | None] = mapped_column(EncryptedText)
    victim_phone: Mapped[str | None] = mapped_column(EncryptedText)
    # The caseworker's notes: free text, so as sensitive as the identity.
    notes: Mapped[str | None] = mapped_column(EncryptedText)
    language: Mapped[str] = mapped_column(String(8))
    # A case involving a minor: the service never downloads the content, not even to check.
    minor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The victim can ask not to get progress emails.
    notify: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # What decides the legal basis of each notice (takedown.catalogue.bases): the victim's country
    # (ISO 3166 alpha-2), whether the material is AI-made, and the two DMCA conditions.
    country: Mapped[str | None] = mapped_column(String(2))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    victim_owns_copyright: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    victim_may_be_named: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the hash-matching programme of the case's platforms (StopNCII.org; Take It Down
    # for a child) was pointed out to the caseworker, and told to the victim: once each.
    programme_shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    programme_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Closed by a caseworker; erased by one, or by the nightly job once the retention period
    # after closing has passed. An erased case keeps only anonymous counts.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What an erased case leaves behind: counts of links, requests by state and platforms,
    # as JSON (takedown.cases.erasure).
    erased_summary: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list[Item]] = relationship(
        back_populates="case", order_by="Item.position", cascade="all, delete-orphan"
    )


class Item(Base):
    """One link to the material, on one platform (or on none we know yet)."""

    __tablename__ = "items"
    # A link is found again by its keyed hash: the url itself is stored encrypted.
    __table_args__ = (UniqueConstraint("case_id", "url_hash"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(EncryptedText)
    url_hash: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    platform_id: Mapped[str | None] = mapped_column(String(64))
    # online / removed / unknown / reappeared: "removed" only once confirmed.
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # First seen gone; confirmed (and the status made "removed") only by a later check.
    removal_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "check", or "caseworker" where a check cannot tell: then a check that sees the link
    # online again (perhaps only a page shell) asks the caseworker to look instead of
    # reopening it.
    removal_confirmed_by: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="items")
    requests: Mapped[list[RemovalRequest]] = relationship(
        back_populates="item", order_by="RemovalRequest.created_at"
    )


# A link has at most one request in play; a withdrawn, sent or removed one leaves room for a
# new one (the content may reappear). Follow-ups escalating a request are not counted.
ACTIVE_REQUEST = text("escalates_id IS NULL AND state NOT IN ('withdrawn', 'sent', 'removed')")


class RemovalRequest(Base):
    __tablename__ = "removal_requests"
    __table_args__ = (
        Index("ix_removal_requests_state_due", "state", "next_attempt_at"),
        Index(
            "uq_removal_requests_active_item",
            "item_id",
            unique=True,
            sqlite_where=ACTIVE_REQUEST,
            postgresql_where=ACTIVE_REQUEST,
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    platform_id: Mapped[str] = mapped_column(String(64))
    channel_index: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24), default=RequestState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    channel_attempts: Mapped[int] = mapped_column(Integer, default=0)
    ticket: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    # For the manual channel: what the caseworker pastes into the platform's form.
    # It names the victim and the link, so it is encrypted like them.
    package: Mapped[str | None] = mapped_column(EncryptedText)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the worker sending the request was last heard from (takedown.delivery.lease): renewed
    # while it sends, so a worker killed mid-send is noticed within seconds, not minutes.
    sender_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: every ORM update says "WHERE version = the one I read", so a worker,
    # the sweeper and a caseworker can never silently overwrite each other's state change.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # A follow-up is a request of its own: step 0 writes to the platform again citing the
    # first ticket, step k to the platform's k-th escalation target.
    escalates_id: Mapped[str | None] = mapped_column(ForeignKey("removal_requests.id"))
    escalation_step: Mapped[int | None] = mapped_column(Integer)
    # The law or policy the notice invokes (takedown.catalogue.bases); chosen when queued, or
    # set by a caseworker. NULL on requests queued before legal bases existed: read as "terms".
    legal_basis: Mapped[str | None] = mapped_column(String(32))
    # For a link on no known platform: the abuse address derived from RDAP (contact_note says
    # where it came from), used only once a caseworker has confirmed it.
    contact_to: Mapped[str | None] = mapped_column(Text)
    contact_note: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    item: Mapped[Item] = relationship(back_populates="requests")
    attempt_rows: Mapped[list[Attempt]] = relationship(
        back_populates="request", order_by="Attempt.started_at"
    )
    transitions: Mapped[list[Transition]] = relationship(order_by="Transition.at")
    escalates: Mapped[RemovalRequest | None] = relationship(remote_side="RemovalRequest.id")


class Attempt(Base):
    """One try at delivering a request, whatever its outcome."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("removal_requests.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))  # delivered/transient/permanent/ambiguous
    http_status: Mapped[int | None] = mapped_column(Integer)
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    request: Mapped[RemovalRequest] = relationship(back_populates="attempt_rows")


class Transition(Base):
    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("removal_requests.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)


class Check(Base):
    """One visit to a link. What the page said is never stored, only what it meant."""

    __tablename__ = "checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # online / removed / unknown
    http_status: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)


class NightlyRun(Base):
    """One row per night: the date is unique, so a second trigger the same night does nothing."""

    __tablename__ = "nightly_runs"

    run_date: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    links: Mapped[int] = mapped_column(Integer, default=0)


class Notification(Base):
    """One event the victim is told about. Events wait (``pending``) to be combined into one
    calm message at most every ``TAKEDOWN_NOTIFY_MIN_INTERVAL_SECONDS``."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A MessageState (takedown.messages.outbox).
    state: Mapped[str] = mapped_column(String(16), default=MessageState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a worker claimed it to send: a claim older than any task may run was a worker's
    # that died.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """Something a caseworker must look at (content back online, a request that failed or may
    have been sent, a package to submit by hand, a progress email that may not have gone out),
    until acknowledged. About a link and its request, or about the case alone."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    item_id: Mapped[str | None] = mapped_column(ForeignKey("items.id"))
    request_id: Mapped[str | None] = mapped_column(ForeignKey("removal_requests.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    what: Mapped[str] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The email to TAKEDOWN_CASEWORKER_EMAIL, when one is set: a MessageState, as for a
    # victim's notification (takedown.messages.outbox).
    email_state: Mapped[str] = mapped_column(
        String(16), default=MessageState.PENDING, server_default=MessageState.PENDING
    )
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_error: Mapped[str | None] = mapped_column(Text)


class ContactLookup(Base):
    """A cached RDAP answer (``ip:<address>`` or ``domain:<name>``), so that a case with many
    links on one host asks the registry once."""

    __tablename__ = "contact_lookups"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    answer: Mapped[str] = mapped_column(Text)  # JSON: what takedown.contacts.rdap derived
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Who did what to a case, and when: every caseworker action. State changes of requests
    are in ``transitions``; ``takedown audit`` shows both. Never a name, an address or a link:
    ``detail`` says which fields changed, not their values."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    request_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class StoreKey(Base):
    """A key this store's values are encrypted under, known by its fingerprint
    (takedown.store.keycheck): a process whose first key is not among them is refused
    before it writes a value nobody could read back."""

    __tablename__ = "store_keys"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
