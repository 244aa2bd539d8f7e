"""Redacted excerpts of what platforms answer, safe to store and to log.

A platform's reply can echo our notice back, and the notice holds the link to the material.
An excerpt keeps enough for a caseworker to understand the answer and nothing more.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

EXCERPT_CHARS = 300

_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# urllib3 quotes the path of a failed request on its own: "Max retries exceeded with url: /x".
_URL_PATH = re.compile(r"(with url: )\S+")


def redact(text: str, sensitive: Iterable[str] = ()) -> str:
    """``text`` with every sensitive string, email address and URL replaced by a marker."""
    for value in sorted((s for s in sensitive if s), key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    text = _URL.sub("[link]", text)
    text = _URL_PATH.sub(r"\1[link]", text)
    return _EMAIL.sub("[email]", text)


def excerpt(body: str, sensitive: Iterable[str] = (), limit: int = EXCERPT_CHARS) -> str:
    """The readable start of a reply (HTML tags dropped, white space folded), redacted."""
    plain = " ".join(_TAGS.sub(" ", body).split())
    plain = redact(plain, sensitive)
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


_installed = False


def install_log_redaction() -> None:
    """Scrub every log record of this process, whoever logs it (takedown, Celery, urllib3,
    smtplib) and wherever it goes: links and email addresses become markers in the message
    and in the traceback. Installed once, as the log record factory, so that no handler or
    logger configured later can bypass it."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed log call; leave it to logging
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(redacted_record)
