"""What a caseworker does with a case: open it, add links, queue requests, read its status.

Input is validated in full before anything is stored, so a mistake in one link of ten
stores none of them and the caseworker can correct the command and run it again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from takedown.cases.fields import _PHONE, MAX_NOTES_CHARS, InputError, clean_text, country_code
from takedown.catalogue.legal import Facts
from takedown.catalogue.schema import LANGUAGES
from takedown.safety.safetext import email_problem, line_problem, shown
from takedown.store.db import find_by_id_prefix
from takedown.store.models import Case


class CaseNotFound(LookupError):
    pass


def open_case(
    session: Session,
    victim_name: str,
    victim_email: str,
    language: str,
    minor: bool = False,
    facts: Facts | None = None,
) -> Case:
    """A new case. ``facts`` (country, AI-made, copyright and consent to be named) choose
    the legal basis of its notices; ``minor`` there is overridden by the argument."""
    name = clean_text("--victim-name", victim_name)
    email = clean_text("--victim-email", victim_email)
    problem = email_problem(email)
    if problem:
        raise InputError(f"--victim-email: {problem}")
    if language not in LANGUAGES:
        raise InputError(
            f"--language: {shown(language)} is not supported; use one of {', '.join(LANGUAGES)}"
        )
    facts = facts or Facts()
    case = Case(
        victim_name=name,
        victim_email=email,
        language=language,
        minor=minor,
        country=country_code(facts.country),
        synthetic=facts.synthetic,
        victim_owns_copyright=facts.victim_owns_copyright,
        victim_may_be_named=facts.victim_may_be_named,
    )
    session.add(case)
    session.flush()
    return case


def set_contact_details(case: Case, phone: str | None, notes: str | None) -> None:
    """The victim's phone and the caseworker's notes: kept for the caseworker, encrypted,
    never put in a notice or a message."""
    if phone is not None:
        cleaned = clean_text("--victim-phone", phone)
        if not _PHONE.fullmatch(cleaned):
            raise InputError(f"--victim-phone: {shown(cleaned)} is not a phone number")
        case.victim_phone = cleaned
    if notes is not None:
        text = notes.strip()
        # Notes may run over several lines; each line must still be text.
        problem = next(filter(None, map(line_problem, text.splitlines())), None)
        if problem:
            raise InputError(f"--notes: {problem}")
        if len(text) > MAX_NOTES_CHARS:
            raise InputError(f"--notes: longer than {MAX_NOTES_CHARS:,} characters")
        case.notes = text or None


def refuse_if_erased(case: Case) -> None:
    if case.erased_at is not None:
        raise InputError(
            f"case {case.reference} was erased on {case.erased_at:%Y-%m-%d}; "
            "nothing can be added to it"
        )


def refuse_if_closed(case: Case) -> None:
    refuse_if_erased(case)
    if case.closed_at is not None:
        raise InputError(
            f"case {case.reference} was closed on {case.closed_at:%Y-%m-%d}; reopen it with "
            "takedown case reopen before adding links or queueing requests"
        )


def find_case(session: Session, key: str) -> Case:
    """A case by its id, its reference, or an unambiguous id prefix of 6 or more characters."""
    if line_problem(key):  # no id has one, and PostgreSQL refuses a NUL even in a query
        raise CaseNotFound(f"no case with the id or reference {shown(key)}")
    case = session.get(Case, key) or session.scalar(
        select(Case).where(Case.reference == key.upper())
    )
    if case is None:
        case = find_by_id_prefix(session, Case, key)
    if case is None:
        raise CaseNotFound(f"no case with the id or reference {shown(key)}")
    return case
