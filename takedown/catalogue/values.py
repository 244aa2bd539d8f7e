"""The values platform files and the legal data are made of: addresses, one-line names,
hours, countries, legal bases. Each refuses a bad value with words a person can act on."""

from __future__ import annotations

import re
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


def _country(value: str) -> str:
    problem = country_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Country = Annotated[str, AfterValidator(_country)]


def _web_address(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value) or line_problem(value) or " " in value:
        raise ValueError(f"{shown(value)} is not an http:// or https:// address")
    return value


def _email_address(value: str) -> str:
    problem = email_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _one_line(value: str) -> str:
    # Names reach notices' subjects, and so email headers.
    problem = line_problem(value)
    if problem:
        raise ValueError(problem)
    return value


WebAddress = Annotated[str, AfterValidator(_web_address)]


EmailAddress = Annotated[str, AfterValidator(_email_address)]


OneLine = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_one_line)]


# A deadline beyond a year is a typing mistake, and an infinite one cannot be computed.
Hours = Annotated[float, Field(gt=0, le=366 * 24, allow_inf_nan=False)]
