"""A case itself: opening it, finding it, changing it and reopening it.

Every input is validated before anything is stored, and every change is audited with the
acting person in the same transaction, whichever door it came through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from takedown.cases.fields import (
    clean_text,
    country_code,
    email_address,
    language,
    notes_text,
    phone_number,
)
from takedown.errors import Conflict, InputError, NotFound
from takedown.safety.safetext import line_problem, shown
from takedown.store.audit import record
from takedown.store.db import find_by_id_prefix
from takedown.store.models import Case


@dataclass(frozen=True)
class NewCase:
    """What a caseworker gives to open a case. The country, whether the material is AI-made,
    and the two DMCA conditions choose the legal basis of its notices."""

    victim_name: str
    victim_email: str
    language: str
    minor: bool = False
    country: str | None = None
    synthetic: bool = False
    victim_owns_copyright: bool = False
    victim_may_be_named: bool = False
    victim_phone: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class CaseChanges:
    """What to change in a case; None leaves a field as it is."""

    notify: bool | None = None
    country: str | None = None
    synthetic: bool | None = None
    victim_owns_copyright: bool | None = None
    victim_may_be_named: bool | None = None
    victim_phone: str | None = None
    notes: str | None = None

    def given(self) -> list[str]:
        return [field.name for field in fields(self) if getattr(self, field.name) is not None]


# What a change of each field means for the case, in the words a caseworker reads.
FACTS = ("country", "synthetic", "victim_owns_copyright", "victim_may_be_named")
CONTACT_DETAILS = ("victim_phone", "notes")


def open_case(session: Session, new: NewCase, *, actor: str) -> Case:
    case = Case(
        victim_name=clean_text("victim_name", new.victim_name),
        victim_email=email_address("victim_email", new.victim_email),
        language=language(new.language),
        minor=new.minor,
        country=country_code(new.country),
        synthetic=new.synthetic,
        victim_owns_copyright=new.victim_owns_copyright,
        victim_may_be_named=new.victim_may_be_named,
        victim_phone=phone_number(new.victim_phone) if new.victim_phone is not None else None,
        notes=notes_text(new.notes) if new.notes is not None else None,
    )
    session.add(case)
    session.flush()
    record(session, actor=actor, action="case opened", case_id=case.id)
    return case


# The text fields, each through its check; the flags are taken as given.
CHECKED: dict[str, Callable[[Any], Any]] = {
    "country": country_code,
    "victim_phone": phone_number,
    "notes": notes_text,
}


def _as_given(value: object) -> object:
    return value


def update_case(session: Session, case: Case, changes: CaseChanges, *, actor: str) -> list[str]:
    """Apply the changes given; the names of the fields changed (requests queued from now on
    use the new facts). The audit log names the fields, never their values."""
    given = changes.given()
    if not given:
        raise InputError("nothing to change: give at least one field", field="changes")
    refuse_if_erased(case)
    # Everything is validated before anything is set: a bad phone changes nothing else.
    values = {name: CHECKED.get(name, _as_given)(getattr(changes, name)) for name in given}
    for name, value in values.items():
        setattr(case, name, value)
    record(
        session,
        actor=actor,
        action="case updated",
        case_id=case.id,
        detail=", ".join(sorted(given)),
    )
    return given


def reopen_case(session: Session, case: Case, *, actor: str) -> bool:
    """A closed case taken up again; an erased one cannot be. False, with nothing changed or
    audited, when the case is open."""
    refuse_if_erased(case)
    if case.closed_at is None:
        return False
    case.closed_at = None
    record(session, actor=actor, action="case reopened", case_id=case.id)
    return True


def refuse_if_erased(case: Case) -> None:
    if case.erased_at is not None:
        raise Conflict(
            f"case {case.reference} was erased on {case.erased_at:%Y-%m-%d}; "
            "nothing can be added to it"
        )


def refuse_if_closed(case: Case) -> None:
    refuse_if_erased(case)
    if case.closed_at is not None:
        raise Conflict(
            f"case {case.reference} was closed on {case.closed_at:%Y-%m-%d}; reopen it with "
            "takedown case reopen before adding links or queueing requests"
        )


def find_case(session: Session, key: str) -> Case:
    """A case by its id, its reference, or an unambiguous id prefix of 6 or more characters."""
    if line_problem(key):  # no id has one, and PostgreSQL refuses a NUL even in a query
        raise NotFound(f"no case with the id or reference {shown(key)}")
    case = session.get(Case, key) or session.scalar(
        select(Case).where(Case.reference == key.upper())
    )
    if case is None:
        case = find_by_id_prefix(session, Case, key)
    if case is None:
        raise NotFound(f"no case with the id or reference {shown(key)}")
    return case
