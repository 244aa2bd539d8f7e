"""Reading the YAML data files (platforms, legal data): the safe loader only, and every
problem as one line naming the file and, where it is known, the line.

The safe loader builds plain data (mappings, lists, strings, numbers, dates) and nothing
else: a tag such as ``!!python/object/apply:os.system`` is an error, never a call. On top
of it, a key given twice is refused (PyYAML keeps the last one silently, so a corrected
line further down would quietly win or lose), and a value its constructor cannot build (a
date such as 2026-13-45) is an error with its line rather than a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from takedown.errors import DataFileError
from takedown.safety.safetext import printable, shown


class _StrictSafeLoader(yaml.SafeLoader):
    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception as error:
            # A value the tag's constructor cannot build, whatever it raises: `!!int abc`
            # (ValueError), `2026-13-45` (ValueError), `!!timestamp x` (AttributeError).
            value = node.value if isinstance(node.value, str) else node.tag
            raise ConstructorError(
                None, None, f"cannot read the value {shown(value)} ({error})", node.start_mark
            ) from None

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):  # `!!set Fotogram`: the base class says so
            return super().construct_mapping(node, deep=deep)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key: the base class says so with its line
            if duplicate:
                raise ConstructorError(
                    None, None, f"the key {shown(str(key))} is given twice", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _yaml_problem(error: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """The line and a one-line description of a loader error (its text spans lines)."""
    if isinstance(error, yaml.reader.ReaderError):
        character = f"#x{error.character:04x}" if isinstance(error.character, int) else ""
        return _line_of(text, error.position), f"the character {character} is not allowed"
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        words = error.problem or "cannot be read"
        if error.context:
            words += f" ({error.context})"
        return (mark.line + 1 if mark else None), printable(words)
    return None, printable(str(error))


def read_yaml(path: Path) -> Any:
    """The file's data, or a ``DataFileError`` saying in one line what is wrong and where."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataFileError(f"{path}: cannot be read: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        at = raw.count(b"\n", 0, error.start) + 1
        raise DataFileError(f"{path} (line {at}): not UTF-8 text") from None
    try:
        # A subclass of SafeLoader, which the linter cannot tell from an unsafe loader.
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506
    except yaml.YAMLError as error:
        line, problem = _yaml_problem(error, text)
        where = f" (line {line})" if line else ""
        raise DataFileError(f"{path}{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise DataFileError(f"{path}: not valid YAML: nested too deeply") from None


def validation_problem(error: ValidationError, *within: str) -> str:
    """The first problem the schema found, in one line, after the path of keys it is at
    (``within``: the keys above the part that was validated)."""
    first = error.errors()[0]
    # A key of the file can be any text (a line break, a page of it): shown, not printed.
    keys = [printable(str(part), 80) for part in (*within, *first["loc"]) if part != ""]
    if not keys:  # a rule across fields names its fields itself
        return printable(str(first["msg"]).removeprefix("Value error, "))
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{'.'.join(keys)}: {printable(message)}"
