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
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from takedown.catalogue.countries import EU, EU_COUNTRIES, country_problem, covers
from takedown.catalogue.removal_rules import DEFAULT_RULES, HttpStatus, RemovalRule
from takedown.safety.safetext import email_problem, line_problem, shown
from takedown.safety.sandbox import compile_field

LANGUAGES = ("en", "fi", "sv", "de")


# The laws and policies a notice can invoke; each is described in legal/bases.yaml.
LegalBasisId = Literal["dsa", "take_it_down", "dmca", "terms"]


class _Strict(BaseModel):
    # A misspelt key is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", frozen=True)


# A channel only for real, or only for AI-made material (e.g. a search engine's separate
# form for sexual deepfakes); a channel without it takes both.
ContentKind = Literal["real", "synthetic"]


def _country(value: str) -> str:
    problem = country_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Country = Annotated[str, AfterValidator(_country)]


class _Routed(_Strict):
    """Which requests a channel takes: by the material, by the notice's legal basis, by the
    victim's country. A condition left out takes every request."""

    for_content: ContentKind | None = None
    # X, say, takes EU notices under the DSA through one form and TAKE IT DOWN Act requests
    # from the US through another.
    for_bases: list[LegalBasisId] | None = Field(default=None, min_length=1)
    # ISO 3166 codes, or EU for the Member States.
    for_countries: list[Country] | None = Field(default=None, min_length=1)

    def takes(self, *, synthetic: bool, basis: str, country: str | None) -> bool:
        kind = "synthetic" if synthetic else "real"
        return (
            self.for_content in (None, kind)
            and (self.for_bases is None or basis in self.for_bases)
            and (self.for_countries is None or covers(self.for_countries, country))
        )


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


class WebformChannel(_Routed):
    type: Literal["webform"]
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


class EmailChannel(_Routed):
    type: Literal["email"]
    to: EmailAddress


class ManualChannel(_Routed):
    """A logged-in or CAPTCHA-protected form: a caseworker submits the prepared package."""

    type: Literal["manual"]
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


class CoordinatorStep(_Strict):
    """A complaint to the Digital Services Coordinator of the victim's own country (DSA
    Article 53), taken from ``legal/coordinators.yaml``; skipped outside the EU."""

    dsa_coordinator: Literal["victims_country"]


EscalationStep = EscalationTarget | CoordinatorStep


# Hash-matching programmes a platform takes part in: the person makes a hash of the image on
# their own device, and participating platforms block copies (``legal/programmes.yaml``).
ProgrammeId = Literal["stopncii", "take_it_down"]


def _removal_rules(value: object) -> object:
    if isinstance(value, dict):
        # The form before rules said what they are evidence of: refused with the way out.
        raise ValueError(
            "is a list of rules now, each saying what it is evidence of, e.g. "
            "'- {means: gone, status: [404, 410]}' (see platforms/README.md, removed_when)"
        )
    return value


class Platform(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: OneLine
    # A search engine can de-index a result; the content stays where it is hosted.
    kind: Literal["host", "search_engine"] = "host"
    # The platform's own page the channels were taken from, and when someone last checked it.
    # Optional so that a minimal file still loads; every file of the catalogue has both.
    source: WebAddress | None = None
    checked: date | None = None
    # Facts of this file that rest on third-party copies or could not be checked at their
    # source: what a caseworker should double-check (shown in every manual package).
    unverified: list[OneLine] = []
    # The laws and policies this platform must honour; the notice invokes one of them.
    legal_bases: list[LegalBasisId] = Field(default=["terms"], min_length=1)
    hash_programmes: list[ProgrammeId] = []
    domains: list[str] = Field(min_length=1)
    deadline_hours: Hours
    channels: list[ChannelConfig] = Field(min_length=1)
    removed_when: Annotated[
        list[RemovalRule], BeforeValidator(_removal_rules), Field(min_length=1)
    ] = list(DEFAULT_RULES)
    escalation: list[EscalationStep] = []
    notice_language: Literal["en", "fi", "sv", "de"] = "en"

    def channel_order(
        self, *, synthetic: bool, basis: str | None, country: str | None
    ) -> list[int]:
        """The channels a request goes through, in order: those that take its material,
        its notice's legal basis and the victim's country."""
        basis = basis or "terms"  # requests stored before notices had a basis
        return [
            index
            for index, channel in enumerate(self.channels)
            if channel.takes(synthetic=synthetic, basis=basis, country=country)
        ]

    def _countries_that_differ(self) -> list[str | None]:
        """One country for each way the channels' ``for_countries`` can treat a victim: every
        country a channel names, a Member State none names, and any other (or none)."""
        if not any(channel.for_countries for channel in self.channels):
            return [None]  # every country is treated alike
        named = {code for c in self.channels for code in c.for_countries or [] if code != EU}
        others = sorted(EU_COUNTRIES - named)[:1]
        return [*sorted(named), *others, None]

    @model_validator(mode="after")
    def _every_request_has_a_channel(self) -> Platform:
        for index, channel in enumerate(self.channels):
            stray = [b for b in channel.for_bases or [] if b not in self.legal_bases]
            if stray:
                raise ValueError(
                    f"channels.{index}.for_bases: {stray[0]} is not one of this platform's "
                    "legal_bases, so no request would use it"
                )
        # The platform's own policy first: it is the basis of last resort, always a way.
        bases = sorted(self.legal_bases, key=lambda basis: basis != "terms")
        for synthetic in (False, True):
            for basis in bases:
                self._routes_are_whole(synthetic, basis)
        return self

    def _routes_are_whole(self, synthetic: bool, basis: str) -> None:
        """Every request of this material under this basis has its channels, and none is
        put after a manual one (which never fails, so what follows is never used)."""
        kind = "AI-made" if synthetic else "real"
        countries = self._countries_that_differ()
        usable = False
        for country in countries:
            order = self.channel_order(synthetic=synthetic, basis=basis, country=country)
            # What the error names: only the conditions this file uses.
            where = f" under {basis}" if any(c.for_bases for c in self.channels) else ""
            if len(countries) > 1:
                where += f" for a victim in {country or 'any other country'}"
            if not order and basis == "terms":
                raise ValueError(
                    f"channels: none takes {kind} material{where} (see for_content, "
                    "for_bases, for_countries)"
                )
            usable = usable or bool(order)
            manual = [i for i in order if self.channels[i].type == "manual"]
            if manual and manual[0] != order[-1]:
                raise ValueError(
                    f"channels.{order[-1]}: never used for {kind} material{where}, because "
                    f"the manual channel {manual[0]} comes before it; put the manual "
                    "channel last"
                )
        if not usable:
            raise ValueError(
                f"legal_bases: no channel takes {kind} material under {basis} (see for_bases)"
            )

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
