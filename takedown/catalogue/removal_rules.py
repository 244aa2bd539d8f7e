"""What a platform's answer at a link is evidence of: the ``removed_when`` rules of a
platform file.

A page that says "not available" does not always mean the platform removed the content:
the same words can stand for a link that simply expired, an account gone private, a login
or age wall, or a block in the checker's region. Each rule therefore says what it is
evidence *of* (``means``), and only ``gone`` ever confirms a removal. Judging an answer
against the rules is ``takedown.monitoring.checks``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from takedown.safety.safetext import line_problem, shown

HttpStatus = Annotated[int, Field(ge=100, le=599)]


class Means(StrEnum):
    """What a rule that fires tells about the content at the link."""

    # The platform removed it (or its owner deleted it): the only kind that confirms removal.
    GONE = "gone"
    # It may still exist, hidden from the public: private, behind a login or an age check.
    PRIVATE = "private"
    # The link itself has run out (a signed link valid for a day, say): ask for a fresh one.
    EXPIRED = "expired"
    # Withheld where the checker stands (a regional or legal block), perhaps not elsewhere.
    BLOCKED = "blocked"
    # Still served: a mark only a page that plays the content carries (a player's own
    # configuration). It outweighs any "gone" rule, so words someone typed into a live
    # page ("This video has been removed") cannot make it look removed.
    ONLINE = "online"


# The kinds that say the check cannot tell; they outweigh "online" and "gone".
DOUBTS = frozenset({Means.PRIVATE, Means.EXPIRED, Means.BLOCKED})


# What a caseworker reads when a rule other than ``gone`` fires: why the check cannot tell.
WHY_UNKNOWN = {
    Means.PRIVATE: "the content may still exist, hidden behind a private account, a login or "
    "an age check",
    Means.EXPIRED: "the link itself has expired or was switched off, so it says nothing "
    "about the content; ask for a fresh link if there is one",
    Means.BLOCKED: "the content is withheld in the checker's region and may be online elsewhere",
}


def _a_phrase(value: str) -> str:
    if not value.strip() or line_problem(value):
        raise ValueError(f"{shown(value)} is not a phrase of one line")
    return value


def _a_query_parameter(value: str) -> str:
    if not value.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"{shown(value)} is not the name of a query parameter")
    return value


Phrase = Annotated[str, Field(max_length=300), AfterValidator(_a_phrase)]


class RemovalRule(BaseModel):
    """One kind of answer and what it is evidence of. A rule fires when every condition it
    gives holds; without ``status``, it applies to 2xx answers only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    means: Means
    # The final answer's HTTP status (after redirects).
    status: list[HttpStatus] | None = Field(default=None, min_length=1)
    # Phrases of which one appears in the page (case-insensitive; read as far as needed).
    body_contains: list[Phrase] = []
    # The link was redirected, and the final address contains one of these (Imgur sends a
    # deleted image's link to a placeholder picture answered with 200).
    redirected_to: list[Phrase] = []
    # The link's path starts with one of these (Discord's attachment links: /attachments/).
    path_starts_with: list[Phrase] = []
    # A query parameter of the link that holds its expiry time as hexadecimal Unix seconds
    # (Discord's signed attachment links, ``ex``): fires once that time has passed, when the
    # link has no such parameter (an unsigned link is answered like an expired one), or when
    # its value is not a time (a link cut short): only a link known to be valid can tell.
    expires_param: Annotated[str, AfterValidator(_a_query_parameter)] | None = None
    # Where the wording or the behaviour was read, and what is not verified about it.
    source: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _says_something_specific(self) -> RemovalRule:
        if not (self.status or self.body_contains or self.redirected_to or self.expires_param):
            raise ValueError(
                "a rule needs at least one of status, body_contains, redirected_to, expires_param"
            )
        if self.expires_param and self.means != Means.EXPIRED:
            raise ValueError("expires_param tells that a link expired: use it with means: expired")
        if self.means == Means.ONLINE and not self.body_contains:
            raise ValueError("an 'online' rule is a mark in the page: give it body_contains")
        if self.expires_param and not self.status:
            # An expired link still served (2xx) shows the content: say what it answers instead.
            raise ValueError("expires_param needs the status an expired link is answered with")
        only_status = not (self.body_contains or self.redirected_to or self.expires_param)
        online_status = any(200 <= status < 300 for status in self.status or [])
        if self.means == Means.GONE and only_status and online_status:
            # Every page that is still online answers 2xx: that alone is never "removed".
            raise ValueError(
                "a 'gone' rule with a 2xx status needs body_contains or redirected_to as well"
            )
        return self

    def admits(self, status: int) -> bool:
        """Whether an answer with this status can make the rule fire."""
        if self.status is None:
            return 200 <= status < 300
        return status in self.status


DEFAULT_RULES = (RemovalRule(means=Means.GONE, status=[404, 410]),)
