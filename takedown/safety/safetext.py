"""What text from outside may contain before it is stored, shown, or put into an email.

Case fields, links, platform files and registry answers all end up in the database, in a
caseworker's terminal and in email headers. A line break there would let a value add a
header of its own (``Bcc:``), a NUL is refused by PostgreSQL, and a lone surrogate (bytes
that were not UTF-8, as Python passes them on from a command line) cannot be stored at
all. One definition serves every place that checks, so they cannot drift apart.
"""

from __future__ import annotations

import re
import unicodedata
from email.errors import HeaderParseError
from email.headerregistry import Address

# Control characters (C0, DEL, C1: NUL, CR, LF, ESC, NEL ...), line and paragraph
# separators (which str.splitlines and the email package treat as line breaks), and lone
# surrogates. Format characters (zero-width joiners) stay allowed: names need them.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Longer than any address a mail server accepts (RFC 5321: 254).
MAX_EMAIL_CHARS = 254


def line_problem(text: str) -> str | None:
    """Why ``text`` cannot be used as one line of text, or None when it can."""
    for character in text:
        category = unicodedata.category(character)
        if category == "Cs":
            return "contains bytes that are not valid UTF-8 text"
        if category in _REFUSED_CATEGORIES:
            return "must not contain line breaks or control characters"
    return None


def email_problem(value: str) -> str | None:
    """Why ``value`` is not exactly one plain address such as ``name@example.org``, or None.

    The address is parsed by the same email package that writes the ``To`` header, so an
    address accepted here is sent as exactly that one address: no second recipient after a
    comma, no display name, no comment.
    """
    problem = line_problem(value)
    if problem:
        return problem
    if len(value) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(value):
        return f"{shown(value)} is not an email address"
    try:
        parsed = Address(addr_spec=value).addr_spec
    except (ValueError, HeaderParseError):
        return f"{shown(value)} is not an email address"
    if parsed != value:
        return f"{shown(value)} is not a plain email address such as name@example.org"
    return None


def shown(value: str, limit: int = 80) -> str:
    """A value quoted for an error message: control characters escaped, and cut short when
    long, so that the message stays one readable line."""
    if len(value) <= limit:
        return repr(value)
    return repr(value[:limit]) + f"… ({len(value)} characters)"


def printable(message: str, limit: int = 300) -> str:
    """A message written by a library (pydantic, PyYAML) that may quote the input: made one
    line, control characters escaped, and cut short."""
    text = "".join(
        ascii(character)[1:-1]
        if unicodedata.category(character) in _REFUSED_CATEGORIES
        else character
        for character in message
    )
    return text if len(text) <= limit else text[:limit] + "…"
