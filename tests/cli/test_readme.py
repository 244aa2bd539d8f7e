"""The README's command table: one table (a paragraph inside it would cut it in two on a
forge), with a row for every command the CLI has."""

from __future__ import annotations

import re
from pathlib import Path

import click

from takedown.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
HEADER = "| command | what it does |"


def command_paths(group: click.Group, prefix: str = "") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            paths += command_paths(command, f"{path} ")
        else:
            paths.append(path)
    return paths


def command_table() -> list[str]:
    """The rows of the table under HEADER, up to the first line that is not a row."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER)
    rows = []
    for line in lines[start + 2 :]:  # past the header and its |---| line
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_every_command_has_a_row_in_one_unbroken_table() -> None:
    rows = command_table()
    missing = [
        path
        for path in command_paths(main)
        # A row names a command as `takedown case new ...`, or after a slash as `case reopen`.
        if not any(re.search(rf"`(takedown )?{re.escape(path)}\b", row) for row in rows)
    ]
    assert missing == [], f"commands without a row in the README's table: {missing}"
