"""Sample notices: every legal basis in every language for realistic cases (``notice lint``),
and a platform's every notice and field rehearsed for a sample link (``platforms check``
and worker start), so that a broken template shows before the first real send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from takedown.catalogue.escalation import FirstReport, next_step
from takedown.catalogue.legal import Facts, legal_for
from takedown.catalogue.platforms import Catalogue, catalogue_for
from takedown.catalogue.schema import LANGUAGES, EmailChannel, Platform
from takedown.config import Settings
from takedown.errors import DataFileError, RenderError
from takedown.notices.builder import (
    checking_notifier,
    compose_notice,
    legal_context,
    notice_context,
    render_notice,
)
from takedown.safety.sandbox import render_fields

# Realistic cases each basis is linted for: an adult and a child, real and AI-made material.
# The first of each is the case a platform's notices are rehearsed for.
SAMPLE_CASES: dict[str, list[Facts]] = {
    "dsa": [Facts("FI"), Facts("FI", synthetic=True), Facts("DE", minor=True), Facts("SE")],
    "take_it_down": [Facts("US"), Facts("US", synthetic=True), Facts("US", minor=True)],
    "dmca": [Facts("US", victim_owns_copyright=True, victim_may_be_named=True)],
    "terms": [Facts("DE", synthetic=True), Facts(None, minor=True), Facts("FI")],
}


def sample_notices(settings: Settings) -> Iterator[tuple[str, str | None]]:
    """Every legal basis in every language for realistic cases, with the trusted-flagger
    statement on and off: what was rendered, and the problem or None. Without a configured
    notifier, the notices are signed by a clearly marked stand-in."""
    legal = legal_for(settings.legal_dir)
    platform = Platform.model_validate(SAMPLE_PLATFORM)
    notifier = checking_notifier(settings)
    notifier = dataclasses.replace(notifier, signatory=settings.signatory_name or "Maria Virtanen")
    for basis in legal.bases:
        for language in LANGUAGES:
            for facts in SAMPLE_CASES.get(basis, [Facts("FI")]):
                for flagger in ("", "designated by the national Digital Services Coordinator"):
                    what = f"{basis}/{language} for {describe(facts)}"
                    what += ", trusted flagger" if flagger else ""
                    signer = dataclasses.replace(notifier, trusted_flagger=flagger)
                    context = notice_context("TD-2026-7KQ2MX", SAMPLE_URL, platform, signer)
                    try:
                        context |= legal_context(
                            basis, facts, legal, signer, victim_name="Aino Virtanen"
                        )
                        compose_notice(
                            settings.templates_dir, legal, basis, language, facts, context
                        )
                    except (RenderError, DataFileError) as error:
                        yield what, error.words()
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


def rehearse(platform: Platform, settings: Settings) -> None:
    """Render a platform's notice and every channel's fields for a sample link, so that a
    misspelt variable or a missing language shows up in `takedown platforms check` and at
    worker start, not at the first real send."""
    url = f"https://{platform.domains[0]}/sample"
    legal = legal_for(settings.legal_dir)
    notifier = checking_notifier(settings)
    try:
        # Every basis the platform may get a notice under, for a case it can be used for.
        for basis in platform.legal_bases:
            facts = SAMPLE_CASES.get(basis, [Facts("FI")])[0]
            context = notice_context("TD-0000-SAMPLE", url, platform, notifier)
            context |= legal_context(basis, facts, legal, notifier, victim_name="Sample Person")
            language = platform.notice_language
            notice = compose_notice(settings.templates_dir, legal, basis, language, facts, context)
        context["notice"] = {"subject": notice.subject, "body": notice.body}
        for channel in platform.channels:
            if not isinstance(channel, EmailChannel):
                render_fields(channel.fields, context, platform.id)
        reports = [FirstReport(basis, "FI") for basis in platform.legal_bases]
        if any(next_step(platform, None, first, legal) for first in reports):
            sample = {
                "ticket": "T-1",
                "sent_at": "2026-01-01 00:00 UTC",
                "deadline_at": "2026-01-03",
            }
            followup = context | {"original": sample, "target": {"name": "a sample target"}}
            render_notice(settings.templates_dir, "followup", platform.notice_language, followup)
    except (RenderError, DataFileError) as error:
        raise DataFileError(
            f"{settings.platforms_dir / platform.id}.yaml: {error.words()}"
        ) from None


def check_catalogue(settings: Settings) -> Catalogue:
    """Every platform file loaded and rehearsed: what `takedown platforms check` and every
    worker's start do, so that a broken file is refused before anything is sent."""
    # The cached catalogue: a worker's pool processes inherit it, instead of each loading it.
    catalogue = catalogue_for(settings.platforms_dir)
    for platform in catalogue.platforms.values():
        rehearse(platform, settings)
    return catalogue
