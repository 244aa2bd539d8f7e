"""Notices: rendered in a sandbox with strict undefined; the victim is never named."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from takedown.config import bundled_dir
from takedown.errors import RenderError
from takedown.notices.builder import render_notice
from takedown.safety.sandbox import MAX_RENDERED_CHARS, render_fields

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
        ("{{ range(10**9) | list }}", "a number above 50000 is not allowed as an argument"),
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


# ------------------------------------------------------------------ templates that grow

# Well under what one worker can spare, and far under the gigabytes these templates took
# before their sizes were bounded while rendering.
MEMORY_CEILING = 32 * 2**20
# A guard against a hang, not a timing: each of these is refused in milliseconds.
HANG_GUARD_SECONDS = 5.0


@contextmanager
def bounded_effort() -> Iterator[None]:
    """Asserts that the block stayed under the memory ceiling and did not hang."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_CEILING, f"rendering took {peak / 2**20:.0f} MiB"
    assert time.monotonic() - started < HANG_GUARD_SECONDS


@pytest.mark.parametrize(
    ("template", "refusal"),
    [
        # Each step is small; the loop makes it 5 GB of output.
        ("{% for i in range(50000) %}{{ 'x' * 50000 }}{% endfor %}", "rendered to more than"),
        ("{% for i in range(99999) %}{{ 'x' * 50000 }}{% endfor %}", "a number above 50000"),
        # No output, but 2.5 billion iterations.
        ("{% for a in 'x' * 50000 %}{% for b in 'x' * 50000 %}{% endfor %}{% endfor %}",
         "the loops ran more than 10,000 times"),
        ("{{ 'x' | center(10**9) }}", "a number above 50000"),
        ("{{ 'x'.ljust(10**9) }}", "a number above 50000"),
        ("{{ 'x' | indent(10**9, true) }}", "a number above 50000"),
        ("{{ '%999999999s' % 1 }}", "a format width or precision of six digits"),
        ("{{ '%999999999s' | format(1) }}", "a format width or precision of six digits"),
        ("{{ '{:>999999999}'.format(1) }}", "a format width or precision of six digits"),
        ("{{ ('x' * 50000) | replace('x', 'x' * 50000) }}", "a replacement that could grow"),
        ("{{ ('x' * 50000).replace('x', 'x' * 50000) }}", "a replacement that could grow"),
    ],
)  # fmt: skip
def test_a_template_that_would_grow_without_bound_is_refused_while_it_renders(
    template: str, refusal: str
) -> None:
    with bounded_effort(), pytest.raises(RenderError) as refused:
        render_fields({"details": template}, CONTEXT, "fotogram")
    assert refusal in str(refused.value)


def test_a_notice_template_that_would_grow_is_refused_naming_it(tmp_path: Path) -> None:
    templates = write_template(
        tmp_path,
        "{% block subject %}x{% endblock %}"
        "{% block body %}{% for i in range(50000) %}{{ 'y' * 50000 }}{% endfor %}{% endblock %}",
    )
    refusal = r"notices/terms/en\.j2 rendered to more"
    with bounded_effort(), pytest.raises(RenderError, match=refusal):
        render_notice(templates, "terms", "en", CONTEXT)


def test_an_include_outside_the_templates_folder_is_named_as_the_problem(
    tmp_path: Path,
) -> None:
    templates = write_template(
        tmp_path,
        "{% block subject %}x{% endblock %}"
        "{% block body %}{% include '../../../../etc/passwd' %}{% endblock %}",
    )
    with pytest.raises(RenderError) as refused:
        render_notice(templates, "terms", "en", CONTEXT)
    assert str(refused.value) == (
        f"the template notices/terms/en.j2 includes '../../../../etc/passwd', which is not a "
        f"template in {templates} (only files inside that folder can be included)"
    )


numbers = st.sampled_from(["1", "9", "1000", "50000", "50001", "10**6", "10**9", "-10**9"])
texts = st.sampled_from(["'x'", "'xy' * 1000", "('x' * 50000)", "item.url", "'%s-'"])


def _grown(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """An expression that makes something larger out of ``inner``."""
    return st.one_of(
        st.builds("({0} * {1})".format, inner, numbers),
        st.builds("({0} | center({1}))".format, inner, numbers),
        st.builds("({0}.ljust({1}))".format, inner, numbers),
        st.builds("({0} | indent({1}, true))".format, inner, numbers),
        st.builds("({0} | wordwrap({1}))".format, inner, numbers),
        st.builds("({0} | replace('x', {1}))".format, inner, inner),
        st.builds("({0}.replace('x', {1}))".format, inner, inner),
        st.builds("('%{1}s' % {0})".format, inner, numbers),
        st.builds("('{{:>{1}}}'.format({0}))".format, inner, numbers),
        st.builds("(range({0}) | join({1}))".format, numbers, inner),
        st.builds("({0} ~ {1})".format, inner, inner),
    )


expressions = st.recursive(texts, _grown, max_leaves=4)
bodies = st.one_of(
    expressions.map("{{{{ {0} }}}}".format),
    st.builds(
        "{{% for i in range({0}) %}}{{{{ {1} }}}}{{% endfor %}}".format, numbers, expressions
    ),
    st.builds(
        "{{% for a in {0} %}}{{% for b in {1} %}}{{{{ {2} }}}}{{% endfor %}}{{% endfor %}}".format,
        expressions,
        expressions,
        st.sampled_from(["a", "b ~ a", "'z'"]),
    ),
)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.generate, Phase.shrink],  # no explaining: it traces every line, slowly
)
@given(bodies)
def test_any_template_renders_within_the_limit_or_is_refused_in_bounded_memory(
    template: str,
) -> None:
    with bounded_effort():
        try:
            rendered = render_fields({"details": template}, CONTEXT, "fotogram")["details"]
        except RenderError as refused:
            rendered = str(refused)
    # Either the text, within the limit, or one line saying which field failed.
    assert len(rendered) <= MAX_RENDERED_CHARS
    assert "\n" not in rendered or "failed" not in rendered
