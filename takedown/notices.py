"""What a notice says: its context, its legal basis, and the check that it is complete.

Delivery, `takedown notice preview` and `takedown notice lint` all compose notices here, so
what a caseworker previews is exactly what is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from takedown.cases import facts_of
from takedown.config import Settings
from takedown.legal import Facts, LegalError, compose_notice, legal_context, legal_for
from takedown.models import RemovalRequest
from takedown.platforms import LANGUAGES, Platform
from takedown.render import Notice, RenderError, render_notice


def notice_context(
    reference: str, url: str, platform: Platform, settings: Settings
) -> dict[str, Any]:
    """What templates and platform fields may use. The victim's identity is not in it:
    the organisation is the notifier, and a notice never needs the victim's name."""
    return {
        "case": {"reference": reference},
        "item": {"url": url},
        "platform": {
            "id": platform.id,
            "name": platform.name,
            # 48, not 48.0, in a notice; fractions stay as they are.
            "deadline_hours": int(platform.deadline_hours)
            if platform.deadline_hours.is_integer()
            else platform.deadline_hours,
        },
        "notifier": {"name": settings.notifier_name, "email": settings.notifier_email},
    }


NOTICE = "notice"  # the notice of the request's legal basis, as opposed to a follow-up


def compose(
    request: RemovalRequest,
    platform: Platform,
    settings: Settings,
    context: dict[str, Any],
    template: str = NOTICE,
) -> Notice:
    """The request's notice (or follow-up), rendered and checked against its legal basis;
    ``context`` gains what the basis adds. Raises RenderError or LegalError."""
    case = request.item.case
    facts = facts_of(case)
    legal = legal_for(settings.legal_dir)
    basis = request.legal_basis or "terms"
    context |= legal_context(
        basis,
        facts,
        legal,
        signatory=settings.signatory_name or settings.notifier_name,
        trusted_flagger=settings.trusted_flagger,
        # An erased case has no requests left, so the name is always there.
        victim_name=case.victim_name or "",
    )
    language = platform.notice_language
    if template != NOTICE:
        return render_notice(settings.templates_dir, template, language, context)
    return compose_notice(settings.templates_dir, legal, basis, language, facts, context)


# Realistic cases each basis is linted for: an adult and a child, real and AI-made material.
SAMPLE_CASES: dict[str, list[Facts]] = {
    "dsa": [Facts("FI"), Facts("FI", synthetic=True), Facts("DE", minor=True), Facts("SE")],
    "take_it_down": [Facts("US"), Facts("US", synthetic=True), Facts("US", minor=True)],
    "dmca": [Facts("US", victim_owns_copyright=True, victim_may_be_named=True)],
    "terms": [Facts("DE", synthetic=True), Facts(None, minor=True), Facts("FI")],
}


def sample_notices(settings: Settings) -> Iterator[tuple[str, str | None]]:
    """Every legal basis in every language for realistic cases, with the trusted-flagger
    statement on and off: what was rendered, and the problem or None."""
    legal = legal_for(settings.legal_dir)
    platform = Platform.model_validate(SAMPLE_PLATFORM)
    for basis in legal.bases:
        for language in LANGUAGES:
            for facts in SAMPLE_CASES.get(basis, [Facts("FI")]):
                for flagger in ("", "designated by the national Digital Services Coordinator"):
                    what = f"{basis}/{language} for {describe(facts)}"
                    what += ", trusted flagger" if flagger else ""
                    context = notice_context("TD-2026-7KQ2MX", SAMPLE_URL, platform, settings)
                    try:
                        context |= legal_context(
                            basis,
                            facts,
                            legal,
                            signatory=settings.signatory_name or "Maria Virtanen",
                            trusted_flagger=flagger,
                            victim_name="Aino Virtanen",
                        )
                        compose_notice(
                            settings.templates_dir, legal, basis, language, facts, context
                        )
                    except (RenderError, LegalError) as error:
                        yield what, str(error)
                    else:
                        yield what, None


SAMPLE_URL = "https://fotogram.example/p/8s7d6f"
SAMPLE_PLATFORM = {
    "id": "fotogram",
    "name": "Fotogram",
    "source": "https://fotogram.example/help",
    "checked": "2026-11-22",
    "legal_bases": ["dsa", "take_it_down", "dmca", "terms"],
    "domains": ["fotogram.example"],
    "deadline_hours": 48,
    "channels": [{"type": "email", "to": "ncii@fotogram.example"}],
}


def describe(facts: Facts) -> str:
    who = "a child" if facts.minor else "an adult"
    what = "AI-made" if facts.synthetic else "real"
    return f"{who}, {what}, {facts.country or 'no country'}"


def sample_facts(basis: str) -> Facts:
    """A realistic case each basis can be used for: the rehearsal and `notice lint` use it."""
    if basis == "dmca":
        return Facts(country="US", victim_owns_copyright=True, victim_may_be_named=True)
    return Facts(country="FI")
