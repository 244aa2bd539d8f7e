"""What a platform file may say: the schema every file in ``platforms/`` is validated against.

Platforms are data. A broken file is refused with a message that names the file and the
field, so whoever edits it can fix it without reading Python. The channels' part is
``takedown.catalogue.channel_schema``; the removal rules', ``takedown.catalogue.removal_rules``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from takedown.catalogue.channel_schema import (
    ChannelConfig,
    EmailChannel,
    ManualChannel,
    WebformChannel,
)
from takedown.catalogue.countries import EU, EU_COUNTRIES
from takedown.catalogue.removal_rules import DEFAULT_RULES, RemovalRule
from takedown.catalogue.values import (
    LANGUAGES,
    EmailAddress,
    Hours,
    LegalBasisId,
    OneLine,
    Strict,
    WebAddress,
)
from takedown.safety.safetext import shown

# Re-exported: what the rest of takedown reads a platform file as.
__all__ = [
    "LANGUAGES",
    "ChannelConfig",
    "CoordinatorStep",
    "EmailAddress",
    "EmailChannel",
    "EscalationStep",
    "EscalationTarget",
    "LegalBasisId",
    "ManualChannel",
    "Platform",
    "ProgrammeId",
    "WebAddress",
    "WebformChannel",
]


class EscalationTarget(Strict):
    """Who to write to when the platform lets its deadline pass: its EU legal representative
    or DSA contact point, its host, its regulator."""

    name: OneLine
    to: EmailAddress


class CoordinatorStep(Strict):
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


class Platform(Strict):
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
    unverified: list[OneLine] = Field(default_factory=list)
    # The laws and policies this platform must honour; the notice invokes one of them.
    legal_bases: list[LegalBasisId] = Field(default=["terms"], min_length=1)
    hash_programmes: list[ProgrammeId] = Field(default_factory=list)
    domains: list[str] = Field(min_length=1)
    deadline_hours: Hours
    channels: list[ChannelConfig] = Field(min_length=1)
    removed_when: Annotated[
        list[RemovalRule],
        BeforeValidator(_removal_rules),
        Field(min_length=1, default_factory=lambda: list(DEFAULT_RULES)),
    ]
    escalation: list[EscalationStep] = Field(default_factory=list)
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
