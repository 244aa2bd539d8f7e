"""Notices: rendered in a sandbox with strict undefined; the victim is never named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from takedown.config import bundled_dir
from takedown.errors import RenderError
from takedown.notices.builder import render_notice
from takedown.safety.sandbox import render_fields

TEMPLATES = bundled_dir("templates")
CONTEXT: dict[str, Any] = {
    "case": {"reference": "TD-2026-ABC123"},
    "item": {"url": "https://fotogram.example/p/1"},
    "platform": {"id": "fotogram", "name": "Fotogram", "deadline_hours": 48},
    "notifier": {"name": "Apu ry", "email": "reports@apu.example"},
    "facts": {"minor": False, "synthetic": False, "country": "FI"},
}


@pytest.mark.parametrize(
    ("language", "phrase"), [("en", "Removal request"), ("fi", "Poistopyyntö")]
)
def test_the_terms_notice_renders_in_english_and_finnish(language: str, phrase: str) -> None:
    notice = render_notice(TEMPLATES, "terms", language, CONTEXT)
    assert notice.subject.startswith(phrase)
    assert "TD-2026-ABC123" in notice.subject
    assert "https://fotogram.example/p/1" in notice.body
    assert "Apu ry" in notice.body
    assert "reports@apu.example" in notice.body
    assert notice.language == language


def write_template(tmp_path: Path, text: str) -> Path:
    (tmp_path / "notices" / "terms").mkdir(parents=True)
    (tmp_path / "notices" / "terms" / "en.j2").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_misspelt_variable_is_an_error_naming_template_and_line(tmp_path: Path) -> None:
    templates = write_template(
        tmp_path,
        "{% block subject %}x{% endblock %}{% block body %}\n\n{{ case.refrence }}{% endblock %}",
    )
    with pytest.raises(RenderError, match=r"notices/terms/en.j2, line 3 failed: .*refrence"):
        render_notice(templates, "terms", "en", CONTEXT)


def test_a_template_cannot_reach_python_internals(tmp_path: Path) -> None:
    templates = write_template(
        tmp_path,
        "{% block subject %}x{% endblock %}"
        "{% block body %}{{ cycler.__init__.__globals__ }}{% endblock %}",
    )
    with pytest.raises(RenderError, match=r"notices/terms/en\.j2, line 1 failed: .* unsafe"):
        render_notice(templates, "terms", "en", CONTEXT)


@pytest.mark.parametrize(
    ("expression", "refusal"),
    [
        ("{{ ''.__class__.__mro__ }}", "attribute '__class__' of 'str' object is unsafe"),
        ("{{ cycler.__init__.__globals__ }}", "attribute '__init__' of 'type' object is unsafe"),
        ("{{ lipsum.__globals__ }}", "attribute '__globals__' of 'function' object is unsafe"),
        ("{{ '{0.__class__}'.format(case) }}", "attribute '__class__' of 'dict' object is unsafe"),
        ("{{ facts.tags.append('x') }}", "attribute 'append' of 'list' object is unsafe"),
        ("{% set x = [] %}{{ x.append(1) }}", "attribute 'append' of 'list' object is unsafe"),
        ("{{ case.update({'reference': 'X'}) }}", "attribute 'update' of 'dict' object is unsafe"),
        ("{{ range(10**9) | list }}", "The sandbox blocks ranges larger than MAX_RANGE"),
        ("{{ 'x' * 10**10 }}", "a repetition beyond 50000 items is not allowed"),
        ("{{ 9 ** 99999 }}", "an exponent above 1000 is not allowed"),
    ],
)
def test_a_platform_field_cannot_reach_python_internals_mutate_or_exhaust_the_worker(
    expression: str, refusal: str
) -> None:
    context = {**CONTEXT, "facts": {**CONTEXT["facts"], "tags": ["a"]}}
    with pytest.raises(RenderError) as refused:
        render_fields({"details": expression}, context, "fotogram")
    assert str(refused.value).startswith("fotogram.yaml, field 'details' failed: ")
    assert refusal in str(refused.value)
    assert context["facts"]["tags"] == ["a"]
    assert context["case"] == {"reference": "TD-2026-ABC123"}


def test_a_missing_language_is_a_clear_error() -> None:
    with pytest.raises(RenderError, match=r"no 'et' template .*notices/terms/et.j2"):
        render_notice(TEMPLATES, "terms", "et", CONTEXT)


def test_a_subject_with_a_line_break_is_refused(tmp_path: Path) -> None:
    templates = write_template(
        tmp_path,
        "{% block subject %}a{{ '\\n' }}Bcc: x{% endblock %}{% block body %}b{% endblock %}",
    )
    with pytest.raises(RenderError, match="line break"):
        render_notice(templates, "terms", "en", CONTEXT)


def test_a_field_template_error_names_the_platform_file_and_field() -> None:
    with pytest.raises(RenderError, match=r"fotogram.yaml, field 'email' failed"):
        render_fields({"email": "{{ notifier.mail }}"}, CONTEXT, "fotogram")
