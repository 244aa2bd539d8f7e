"""Redacted excerpts of what platforms answer, safe to store and to log.

A platform's reply can echo our notice back, and the notice holds the link to the material.
An excerpt keeps enough for a caseworker to understand the answer and nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EXCERPT_CHARS = 300

_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def redact(text: str, sensitive: Iterable[str] = ()) -> str:
    """``text`` with every sensitive string, email address and URL replaced by a marker."""
    for value in sorted((s for s in sensitive if s), key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    text = _URL.sub("[link]", text)
    return _EMAIL.sub("[email]", text)


def excerpt(body: str, sensitive: Iterable[str] = (), limit: int = EXCERPT_CHARS) -> str:
    """The readable start of a reply (HTML tags dropped, white space folded), redacted."""
    plain = " ".join(_TAGS.sub(" ", body).split())
    plain = redact(plain, sensitive)
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"
