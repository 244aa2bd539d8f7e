"""The legal data: the bases a notice can invoke (with the elements each requires), the
national offences a DSA notice cites, the specialised routes for children, the Digital
Services Coordinators a victim may complain to, and the hash-matching programmes platforms
take part in, read from ``legal/`` (see its files' comments). Choosing a basis is
``takedown.catalogue.bases``; rendering and linting a notice, ``takedown.notices``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from takedown.catalogue.countries import EU_COUNTRIES
from takedown.catalogue.schema import EmailAddress, LegalBasisId, ProgrammeId, WebAddress
from takedown.catalogue.yamlfile import read_yaml, validation_problem
from takedown.errors import DataFileError


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


class Coordinator(_Strict):
    """A Member State's Digital Services Coordinator, as a victim's complaint reaches it."""

    name: str = Field(min_length=1)
    website: WebAddress | None = None
    # How it takes complaints from users: an address, or a form a caseworker fills in.
    email: EmailAddress | None = None
    complaint_form: WebAddress | None = None
    # False where the page was read but the form behind it was not.
    form_verified: bool = True
    # False where the coordinator cannot take users' complaints yet (no powers under Art. 53).
    takes_complaints: bool = True
    instructions: list[str] = []
    source: WebAddress
    checked: date
    note: str | None = None


def _member_state(code: str) -> str:
    if code not in EU_COUNTRIES:
        raise ValueError(f"{code!r} is not a Member State (ISO 3166 alpha-2, e.g. FI)")
    return code


def _not_yes_or_no(code: object) -> object:
    if isinstance(code, bool):
        # YAML 1.1 reads NO (Norway), YES, ON and OFF as true or false.
        raise ValueError("a country code YAML read as yes or no: put it in quotes ('NO')")
    return code


MemberState = Annotated[str, BeforeValidator(_not_yes_or_no), AfterValidator(_member_state)]


class Programme(_Strict):
    """A hash-matching programme: the person hashes the image on their own device."""

    name: str
    url: WebAddress
    # Adults, or people who were under 18 when the image was made.
    for_minors: bool
    what: str
    source: WebAddress


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
    coordinators: dict[str, Coordinator]
    programmes: dict[str, Programme]

    def basis(self, basis_id: str) -> Basis:
        try:
            return self.bases[basis_id]
        except KeyError:
            known = ", ".join(self.bases)
            # Platform files and requests name bases the schema knows: one missing here is
            # missing from the legal data, not mistyped by a person.
            raise DataFileError(
                f"the legal data (bases.yaml) has no basis {basis_id!r}; it has: {known}"
            ) from None

    def ground_for(self, facts: Facts) -> Ground | None:
        """The national offence that covers this case, if the data has one."""
        content = "synthetic" if facts.synthetic else "real"
        for ground in self.grounds.get(facts.country or "", []):
            if ground.minor == facts.minor and content in ground.covers:
                return ground
        return None

    def routes_for(self, country: str | None) -> list[Route]:
        return [r for r in self.routes if "any" in r.countries or country in r.countries]

    def coordinator_of(self, country: str | None) -> Coordinator | None:
        """The Digital Services Coordinator a victim in this country complains to (DSA
        Article 53), if the country is a Member State and the data has it."""
        return self.coordinators.get(country or "")


# What each file of the legal data holds, as a whole: a file of the wrong shape (a list
# where a mapping belongs) is refused like any other mistake, naming the file.
_BASES = TypeAdapter(dict[LegalBasisId, Basis])
_GROUNDS = TypeAdapter(dict[str, list[Ground]])
_ROUTES = TypeAdapter(list[Route])
_COORDINATORS = TypeAdapter(dict[MemberState, Coordinator])
_PROGRAMMES = TypeAdapter(dict[ProgrammeId, Programme])


def _load(path: Path, adapter: TypeAdapter[Any], empty: object) -> Any:
    data = read_yaml(path)
    try:
        return adapter.validate_python(empty if data is None else data)
    except ValidationError as error:
        raise DataFileError(f"{path}: {validation_problem(error)}") from None


def load_legal(directory: Path) -> Legal:
    return Legal(
        _load(directory / "bases.yaml", _BASES, {}),
        _load(directory / "grounds.yaml", _GROUNDS, {}),
        _load(directory / "routes.yaml", _ROUTES, []),
        _load(directory / "coordinators.yaml", _COORDINATORS, {}),
        _load(directory / "programmes.yaml", _PROGRAMMES, {}),
    )


@lru_cache(maxsize=4)
def _cached(directory: Path, _modified: tuple[float, ...]) -> Legal:
    # The files' modification times are part of the cache key only: an edit reloads.
    return load_legal(directory)


def legal_for(directory: Path) -> Legal:
    """The legal data of a directory, read again whenever one of its files changes."""
    stamp = tuple(path.stat().st_mtime for path in sorted(directory.glob("*.yaml")))
    return _cached(directory, stamp)
