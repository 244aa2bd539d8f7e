"""A running takedown, as a test sees it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from takedown.config import Settings
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.smtp_sink import SmtpSink


@dataclass
class Stack:
    """A database, Redis, a ``takedown worker --beat``, and the fakes it talks to."""

    settings: Settings
    site: FakePlatform
    smtp: SmtpSink
    log: Path
