"""The check that a rendered notice says everything its legal basis requires: each element's
values (the link, the notifier, the offence) and wording in the notice's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from takedown.catalogue.legal import Basis, Element, Facts
from takedown.safety.sandbox import Rendered


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


def lint(notice: Rendered, basis: Basis, facts: Facts, context: Mapping[str, Any]) -> list[Element]:
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
