"""The Jinja2 environment and notice rendering.

Templates and platform fields are data written by integrators, so they run in an immutable
sandbox (no reaching Python internals, no mutating the context) with ``StrictUndefined``: a
misspelt variable is an error before sending, never a blank in a notice to a platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateError, TemplateNotFound
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from takedown.errors import RenderError
from takedown.safety.safetext import line_problem

# A notice is a page of text; anything larger is a template gone wrong.
MAX_RENDERED_CHARS = 50_000


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    language: str


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with ``*`` and ``**`` bounded: ``{{ 'x' * 10**10 }}`` or
    ``{{ 9 ** 9 ** 9 }}`` would take a worker's memory or CPU before any size check ran."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > _MAX_EXPONENT:
            raise SecurityError(f"an exponent above {_MAX_EXPONENT} is not allowed")
        if operator == "*" and (_too_long(left, right) or _too_long(right, left)):
            raise SecurityError(f"a repetition beyond {MAX_RENDERED_CHARS} items is not allowed")
        return super().call_binop(context, operator, left, right)


_MAX_EXPONENT = 1000


def _too_long(sequence: Any, times: Any) -> bool:
    return (
        isinstance(sequence, str | list | tuple)
        and isinstance(times, int)
        and len(sequence) * times > MAX_RENDERED_CHARS
    )


def _environment(loader: FileSystemLoader | None = None) -> ImmutableSandboxedEnvironment:
    return _BoundedSandbox(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=False,  # plain-text notices and form fields, not HTML
        keep_trailing_newline=False,
    )


_FIELD_ENVIRONMENT = _environment()


@lru_cache(maxsize=256)
def compile_field(expression: str) -> Template:
    """A platform field such as ``"{{ item.url }}"``; raises TemplateSyntaxError when broken."""
    return _FIELD_ENVIRONMENT.from_string(expression)


@lru_cache(maxsize=8)
def _templates(templates_dir: Path) -> ImmutableSandboxedEnvironment:
    return _environment(FileSystemLoader(str(templates_dir)))


def _checked(text: str, what: str) -> str:
    if len(text) > MAX_RENDERED_CHARS:
        raise RenderError(f"{what} rendered to {len(text)} characters; the limit is 50,000")
    return text


def _template_line(error: BaseException, template: Template | None) -> int | None:
    """The template line an error happened on. Syntax errors carry it; for runtime errors
    (an undefined variable) it is found in the traceback, in the template's compiled code."""
    line: int | None = getattr(error, "lineno", None)
    traceback = error.__traceback__
    while template is not None and traceback is not None:
        if traceback.tb_frame.f_code.co_filename == template.filename:
            line = template.get_corresponding_lineno(traceback.tb_lineno)
        traceback = traceback.tb_next
    return line


def _explain(error: TemplateError, name: str, template: Template | None) -> str:
    line = _template_line(error, template)
    where = f"{name}, line {line}" if line else name
    return f"the template {where} failed: {error.message or error}"


def render_template(
    templates_dir: Path, name: str, language: str, context: dict[str, Any]
) -> Rendered:
    """Render a template's ``subject`` and ``body`` blocks (a notice, or a notification)."""
    template = None
    try:
        template = _templates(templates_dir).get_template(name)
        template_context = template.new_context(context)
        subject = "".join(template.blocks["subject"](template_context)).strip()
        body = "".join(template.blocks["body"](template_context)).strip() + "\n"
    except TemplateNotFound:
        raise RenderError(f"there is no {language!r} template {templates_dir / name}") from None
    except KeyError as error:
        raise RenderError(f"the template {name} has no {{% block {error.args[0]} %}}") from None
    except TemplateError as error:
        raise RenderError(_explain(error, name, template)) from None
    except OverflowError as error:  # the sandbox's answer to range(10**9)
        raise RenderError(f"the template {name} failed: {error}") from None
    if line_problem(subject):
        # The subject becomes an email header: a line break there would start a new one.
        raise RenderError(
            f"the template {name} rendered a subject with a line break or control character"
        )
    return Rendered(
        subject=_checked(subject, "the subject"), body=_checked(body, name), language=language
    )


def render_fields(
    fields: dict[str, str], context: dict[str, Any], platform_id: str
) -> dict[str, str]:
    """A channel's form fields, each a Jinja2 expression over the notice context."""
    rendered = {}
    for name, expression in fields.items():
        what = f"{platform_id}.yaml, field {name!r}"
        try:
            rendered[name] = _checked(compile_field(expression).render(context), what)
        except TemplateError as error:
            raise RenderError(f"{what} failed: {error.message or error}") from None
        except OverflowError as error:  # the sandbox's answer to range(10**9)
            raise RenderError(f"{what} failed: {error}") from None
    return rendered
