"""The values platform files and the legal data are made of: addresses, one-line names,
hours, countries, legal bases. Each refuses a bad value with words a person can act on."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from takedown.catalogue.countries import country_problem
from takedown.safety.safetext import email_problem, line_problem, shown

LANGUAGES = ("en", "fi", "sv", "de")


# The laws and policies a notice can invoke; each is described in legal/bases.yaml.
LegalBasisId = Literal["dsa", "take_it_down", "dmca", "terms"]


class Strict(BaseModel):
    # A misspelt key is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", frozen=True)


# A channel only for real, or only for AI-made material (e.g. a search engine's separate
# form for sexual deepfakes); a channel without it takes both.
ContentKind = Literal["real", "synthetic"]


def refused_by(problem_of: Callable[[str], str | None]) -> AfterValidator:
    """A validator that refuses a value with the words ``problem_of`` finds for it."""

    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _web_address_problem(value: str) -> str | None:
    if not re.match(r"^https?://[^/\s]+", value) or line_problem(value) or " " in value:
        return f"{shown(value)} is not an http:// or https:// address"
    return None


Country = Annotated[str, refused_by(country_problem)]


WebAddress = Annotated[str, refused_by(_web_address_problem)]


EmailAddress = Annotated[str, refused_by(email_problem)]


# Names reach notices' subjects, and so email headers: one line.
OneLine = Annotated[str, Field(min_length=1, max_length=500), refused_by(line_problem)]


# A deadline beyond a year is a typing mistake, and an infinite one cannot be computed.
Hours = Annotated[float, Field(gt=0, le=366 * 24, allow_inf_nan=False)]
