"""The one interface every delivery channel implements, and the outcome it reports.

Every outcome is classified in the channel that saw it, because only the channel knows
whether the platform could have received the notice:

- ``delivered``: the platform accepted it (with its ticket, when it gives one);
- ``transient``: it did not arrive and trying again later may work (retry);
- ``permanent``: it did not arrive and trying again will not help (a human must act);
- ``ambiguous``: it may have arrived (a time-out after sending): never sent again silently;
- ``manual``: a package was prepared for a caseworker to submit by hand.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from takedown.catalogue.schema import Platform
from takedown.config import Settings
from takedown.safety.redaction import redact
from takedown.safety.sandbox import Rendered


class Outcome(StrEnum):
    DELIVERED = "delivered"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    AMBIGUOUS = "ambiguous"
    MANUAL = "manual"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    error: str | None = None
    ticket: str | None = None
    http_status: int | None = None
    smtp_reply: str | None = None
    excerpt: str | None = None
    # Seconds the platform asked us to wait (Retry-After), if it did.
    retry_after: float | None = None
    package: str | None = None

    def __post_init__(self) -> None:
        # Errors and SMTP replies are stored and logged; the exceptions of requests and
        # smtplib quote URLs and recipients, so every address and link is scrubbed here, once,
        # for every channel.
        for name in ("error", "smtp_reply"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, redact(value))


@dataclass(frozen=True)
class Job:
    """Everything a channel needs to send one request; no database access from here on."""

    request_id: str
    platform: Platform
    # One of the platform's channels, or for a follow-up the escalation target's email.
    channel_config: Any
    notice: Rendered
    context: dict[str, Any]
    # Strings that must never appear in a stored excerpt or a log line (the link, ...).
    sensitive: tuple[str, ...] = field(default=())


class Sender(abc.ABC):
    kind: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def deliver(self, job: Job) -> Result:
        """Send the job's notice; report what happened, never raise for a platform's answer."""
