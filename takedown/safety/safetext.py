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


# Characters that draw nothing although they are not spaces or format characters (Hangul
# fillers, the blank Braille pattern, the Mongolian vowel separator): a value made of them
# looks empty to the person reading it.
_INVISIBLE = frozenset("\u115f\u1160\u180e\u2800\u3164\uffa0")


def line_problem(text: str) -> str | None:
    """Why ``text`` cannot be used as one line of text, or None when it can."""
    return text_problem(text, multiline=False)


def text_problem(text: str, *, multiline: bool) -> str | None:
    """Why ``text`` cannot be stored and shown as text, or None when it can: the one gate
    for every free-text field. ``multiline`` text (notes) may hold line feeds and tabs and
    nothing else of the kind; every other line or record separator (CR, U+0085, U+2028,
    form feed, the C0 separators) is refused, because a terminal or an email treats it as a
    break that a reader of the text would not see."""
    for character in text:
        category = unicodedata.category(character)
        if category == "Cs":
            return "contains bytes that are not valid UTF-8 text"
        if multiline and character in "\n\t":
            continue
        if category in _REFUSED_CATEGORIES:
            if multiline:
                return "must not contain control characters, or line breaks other than a new line"
            return "must not contain line breaks or control characters"
    return None


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing to a reader: only spaces, format characters (a
    zero-width space) and characters that draw nothing."""
    return all(
        character.isspace() or unicodedata.category(character) == "Cf" or character in _INVISIBLE
        for character in text
    )


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


# Bidirectional overrides and isolates: shown raw, they reorder the rest of a line on screen.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(message: str, limit: int = 300) -> str:
    """Text from outside (a library's message quoting the input, a stored value) made safe
    to print: one line, control characters and bidirectional overrides escaped, cut short."""
    text = "".join(
        ascii(character)[1:-1]
        if unicodedata.category(character) in _REFUSED_CATEGORIES or character in _BIDI_CONTROLS
        else character
        for character in message
    )
    return text if len(text) <= limit else text[:limit] + "…"
