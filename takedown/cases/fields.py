"""What a caseworker may type into a case: one line of text, an email address, a language, a
country, a phone number, notes. Each check refuses with an ``InputError`` naming its field.

Case fields reach email headers: a line break or control character never gets past here.
"""

from __future__ import annotations

import re

import pycountry

from takedown.catalogue.schema import LANGUAGES
from takedown.errors import InputError
from takedown.safety.safetext import email_problem, is_blank, line_problem, shown, text_problem

# Far beyond any real name or ticket; a longer value is a paste gone wrong.
MAX_TEXT_CHARS = 500
MAX_NOTES_CHARS = 10_000
# International or national format: digits with spaces, dashes, dots or brackets.
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,30}$")


def clean_text(field: str, value: str) -> str:
    """One line of text without surrounding spaces."""
    text = value.strip()
    if is_blank(text):
        raise InputError("must not be empty", field=field)
    problem = line_problem(text)
    if problem:
        raise InputError(problem, field=field)
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"longer than {MAX_TEXT_CHARS} characters", field=field)
    return text


def email_address(field: str, value: str) -> str:
    """Exactly one plain address such as ``name@example.org``."""
    address = clean_text(field, value)
    problem = email_problem(address)
    if problem:
        raise InputError(problem, field=field)
    return address


def language(value: str) -> str:
    if value not in LANGUAGES:
        raise InputError(
            f"{shown(value)} is not supported; use one of {', '.join(LANGUAGES)}", field="language"
        )
    return value


def country_code(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 code (``fi`` and ``FIN`` are accepted too), or None."""
    if value is None or not value.strip():
        return None
    problem = line_problem(value.strip())
    if problem:
        raise InputError(problem, field="country")
    try:
        country = pycountry.countries.lookup(value.strip())
    except LookupError:
        raise InputError(
            f"{shown(value)} is not an ISO 3166 country code such as FI, DE, SE or US",
            field="country",
        ) from None
    return str(country.alpha_2)


def phone_number(value: str) -> str:
    """The victim's phone, for the caseworker only."""
    cleaned = clean_text("victim_phone", value)
    if not _PHONE.fullmatch(cleaned):
        raise InputError(f"{shown(cleaned)} is not a phone number", field="victim_phone")
    return cleaned


def notes_text(value: str) -> str | None:
    """The caseworker's notes: several lines, each of them text; None when empty."""
    # Notes may run over several lines: line feeds, as the terminal and the browser send
    # them (CR LF from a Windows paste becomes LF), and no other kind of break.
    text = value.replace("\r\n", "\n").strip()
    problem = text_problem(text, multiline=True)
    if problem:
        raise InputError(problem, field="notes")
    if len(text) > MAX_NOTES_CHARS:
        raise InputError(f"longer than {MAX_NOTES_CHARS:,} characters", field="notes")
    return None if is_blank(text) else text
