"""The Jinja2 environment and notice rendering.

Templates and platform fields are data written by integrators, so they run in an immutable
sandbox (no reaching Python internals, no mutating the context) with ``StrictUndefined``: a
misspelt variable is an error before sending, never a blank in a notice to a platform.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from takedown.errors import RenderError
from takedown.safety.safetext import line_problem, printable

# A notice is a page of text; anything larger is a template gone wrong.
MAX_RENDERED_CHARS = 50_000


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    language: str


# Iterations of every loop together, in one rendering: a notice is about one link and its
# case (a few loops over a few items); loops nested over long strings would need billions.
MAX_LOOP_ITERATIONS = 10_000
_loop_budget: ContextVar[list[int]] = ContextVar("loop_budget")
# A width or precision in a format string ("%999999999s", "{:>999999999}"): a notice never
# needs one of six digits.
_WIDE_FORMAT = re.compile(r"%[-+ #0]*\d*\.?\d{6,}|\{[^{}]*:[^{}]*\d{6,}[^{}]*\}")


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with every way to make much out of little bounded before it
    runs: repetition (``'x' * 10**10``), powers (``9 ** 9 ** 9``), widths (``center(10**9)``,
    ``'%999999999s' % 1``), ``replace`` that multiplies, and loops (each counted against one
    budget per rendering). The output is capped while it renders (``_joined``). Without these,
    a template would take a worker's memory or CPU long before any size check ran."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded(f) for name, f in self.filters.items()}
        self.globals["_counted"] = _counted

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > _MAX_EXPONENT:
            raise SecurityError(f"an exponent above {_MAX_EXPONENT} is not allowed")
        if operator == "*" and (_too_long(left, right) or _too_long(right, left)):
            raise SecurityError(f"a repetition beyond {MAX_RENDERED_CHARS} items is not allowed")
        if operator == "%" and isinstance(left, str):
            _refuse_wide_format(left)
        return _small(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (jinja's signature)
        _refuse_large_arguments(__obj, args, kwargs)
        return _small(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:  # "{:>999999999}".format(1)
            _refuse_wide_format(value.__self__)
        return wrapped

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Every ``{% for %}`` iterates through ``_counted``, which spends the loop budget."""
        template = super()._parse(source, name, filename)
        for loop in template.find_all(nodes.For):
            loop.iter = nodes.Call(
                nodes.Name("_counted", "load"), [loop.iter], [], None, None, lineno=loop.lineno
            )
        return template


_MAX_EXPONENT = 1000


def _too_long(sequence: Any, times: Any) -> bool:
    return (
        isinstance(sequence, str | list | tuple)
        and isinstance(times, int)
        and len(sequence) * times > MAX_RENDERED_CHARS
    )


def _counted(iterable: Any) -> Iterator[Any]:
    budget = _loop_budget.get(None)
    for item in iterable:
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise SecurityError(f"the loops ran more than {MAX_LOOP_ITERATIONS:,} times")
        yield item


def _refuse_wide_format(text: str) -> None:
    if _WIDE_FORMAT.search(text):
        raise SecurityError("a format width or precision of six digits or more is not allowed")


def _refuse_large_arguments(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A width, a count or a length beyond the output limit is never needed in a notice;
    and ``replace`` must not be able to multiply a text past it."""
    values = [*args, *kwargs.values()]
    if any(isinstance(value, int) and abs(value) > MAX_RENDERED_CHARS for value in values):
        raise SecurityError(f"a number above {MAX_RENDERED_CHARS} is not allowed as an argument")
    replacing = getattr(target, "__name__", "") in ("replace", "do_replace")
    if replacing and len(values) >= 2:
        subject = getattr(target, "__self__", None)
        text, old, new = (subject, *values[:2]) if isinstance(subject, str) else values[:3]
        if all(isinstance(value, str) for value in (text, old, new)):
            most = len(text) * max(1, len(new)) // max(1, len(old)) + len(text)
            if most > MAX_RENDERED_CHARS:
                raise SecurityError(
                    f"a replacement that could grow past {MAX_RENDERED_CHARS} characters "
                    "is not allowed"
                )
    for value in values:
        if isinstance(value, str):  # the format filter's own format string, say
            _refuse_wide_format(value)


def _small(result: Any) -> Any:
    if isinstance(result, str | list | tuple) and len(result) > MAX_RENDERED_CHARS:
        raise SecurityError(f"a value of more than {MAX_RENDERED_CHARS} items is not allowed")
    return result


def _bounded(jinja_filter: Callable[..., Any]) -> Callable[..., Any]:
    """A filter with the sandbox's limits on its arguments and its result."""

    @functools.wraps(jinja_filter)  # keeps the pass_context/pass_environment markers
    def bounded(*args: Any, **kwargs: Any) -> Any:
        plain = [arg for arg in args if not isinstance(arg, Context | Environment | EvalContext)]
        _refuse_large_arguments(jinja_filter, tuple(plain), kwargs)
        return _small(jinja_filter(*args, **kwargs))

    return bounded


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


@contextmanager
def _one_rendering() -> Iterator[None]:
    """A fresh loop budget for one rendering (a notice, or a platform's form fields)."""
    token = _loop_budget.set([MAX_LOOP_ITERATIONS])
    try:
        yield
    finally:
        _loop_budget.reset(token)


def _joined(chunks: Iterable[str], what: str) -> str:
    """The rendered text, stopped as soon as it is longer than the limit rather than after
    the template has produced all of it."""
    parts: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_RENDERED_CHARS:
            raise RenderError(
                f"{what} rendered to more than {MAX_RENDERED_CHARS:,} characters, the limit"
            )
        parts.append(chunk)
    return "".join(parts)


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


def _python_error(error: Exception) -> str:
    """An error the template's own expressions raised (``'a' * 'b'``), in one line."""
    return printable(f"{type(error).__name__}: {error}", limit=200)


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
        with _one_rendering():
            subject = _joined(template.blocks["subject"](template_context), "the subject").strip()
            body = _joined(template.blocks["body"](template_context), name).strip() + "\n"
    except TemplateNotFound as missing:
        if missing.name != name:  # an {% include %} or {% extends %} inside it
            raise RenderError(
                f"the template {name} includes {missing.name!r}, which is not a template in "
                f"{templates_dir} (only files inside that folder can be included)"
            ) from None
        raise RenderError(f"there is no {language!r} template {templates_dir / name}") from None
    except KeyError as error:
        raise RenderError(f"the template {name} has no {{% block {error.args[0]} %}}") from None
    except TemplateError as error:
        raise RenderError(_explain(error, name, template)) from None
    except Exception as error:  # a template is data: what it does wrong is its error
        raise RenderError(f"the template {name} failed: {_python_error(error)}") from None
    if line_problem(subject):
        # The subject becomes an email header: a line break there would start a new one.
        raise RenderError(
            f"the template {name} rendered a subject with a line break or control character"
        )
    return Rendered(subject=subject, body=body, language=language)


def render_fields(
    fields: dict[str, str], context: dict[str, Any], platform_id: str
) -> dict[str, str]:
    """A channel's form fields, each a Jinja2 expression over the notice context."""
    rendered = {}
    for name, expression in fields.items():
        what = f"{platform_id}.yaml, field {name!r}"
        try:
            with _one_rendering():
                rendered[name] = _joined(compile_field(expression).generate(context), what)
        except TemplateError as error:
            raise RenderError(f"{what} failed: {error.message or error}") from None
        except Exception as error:  # as in render_template
            raise RenderError(f"{what} failed: {_python_error(error)}") from None
    return rendered
