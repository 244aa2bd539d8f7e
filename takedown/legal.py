"""Legal bases of notices: which law or policy a notice invokes, and whether it says all that
law requires.

The bases, the national offences a DSA notice cites and the specialised routes for children
are data in ``legal/`` (see its files' comments). A notice is rendered from
``templates/notices/<basis>/<language>.j2`` and then *linted*: each element its basis
requires must be in the text, or the notice is refused before it is sent, naming the
element.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from takedown.platforms import LegalBasisId, Platform
from takedown.render import Notice, RenderError, render_notice
from takedown.yamlfile import YamlFileError, read_yaml

# The Member States, where the DSA applies (ISO 3166 alpha-2).
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905
)
# The order in which bases are tried; a US victim's first recourse is US law.
PREFERENCE: tuple[LegalBasisId, ...] = ("dsa", "take_it_down", "dmca", "terms")
US_PREFERENCE: tuple[LegalBasisId, ...] = ("take_it_down", "dsa", "dmca", "terms")


class LegalError(Exception):
    """A legal basis that cannot be used, or legal data that cannot be read."""


class NoticeIncomplete(RenderError):
    """A rendered notice lacks an element its legal basis requires."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Element(_Strict):
    id: str
    what: str
    values: list[str] = []
    phrases: dict[str, list[str]] = {}
    when: Literal["always", "minor", "adult", "trusted_flagger"] = "always"


class Basis(_Strict):
    name: str
    source: str | None = None
    requires_ground: bool = False
    deadline_hours: float | None = Field(default=None, gt=0)
    names_victim: bool = False
    elements: list[Element] = Field(min_length=1)


class Ground(_Strict):
    citation: str
    title: str
    covers: list[Literal["real", "synthetic"]] = Field(min_length=1)
    minor: bool
    source: str
    note: str | None = None


class Route(_Strict):
    name: str
    url: str
    what: str
    who: str
    countries: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class Facts:
    """What about a case decides its notices' legal basis."""

    country: str | None = None
    minor: bool = False
    synthetic: bool = False
    victim_owns_copyright: bool = False
    victim_may_be_named: bool = False


@dataclass(frozen=True)
class Legal:
    bases: dict[str, Basis]
    grounds: dict[str, list[Ground]]
    routes: list[Route]

    def basis(self, basis_id: str) -> Basis:
        try:
            return self.bases[basis_id]
        except KeyError:
            known = ", ".join(self.bases)
            raise LegalError(f"there is no legal basis {basis_id!r}; known: {known}") from None

    def ground_for(self, facts: Facts) -> Ground | None:
        """The national offence that covers this case, if the data has one."""
        content = "synthetic" if facts.synthetic else "real"
        for ground in self.grounds.get(facts.country or "", []):
            if ground.minor == facts.minor and content in ground.covers:
                return ground
        return None

    def routes_for(self, country: str | None) -> list[Route]:
        return [r for r in self.routes if "any" in r.countries or country in r.countries]


def _load_yaml(path: Path) -> Any:
    try:
        return read_yaml(path)
    except YamlFileError as error:
        raise LegalError(str(error)) from None


def _validated(path: Path, model: type[BaseModel], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = ".".join(str(part) for part in (where, *first["loc"]) if part != "")
        raise LegalError(f"{path}: {loc}: {first['msg']}") from None


def load_legal(directory: Path) -> Legal:
    bases_file, grounds_file, routes_file = (
        directory / name for name in ("bases.yaml", "grounds.yaml", "routes.yaml")
    )
    bases_data = _load_yaml(bases_file) or {}
    unknown = set(bases_data) - set(PREFERENCE)
    if unknown:
        raise LegalError(f"{bases_file}: {sorted(unknown)[0]}: not a basis takedown knows")
    bases = {key: _validated(bases_file, Basis, value, key) for key, value in bases_data.items()}
    grounds = {
        country: [
            _validated(grounds_file, Ground, entry, f"{country}.{index}")
            for index, entry in enumerate(entries)
        ]
        for country, entries in (_load_yaml(grounds_file) or {}).items()
    }
    routes = [
        _validated(routes_file, Route, entry, str(index))
        for index, entry in enumerate(_load_yaml(routes_file) or [])
    ]
    return Legal(bases, grounds, routes)


@lru_cache(maxsize=4)
def _cached(directory: Path, stamp: tuple[float, ...]) -> Legal:
    return load_legal(directory)


def legal_for(directory: Path) -> Legal:
    """The legal data of a directory, read again whenever one of its files changes."""
    stamp = tuple(path.stat().st_mtime for path in sorted(directory.glob("*.yaml")))
    return _cached(directory, stamp)


# ------------------------------------------------------------------------- choosing


@dataclass(frozen=True)
class Choice:
    basis: str
    # Why each better-ranked basis was passed over, for the caseworker.
    passed_over: list[str] = field(default_factory=list)


def why_not(basis_id: str, facts: Facts, platform: Platform, legal: Legal) -> str | None:
    """Why this basis cannot carry a notice for this case to this platform, or None."""
    basis = legal.basis(basis_id)
    if basis_id not in platform.legal_bases:
        return f"{basis.name}: {platform.name} is not listed as bound by it"
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
    return None


def choose_basis(
    facts: Facts, platform: Platform, legal: Legal, override: str | None = None
) -> Choice:
    """The basis for a notice about this case to this platform: a caseworker's choice when
    it can be used, else the first usable one in order of preference."""
    if override is not None:
        reason = why_not(override, facts, platform, legal)
        if reason is not None:
            raise LegalError(f"--basis {override}: cannot be used: {reason}")
        return Choice(override)
    passed_over: list[str] = []
    for basis_id in US_PREFERENCE if facts.country == "US" else PREFERENCE:
        reason = why_not(basis_id, facts, platform, legal)
        if reason is None:
            return Choice(basis_id, passed_over)
        passed_over.append(reason)
    raise LegalError(f"{platform.id}.yaml: no legal basis can be used: {passed_over[-1]}")


def deadline_hours(basis_id: str | None, platform: Platform, legal: Legal) -> float:
    """The platform's own deadline, or the law's when that is shorter (TAKE IT DOWN: 48 h)."""
    law = legal.bases[basis_id].deadline_hours if basis_id in legal.bases else None
    return min(platform.deadline_hours, law) if law else platform.deadline_hours


# ------------------------------------------------------------------------- the notice


def legal_context(
    basis_id: str,
    facts: Facts,
    legal: Legal,
    *,
    signatory: str,
    trusted_flagger: str,
    victim_name: str,
) -> dict[str, Any]:
    """What a notice of this basis may say beyond the plain notice context. The victim's
    name only for a basis that requires it (DMCA, which is chosen only with consent)."""
    basis = legal.basis(basis_id)
    context: dict[str, Any] = {
        "basis": {"id": basis_id, "name": basis.name},
        "facts": {"minor": facts.minor, "synthetic": facts.synthetic, "country": facts.country},
        "signatory": {"name": signatory},
        "trusted_flagger": trusted_flagger,
    }
    ground = legal.ground_for(facts)
    if basis.requires_ground:
        if ground is None:
            raise LegalError(f"{basis.name}: no offence in the legal data covers this case")
        context["ground"] = {"citation": ground.citation, "title": ground.title}
    if basis.names_victim:
        context["victim"] = {"name": victim_name}
    return context


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).casefold().strip()


def _lookup(context: Mapping[str, Any], path: str) -> str:
    value: Any = context
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def _applies(element: Element, facts: Facts, context: Mapping[str, Any]) -> bool:
    match element.when:
        case "minor":
            return facts.minor
        case "adult":
            return not facts.minor
        case "trusted_flagger":
            return bool(context.get("trusted_flagger"))
    return True


def lint(notice: Notice, basis: Basis, facts: Facts, context: Mapping[str, Any]) -> list[Element]:
    """The elements the basis requires that the notice lacks."""
    text = _normalised(f"{notice.subject}\n{notice.body}")
    missing = []
    for element in basis.elements:
        if not _applies(element, facts, context):
            continue
        values = [_normalised(_lookup(context, path)) for path in element.values]
        has_values = all(value and value in text for value in values)
        phrases = [_normalised(p) for p in element.phrases.get(notice.language, [])]
        if element.phrases and not phrases:
            has_phrase = False  # the data has no wording for this language
        else:
            has_phrase = not phrases or any(phrase in text for phrase in phrases)
        if not (has_values and has_phrase):
            missing.append(element)
    return missing


def compose_notice(
    templates_dir: Path,
    legal: Legal,
    basis_id: str,
    language: str,
    facts: Facts,
    context: dict[str, Any],
) -> Notice:
    """Render the notice of a basis and refuse it when it lacks a required element."""
    basis = legal.basis(basis_id)
    notice = render_notice(templates_dir, basis_id, language, context)
    missing = lint(notice, basis, facts, context)
    if missing:
        raise NoticeIncomplete(
            f"the notice notices/{basis_id}/{language}.j2 lacks {missing[0].what} "
            f"({basis.name}); it was not sent"
        )
    return notice
