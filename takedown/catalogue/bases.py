"""Choosing the legal basis of a notice for a case and a platform, and the deadline it sets."""

from __future__ import annotations

from dataclasses import dataclass, field

from takedown.catalogue.countries import EU_COUNTRIES
from takedown.catalogue.legal import Facts, Legal
from takedown.catalogue.schema import LegalBasisId, Platform
from takedown.errors import DataFileError, InputError
from takedown.store.models import Case

# The order in which bases are tried; a US victim's first recourse is US law.
PREFERENCE: tuple[LegalBasisId, ...] = ("dsa", "take_it_down", "dmca", "terms")


US_PREFERENCE: tuple[LegalBasisId, ...] = ("take_it_down", "dsa", "dmca", "terms")


@dataclass(frozen=True)
class Choice:
    basis: str
    # Why each better-ranked basis was passed over, for the caseworker.
    passed_over: list[str] = field(default_factory=list)


def why_not(basis_id: str, facts: Facts, platform: Platform, legal: Legal) -> str | None:
    """Why this basis cannot carry a notice for this case to this platform, or None."""
    if basis_id not in platform.legal_bases:
        # Before the legal data is asked: a basis it lacks concerns only the platforms
        # bound by it.
        name = legal.bases[basis_id].name if basis_id in legal.bases else basis_id
        return f"{name}: {platform.name} is not listed as bound by it"
    basis = legal.basis(basis_id)
    if basis_id == "dsa":
        if facts.country is None:
            return f"{basis.name}: the victim's country is not set (case update --country)"
        if facts.country not in EU_COUNTRIES:
            return f"{basis.name}: the victim's country {facts.country} is outside the EU"
        if legal.ground_for(facts) is None:
            kind = "an AI-made" if facts.synthetic else "a real"
            who = "a child" if facts.minor else "an adult"
            return (
                f"{basis.name}: no offence in the legal data covers {kind} image of {who} "
                f"in {facts.country}"
            )
    if basis_id == "dmca":
        if facts.minor:
            return f"{basis.name}: never for a child"
        if not facts.victim_owns_copyright:
            return f"{basis.name}: the victim does not hold the copyright"
        if not facts.victim_may_be_named:
            return (
                f"{basis.name}: the victim has not agreed to be named "
                "(DMCA notices are often published, e.g. in the Lumen database)"
            )
    channels = platform.channel_order(
        synthetic=facts.synthetic, basis=basis_id, country=facts.country
    )
    if not channels:
        # X, say, takes TAKE IT DOWN Act requests through a form it offers to US users only.
        where = f"in {facts.country}" if facts.country else "whose country is not set"
        return f"{basis.name}: {platform.name} has no channel for it from a victim {where}"
    return None


def choose_basis(
    facts: Facts, platform: Platform, legal: Legal, override: str | None = None
) -> Choice:
    """The basis for a notice about this case to this platform: a caseworker's choice when
    it can be used, else the first usable one in order of preference."""
    if override is not None:
        reason = why_not(override, facts, platform, legal)
        if reason is not None:
            raise InputError(f"{override} cannot be used: {reason}", field="basis")
        return Choice(override)
    passed_over: list[str] = []
    for basis_id in US_PREFERENCE if facts.country == "US" else PREFERENCE:
        reason = why_not(basis_id, facts, platform, legal)
        if reason is None:
            return Choice(basis_id, passed_over)
        passed_over.append(reason)
    raise DataFileError(f"{platform.id}.yaml: no legal basis can be used: {passed_over[-1]}")


def deadline_hours(basis_id: str | None, platform: Platform, legal: Legal) -> float:
    """The platform's own deadline, or the law's when that is shorter (TAKE IT DOWN: 48 h)."""
    law = legal.bases[basis_id].deadline_hours if basis_id in legal.bases else None
    return min(platform.deadline_hours, law) if law else platform.deadline_hours


def facts_of(case: Case) -> Facts:
    return Facts(
        country=case.country,
        minor=case.minor,
        synthetic=case.synthetic,
        victim_owns_copyright=case.victim_owns_copyright,
        victim_may_be_named=case.victim_may_be_named,
    )
