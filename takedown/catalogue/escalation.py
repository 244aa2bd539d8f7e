"""Whom a platform's follow-ups go to, step by step (the rule that uses them is in
``takedown.monitoring.deadlines``): step 0 is the platform's own email channel, step k the
k-th entry of its ``escalation`` list. An entry ``dsa_coordinator: victims_country`` is the
Digital Services Coordinator of the victim's own country (DSA Article 53), from the legal
data: by email where it publishes an address for complaints, else a package for the
caseworker to submit on its complaint form; no step outside the EU, nor for a first report
that did not invoke the DSA.
"""

from __future__ import annotations

from dataclasses import dataclass

import pycountry

from takedown.catalogue.legal import Coordinator, Legal
from takedown.catalogue.schema import (
    CoordinatorStep,
    EmailChannel,
    EscalationStep,
    ManualChannel,
    Platform,
)

Route = EmailChannel | ManualChannel


@dataclass(frozen=True)
class FirstReport:
    """What of the first report decides where its follow-ups go."""

    basis: str | None  # the law its notice invoked
    country: str | None  # the victim's
    synthetic: bool = False


def target_for(
    platform: Platform, step: int, first: FirstReport, legal: Legal
) -> tuple[str, Route] | None:
    """Who a follow-up at this step is addressed to, and how it reaches them."""
    if step == 0:
        # The platform's own inbox for this kind of request (not, say, its US-only one).
        order = platform.channel_order(
            synthetic=first.synthetic, basis=first.basis, country=first.country
        )
        own = [c for i in order if isinstance(c := platform.channels[i], EmailChannel)]
        return (f"the {platform.name} trust and safety team", own[0]) if own else None
    if step <= len(platform.escalation):
        return _reach(platform.escalation[step - 1], first, legal)
    return None


def _reach(entry: EscalationStep, first: FirstReport, legal: Legal) -> tuple[str, Route] | None:
    if not isinstance(entry, CoordinatorStep):
        return entry.name, EmailChannel(type="email", to=entry.to)
    if first.basis != "dsa":
        # A complaint under Article 53 is about a platform that did not act on a notice
        # under the DSA; a notice under its own policy gives the coordinator nothing to judge.
        return None
    country = first.country
    coordinator = legal.coordinator_of(country)
    if coordinator is None or country is None or not coordinator.takes_complaints:
        return None  # outside the EU, no country, or a coordinator that takes none yet
    name = f"{coordinator.name}, the Digital Services Coordinator of {_country_name(country)}"
    if coordinator.email:
        return name, EmailChannel(type="email", to=coordinator.email)
    url = coordinator.complaint_form or coordinator.website
    if url is None:
        return None
    return name, ManualChannel(type="manual", url=url, instructions=_steps(coordinator))


def _steps(coordinator: Coordinator) -> list[str]:
    steps = [
        "This is a complaint under Article 53 of the Digital Services Act: the platform has "
        "not acted on the notice below by its deadline.",
        *coordinator.instructions,
    ]
    if coordinator.complaint_form and not coordinator.form_verified:
        steps.append(
            "The complaint form behind this page was not verified (legal/coordinators.yaml); "
            "check that it is the coordinator's route for complaints under Article 53."
        )
    if not coordinator.complaint_form:
        steps.append(
            "takedown has no verified complaint address or form for this coordinator "
            f"(legal/coordinators.yaml: {coordinator.note or 'none found'}); use the "
            "complaint route its website gives."
        )
    return steps


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return str(country.name) if country else code


def describe(entry: EscalationStep) -> str:
    """An escalation entry in words, before any case decides where it goes."""
    if isinstance(entry, CoordinatorStep):
        return "the Digital Services Coordinator of the victim's country (DSA Art. 53)"
    return entry.name


@dataclass(frozen=True)
class Step:
    number: int
    target: str  # who it is addressed to, in words: "the Fotogram trust and safety team"
    channel: Route


def next_step(
    platform: Platform, current: int | None, first: FirstReport, legal: Legal
) -> Step | None:
    """The first step after ``current`` that has somewhere to write to, if any is left."""
    after = -1 if current is None else current
    for number in range(after + 1, len(platform.escalation) + 1):
        target = target_for(platform, number, first, legal)
        if target is not None:
            return Step(number, *target)
    return None
