"""Countries as the catalogue names them: ISO 3166 alpha-2 codes, and ``EU`` for the Member
States, where the Digital Services Act applies."""

from __future__ import annotations

import pycountry

# The 27 Member States (ISO 3166 alpha-2; Greece is GR here, not the EU's own "EL").
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905
)


EU = "EU"


def country_problem(code: str) -> str | None:
    """Why ``code`` is not a country a platform file may name, or None."""
    if code == EU:
        return None
    if len(code) != 2 or not code.isupper() or pycountry.countries.get(alpha_2=code) is None:
        return f"{code!r} is not an ISO 3166 country code such as FI or US, nor EU"
    return None


def covers(countries: list[str], country: str | None) -> bool:
    """Whether a list of codes (``EU`` for the Member States) includes the victim's country."""
    if country is None:
        return False
    return country in countries or (EU in countries and country in EU_COUNTRIES)
