"""Legal bases of notices: which law or policy a notice invokes, and whether it says all that
law requires.

The bases, the national offences a DSA notice cites and the specialised routes for children
are data in ``legal/`` (see its files' comments). A notice is rendered from
``templates/notices/<basis>/<language>.j2`` and then *linted*: each element its basis
requires must be in the text, or the notice is refused before it is sent, naming the
element.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from takedown.catalogue.schema import LegalBasisId
from takedown.catalogue.yamlfile import read_yaml
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


def _validated(path: Path, model: type[BaseModel], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = ".".join(str(part) for part in (where, *first["loc"]) if part != "")
        raise DataFileError(f"{path}: {loc}: {first['msg']}") from None


def load_legal(directory: Path) -> Legal:
    bases_file, grounds_file, routes_file = (
        directory / name for name in ("bases.yaml", "grounds.yaml", "routes.yaml")
    )
    bases_data = read_yaml(bases_file) or {}
    unknown = set(bases_data) - set(get_args(LegalBasisId))
    if unknown:
        raise DataFileError(f"{bases_file}: {sorted(unknown)[0]}: not a basis takedown knows")
    bases = {key: _validated(bases_file, Basis, value, key) for key, value in bases_data.items()}
    grounds = {
        country: [
            _validated(grounds_file, Ground, entry, f"{country}.{index}")
            for index, entry in enumerate(entries)
        ]
        for country, entries in (read_yaml(grounds_file) or {}).items()
    }
    routes = [
        _validated(routes_file, Route, entry, str(index))
        for index, entry in enumerate(read_yaml(routes_file) or [])
    ]
    return Legal(bases, grounds, routes)


@lru_cache(maxsize=4)
def _cached(directory: Path, _modified: tuple[float, ...]) -> Legal:
    # The files' modification times are part of the cache key only: an edit reloads.
    return load_legal(directory)


def legal_for(directory: Path) -> Legal:
    """The legal data of a directory, read again whenever one of its files changes."""
    stamp = tuple(path.stat().st_mtime for path in sorted(directory.glob("*.yaml")))
    return _cached(directory, stamp)


# ------------------------------------------------------------------------- choosing


# ------------------------------------------------------------------------- the notice
