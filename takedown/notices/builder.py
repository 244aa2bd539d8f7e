"""What a notice says: its context, its legal basis, and the check that it is complete.

Delivery, `takedown notice preview` and `takedown notice lint` all compose notices here, so
what a caseworker previews is exactly what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takedown.catalogue.bases import facts_of
from takedown.catalogue.legal import Facts, Legal, legal_for
from takedown.catalogue.schema import Platform
from takedown.config import Settings
from takedown.errors import RenderError
from takedown.notices.elements import lint
from takedown.safety.sandbox import Rendered, render_template
from takedown.store.models import RemovalRequest


@dataclass(frozen=True)
class Notifier:
    """Who every notice comes from: the organisation, never the victim."""

    name: str
    email: str
    # Who signs TAKE IT DOWN and DMCA notices ("/s/ <name>").
    signatory: str
    # The organisation's trusted-flagger status under Article 22 DSA, in words, or "".
    trusted_flagger: str
    # True for the stand-in that checks templates while no notifier is configured.
    stand_in: bool = False

    @classmethod
    def of(cls, settings: Settings) -> Notifier:
        return cls(
            name=settings.notifier_name,
            email=settings.notifier_email,
            signatory=settings.signatory_name or settings.notifier_name,
            trusted_flagger=settings.trusted_flagger,
        )


# Checking the catalogue and the templates must work on a fresh install, before an operator
# has said who signs the notices; nothing can be sent until they have (see
# Settings.notifier_problem), and the stand-in says so wherever it shows.
STAND_IN_NOTIFIER = Notifier(
    name="Stand-in Helpline (TAKEDOWN_NOTIFIER_NAME is not set)",
    email="notifier@stand-in.invalid",
    signatory="Stand-in Signatory",
    trusted_flagger="",
    stand_in=True,
)


def checking_notifier(settings: Settings) -> Notifier:
    """The configured notifier, or the stand-in while none is configured."""
    return STAND_IN_NOTIFIER if settings.notifier_problem() else Notifier.of(settings)


def notice_context(
    reference: str, url: str, platform: Platform, notifier: Notifier
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
        "notifier": {"name": notifier.name, "email": notifier.email},
    }


NOTICE = "notice"  # the notice of the request's legal basis, as opposed to a follow-up


def compose(
    request: RemovalRequest,
    platform: Platform,
    settings: Settings,
    context: dict[str, Any],
    template: str = NOTICE,
) -> Rendered:
    """The request's notice (or follow-up), rendered and checked against its legal basis;
    ``context`` gains what the basis adds. Raises RenderError, or an InputError or
    DataFileError when the legal basis or the legal data cannot be used."""
    case = request.item.case
    facts = facts_of(case)
    legal = legal_for(settings.legal_dir)
    basis = request.legal_basis or "terms"
    context |= legal_context(
        basis,
        facts,
        legal,
        Notifier.of(settings),
        # An erased case has no requests left, so the name is always there.
        victim_name=case.victim_name or "",
    )
    language = platform.notice_language
    if template != NOTICE:
        return render_notice(settings.templates_dir, template, language, context)
    return compose_notice(settings.templates_dir, legal, basis, language, facts, context)


def notice_template_name(basis: str, language: str) -> str:
    return f"notices/{basis}/{language}.j2"


def render_notice(
    templates_dir: Path, basis: str, language: str, context: dict[str, Any]
) -> Rendered:
    """Render the notice template's ``subject`` and ``body`` blocks for one request."""
    return render_template(templates_dir, notice_template_name(basis, language), language, context)


def legal_context(
    basis_id: str,
    facts: Facts,
    legal: Legal,
    notifier: Notifier,
    *,
    victim_name: str,
) -> dict[str, Any]:
    """What a notice of this basis may say beyond the plain notice context. The victim's
    name only for a basis that requires it (DMCA, which is chosen only with consent)."""
    basis = legal.basis(basis_id)
    context: dict[str, Any] = {
        "basis": {"id": basis_id, "name": basis.name},
        "facts": {"minor": facts.minor, "synthetic": facts.synthetic, "country": facts.country},
        "signatory": {"name": notifier.signatory},
        "trusted_flagger": notifier.trusted_flagger,
    }
    ground = legal.ground_for(facts)
    if basis.requires_ground:
        if ground is None:
            raise RenderError(f"{basis.name}: no offence in the legal data covers this case")
        context["ground"] = {"citation": ground.citation, "title": ground.title}
    if basis.names_victim:
        context["victim"] = {"name": victim_name}
    return context


def compose_notice(
    templates_dir: Path,
    legal: Legal,
    basis_id: str,
    language: str,
    facts: Facts,
    context: dict[str, Any],
) -> Rendered:
    """Render the notice of a basis and refuse it when it lacks a required element."""
    basis = legal.basis(basis_id)
    notice = render_notice(templates_dir, basis_id, language, context)
    missing = lint(notice, basis, facts, context)
    if missing:
        raise RenderError(
            f"the notice notices/{basis_id}/{language}.j2 lacks {missing[0].what} "
            f"({basis.name}); it was not sent"
        )
    return notice
