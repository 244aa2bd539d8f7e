"""Platform definitions: loading and validating ``platforms/*.yaml``; matching a URL to one.

Platforms are data. A broken file is refused with a message that names the file and the
field, so whoever edits it can fix it without reading Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
)

from takedown.catalogue.abuse_contact import ABUSE_CONTACT, contact_platform
from takedown.catalogue.escalation import describe
from takedown.catalogue.links import host_of
from takedown.catalogue.schema import Platform
from takedown.catalogue.yamlfile import read_yaml, validation_problem
from takedown.config import Settings
from takedown.errors import Conflict, DataFileError
from takedown.safety.safetext import shown
from takedown.store.models import RemovalRequest


def load_platform(path: Path) -> Platform:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a mapping of keys such as id, name, domains")
    try:
        platform = Platform.model_validate(data)
    except ValidationError as error:
        raise DataFileError(f"{path}: {validation_problem(error)}") from None
    if platform.id != path.stem:
        raise DataFileError(
            f"{path}: id: {shown(platform.id)} must match the file name {path.stem!r}"
        )
    return platform


class Catalogue:
    """Every platform of a directory, with the lookup from a link's host to its platform."""

    def __init__(self, platforms: Iterable[Platform], directory: Path | None = None) -> None:
        self.platforms = {platform.id: platform for platform in platforms}
        self._by_domain: dict[str, Platform] = {}
        for platform in self.platforms.values():
            for domain in platform.domains:
                other = self._by_domain.get(domain)
                if other is not None:
                    where = f"{directory / platform.id}.yaml: " if directory else ""
                    raise DataFileError(
                        f"{where}domains: {domain!r} is claimed by both {other.id}.yaml and "
                        f"{platform.id}.yaml"
                    )
                self._by_domain[domain] = platform

    @classmethod
    def load(cls, directory: Path) -> Catalogue:
        if not directory.is_dir():
            raise DataFileError(f"{directory}: no such platforms directory")
        misnamed = sorted(directory.glob("*.yml"))
        if misnamed:
            raise DataFileError(f"{misnamed[0]}: platform files must end in .yaml")
        files = sorted(directory.glob("*.yaml"))
        if not files:
            # Every link would then be "no known platform": refused, not matched against nothing.
            raise DataFileError(f"{directory}: no platform files (*.yaml)")
        return cls(map(load_platform, files), directory)

    def get(self, platform_id: str) -> Platform:
        try:
            return self.platforms[platform_id]
        except KeyError:
            raise DataFileError(
                f"platform {platform_id!r} is no longer defined in the platforms directory"
            ) from None

    def match(self, url: str) -> Platform | None:
        """The platform whose domain is the link's host or a parent of it (the longest wins)."""
        labels = host_of(url).split(".")
        for start in range(len(labels) - 1):
            platform = self._by_domain.get(".".join(labels[start:]))
            if platform is not None:
                return platform
        return None


_cache: dict[tuple[Path, tuple[tuple[str, float], ...]], Catalogue] = {}


def catalogue_for(directory: Path) -> Catalogue:
    """The catalogue of a directory, reloaded when a file in it changes (workers run for days)."""
    stamp = tuple(sorted((p.name, p.stat().st_mtime) for p in directory.glob("*.yaml")))
    key = (directory, stamp)
    if key not in _cache:
        _cache.clear()
        _cache[key] = Catalogue.load(directory)
    return _cache[key]


def platform_of(request: RemovalRequest, settings: Settings) -> Platform:
    """The platform file of a request, or the stand-in of a confirmed abuse contact."""
    if request.platform_id == ABUSE_CONTACT:
        try:
            return contact_platform(request.contact_to)
        except ValidationError:
            # Stored before addresses were checked as strictly, or edited in the database.
            raise Conflict(
                f"the abuse contact {shown(request.contact_to or '')} of request "
                f"{request.id[:8]} is not an email address; confirm another address for it"
            ) from None
    return catalogue_for(settings.platforms_dir).get(request.platform_id)


class PlatformSummary(BaseModel):
    """One row of ``takedown platforms list --json``."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    kind: str
    channels: list[str]
    deadline_hours: float
    legal_bases: list[str]
    hash_programmes: list[str]
    escalation: list[str]
    domains: list[str]
    source: str | None
    checked: str | None
    unverified: list[str]

    @classmethod
    def of(cls, platform: Platform) -> PlatformSummary:
        return cls(
            id=platform.id,
            name=platform.name,
            kind=platform.kind,
            channels=[channel.type for channel in platform.channels],
            deadline_hours=platform.deadline_hours,
            legal_bases=list(platform.legal_bases),
            hash_programmes=list(platform.hash_programmes),
            escalation=[describe(entry) for entry in platform.escalation],
            domains=platform.domains,
            source=platform.source,
            checked=platform.checked.isoformat() if platform.checked else None,
            unverified=list(platform.unverified),
        )


def summaries(catalogue: Catalogue) -> list[PlatformSummary]:
    """Every platform of the catalogue, by name."""
    by_name = sorted(catalogue.platforms.values(), key=lambda platform: platform.name.casefold())
    return [PlatformSummary.of(platform) for platform in by_name]


def stale(catalogue: Catalogue, today: date, days: int) -> list[PlatformSummary]:
    """The platforms whose facts were last checked at their source more than ``days`` ago
    (or never), the longest unchecked first: the list for a review."""
    limit = today - timedelta(days=days)
    old = [p for p in catalogue.platforms.values() if p.checked is None or p.checked < limit]
    old.sort(key=lambda platform: (platform.checked or date.min, platform.id))
    return [PlatformSummary.of(platform) for platform in old]
