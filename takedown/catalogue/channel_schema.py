"""What a platform file may say of a channel: how a request reaches the platform (a web
form, an email address, a package for a caseworker), and which requests it takes."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from jinja2 import TemplateSyntaxError
from pydantic import Field, field_validator

from takedown.catalogue.countries import covers
from takedown.catalogue.removal_rules import HttpStatus
from takedown.catalogue.values import (
    ContentKind,
    Country,
    EmailAddress,
    LegalBasisId,
    Strict,
    WebAddress,
)
from takedown.safety.safetext import shown
from takedown.safety.sandbox import compile_field


class _Routed(Strict):
    """Which requests a channel takes: by the material, by the notice's legal basis, by the
    victim's country. A condition left out takes every request."""

    for_content: ContentKind | None = None
    # X, say, takes EU notices under the DSA through one form and TAKE IT DOWN Act requests
    # from the US through another.
    for_bases: list[LegalBasisId] | None = Field(default=None, min_length=1)
    # ISO 3166 codes, or EU for the Member States.
    for_countries: list[Country] | None = Field(default=None, min_length=1)

    def takes(self, *, synthetic: bool, basis: str, country: str | None) -> bool:
        kind = "synthetic" if synthetic else "real"
        return (
            self.for_content in (None, kind)
            and (self.for_bases is None or basis in self.for_bases)
            and (self.for_countries is None or covers(self.for_countries, country))
        )


class SuccessRule(Strict):
    status: list[HttpStatus] = Field(default=[200], min_length=1)
    ticket_pattern: str | None = None

    @field_validator("ticket_pattern")
    @classmethod
    def _compiles_with_a_group(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
        if compiled.groups < 1:
            raise ValueError("needs a group in parentheses: group 1 is the ticket")
        return pattern


class WebformChannel(_Routed):
    type: Literal["webform"]
    form_url: WebAddress | None = None
    submit_url: WebAddress
    fields: dict[str, str] = Field(min_length=1)
    success: SuccessRule = SuccessRule()

    @field_validator("fields")
    @classmethod
    def _fields_are_templates(cls, fields: dict[str, str]) -> dict[str, str]:
        for name, expression in fields.items():
            try:
                compile_field(expression)
            except TemplateSyntaxError as error:
                # str(error) spans lines (it quotes the source); the message and line do not.
                raise ValueError(
                    f"field {shown(name)} is not a valid template: {error.message} "
                    f"(line {error.lineno})"
                ) from None
        return fields


class EmailChannel(_Routed):
    type: Literal["email"]
    to: EmailAddress


class ManualChannel(_Routed):
    """A logged-in or CAPTCHA-protected form: a caseworker submits the prepared package."""

    type: Literal["manual"]
    url: WebAddress
    instructions: list[str] = Field(default_factory=list)
    fields: dict[str, str] = Field(default_factory=dict)


ChannelConfig = Annotated[
    WebformChannel | EmailChannel | ManualChannel, Field(discriminator="type")
]
