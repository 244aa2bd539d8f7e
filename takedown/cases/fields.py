"""What a caseworker may type into a case: one line of text, a country, a phone number, notes.
Each check names the field it refuses.
"""

from __future__ import annotations

import re

import pycountry

from takedown.safety.safetext import line_problem, shown

# Far beyond any real name or ticket; a longer value is a paste gone wrong.
MAX_TEXT_CHARS = 500


# International or national format: digits with spaces, dashes, dots or brackets.
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,30}$")


MAX_NOTES_CHARS = 10_000


class InputError(ValueError):
    """A caseworker's input that cannot be used; the message names the field."""


def clean_text(field_name: str, value: str) -> str:
    """One line of text a caseworker typed, without surrounding spaces, or an ``InputError``
    naming the field. Case fields reach email headers: a line break must never get there."""
    text = value.strip()
    if not text:
        raise InputError(f"{field_name}: must not be empty")
    problem = line_problem(text)
    if problem:
        raise InputError(f"{field_name}: {problem}")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"{field_name}: longer than {MAX_TEXT_CHARS} characters")
    return text


def country_code(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 code (``fi`` and ``FIN`` are accepted too), or None."""
    if value is None or not value.strip():
        return None
    problem = line_problem(value.strip())
    if problem:
        raise InputError(f"--country: {problem}")
    try:
        country = pycountry.countries.lookup(value.strip())
    except LookupError:
        raise InputError(
            f"--country: {shown(value)} is not an ISO 3166 country code such as FI, DE, SE or US"
        ) from None
    return str(country.alpha_2)
