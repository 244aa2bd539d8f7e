"""What a platform file may say: the schema every file in ``platforms/`` is validated against.

Platforms are data. A broken file is refused with a message that names the file and the
field, so whoever edits it can fix it without reading Python.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from jinja2 import TemplateSyntaxError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from takedown.safety.safetext import email_problem, line_problem, shown
from takedown.safety.sandbox import compile_field

LANGUAGES = ("en", "fi", "sv", "de")


# The laws and policies a notice can invoke; each is described in legal/bases.yaml.
LegalBasisId = Literal["dsa", "take_it_down", "dmca", "terms"]


class _Strict(BaseModel):
    # A misspelt key is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", frozen=True)


HttpStatus = Annotated[int, Field(ge=100, le=599)]


# A channel only for real, or only for AI-made material (e.g. a search engine's separate
# form for sexual deepfakes); a channel without it takes both.
ContentKind = Literal["real", "synthetic"]


def _web_address(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value) or line_problem(value) or " " in value:
        raise ValueError(f"{shown(value)} is not an http:// or https:// address")
    return value


def _email_address(value: str) -> str:
    problem = email_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _one_line(value: str) -> str:
    # Names reach notices' subjects, and so email headers.
    problem = line_problem(value)
    if problem:
        raise ValueError(problem)
    return value


WebAddress = Annotated[str, AfterValidator(_web_address)]


EmailAddress = Annotated[str, AfterValidator(_email_address)]


OneLine = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_one_line)]


# A deadline beyond a year is a typing mistake, and an infinite one cannot be computed.
Hours = Annotated[float, Field(gt=0, le=366 * 24, allow_inf_nan=False)]


class SuccessRule(_Strict):
    status: list[HttpStatus] = Field(default=[200], min_length=1)
    ticket_pattern: str | None = None

    @field_validator("ticket_pattern")
    @classmethod
    def _compiles_with_a_group(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
        if compiled.groups < 1:
            raise ValueError("needs a group in parentheses: group 1 is the ticket")
        return pattern


class WebformChannel(_Strict):
    type: Literal["webform"]
    for_content: ContentKind | None = None
    form_url: WebAddress | None = None
    submit_url: WebAddress
    fields: dict[str, str] = Field(min_length=1)
    success: SuccessRule = SuccessRule()

    @field_validator("fields")
    @classmethod
    def _fields_are_templates(cls, fields: dict[str, str]) -> dict[str, str]:
        for name, expression in fields.items():
            try:
                compile_field(expression)
            except TemplateSyntaxError as error:
                # str(error) spans lines (it quotes the source); the message and line do not.
                raise ValueError(
                    f"field {shown(name)} is not a valid template: {error.message} "
                    f"(line {error.lineno})"
                ) from None
        return fields


class EmailChannel(_Strict):
    type: Literal["email"]
    for_content: ContentKind | None = None
    to: EmailAddress


class ManualChannel(_Strict):
    """A logged-in or CAPTCHA-protected form: a caseworker submits the prepared package."""

    type: Literal["manual"]
    for_content: ContentKind | None = None
    url: WebAddress
    instructions: list[str] = []
    fields: dict[str, str] = {}


ChannelConfig = Annotated[
    WebformChannel | EmailChannel | ManualChannel, Field(discriminator="type")
]


class EscalationTarget(_Strict):
    """Who to write to when the platform lets its deadline pass: its EU legal representative
    or DSA contact point, its host, its regulator."""

    name: OneLine
    to: EmailAddress


class RemovedRule(_Strict):
    status: list[HttpStatus] = [404, 410]
    body_contains: list[str] = []


class Platform(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: OneLine
    # A search engine can de-index a result; the content stays where it is hosted.
    kind: Literal["host", "search_engine"] = "host"
    # The platform's own page the channels were taken from, and when someone last checked it.
    # Optional so that a minimal file still loads; every file of the catalogue has both.
    source: WebAddress | None = None
    checked: date | None = None
    # The laws and policies this platform must honour; the notice invokes one of them.
    legal_bases: list[LegalBasisId] = Field(default=["terms"], min_length=1)
    domains: list[str] = Field(min_length=1)
    deadline_hours: Hours
    channels: list[ChannelConfig] = Field(min_length=1)
    removed_when: RemovedRule = RemovedRule()
    escalation: list[EscalationTarget] = []
    notice_language: Literal["en", "fi", "sv", "de"] = "en"

    def channel_order(self, synthetic: bool) -> list[int]:
        """The channels a request about this material goes through, in order."""
        kind = "synthetic" if synthetic else "real"
        return [
            index
            for index, channel in enumerate(self.channels)
            if channel.for_content in (None, kind)
        ]

    @model_validator(mode="after")
    def _every_kind_of_material_has_a_channel(self) -> Platform:
        for synthetic in (False, True):
            order = self.channel_order(synthetic)
            kind = "AI-made" if synthetic else "real"
            if not order:
                raise ValueError(f"channels: none takes {kind} material (see for_content)")
            # A manual channel never fails, so nothing after it would ever be used.
            manual = [i for i in order if self.channels[i].type == "manual"]
            if manual and manual[0] != order[-1]:
                raise ValueError(
                    f"channels.{order[-1]}: never used for {kind} material, because the manual "
                    f"channel {manual[0]} comes before it; put the manual channel last"
                )
        return self

    @field_validator("legal_bases")
    @classmethod
    def _terms_always_apply(cls, bases: list[str]) -> list[str]:
        # Every platform has a policy against non-consensual intimate imagery to fall back on.
        if "terms" not in bases:
            raise ValueError("must include 'terms' (the platform's own policy)")
        if len(set(bases)) != len(bases):
            raise ValueError("lists a basis twice")
        return bases

    @field_validator("domains")
    @classmethod
    def _domains_are_hostnames(cls, domains: list[str]) -> list[str]:
        normalised = []
        for domain in domains:
            host = domain.strip().lower().rstrip(".")
            if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host):
                raise ValueError(f"{shown(domain)} is not a domain name such as 'example.com'")
            if host in normalised:
                raise ValueError(f"{shown(domain)} is listed twice")
            normalised.append(host)
        return normalised
