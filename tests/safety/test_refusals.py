"""The hostile-input review's examples, one by one: a refusal changes nothing, a no-op says
so, a contradiction is refused, and each error names what is actually wrong.

The commands run in-process (click's CliRunner) on a seeded SQLite store, whose every row
is compared before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text

from takedown.cli import main
from takedown.config import get_settings
from takedown.store.db import get_engine, session_scope
from takedown.store.models import AuditEvent
from takedown.testing.databases import snapshot
from takedown.testing.rdap_server import RdapServer

Run = Callable[..., Result]


def run(*args: str, **env: str) -> Result:
    """A command, with these TAKEDOWN_* variables changed for it alone."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, list(args), env=env or None)
    finally:
        get_settings.cache_clear()


def refused(result: Result, words: str) -> None:
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert words in result.output, result.output


@pytest.mark.parametrize(
    ("yes", "no"),
    [
        ("--synthetic", "--real"),
        ("--notify", "--no-notify"),
        ("--victim-owns-copyright", "--victim-does-not-own-copyright"),
        ("--victim-may-be-named", "--victim-may-not-be-named"),
    ],
)
def test_contradictory_flags_are_refused_and_change_nothing(
    seeded_store: dict[str, str], yes: str, no: str
) -> None:
    before = snapshot()
    for order in ((yes, no), (no, yes)):
        refused(run("case", "update", seeded_store["case"], *order), f"{yes} and {no} contradict")
    assert snapshot() == before
    # Each alone still works.
    assert run("case", "update", seeded_store["case"], no).exit_code == 0


def test_a_package_refused_for_a_request_without_one_writes_nothing(
    seeded_store: dict[str, str],
) -> None:
    before = snapshot()
    refused(run("package", seeded_store["request"]), "has no manual package")
    refused(run("package", seeded_store["request"]), "has no manual package")
    assert snapshot() == before  # no "package viewed" row for a package nobody saw


def test_reopening_an_open_case_and_closing_a_closed_one_say_so_and_audit_nothing(
    seeded_store: dict[str, str],
) -> None:
    before = snapshot()
    reopened = run("case", "reopen", seeded_store["case"])
    assert reopened.exit_code == 0
    assert "is open; nothing changed" in reopened.output
    assert snapshot() == before
    assert run("withdraw", seeded_store["request"]).exit_code == 0
    with session_scope() as session:
        for request_id in session.scalars(
            text("SELECT id FROM removal_requests WHERE state != 'withdrawn'")
        ):
            assert run("withdraw", request_id).exit_code == 0
    assert run("case", "close", seeded_store["case"]).exit_code == 0
    closed = snapshot()
    again = run("case", "close", seeded_store["case"])
    assert again.exit_code == 0
    assert "was closed already" in again.output
    assert snapshot() == closed


def test_the_audit_shows_a_stored_line_break_or_escape_sequence_escaped(
    seeded_store: dict[str, str],
) -> None:
    # An actor written by some other door, or by a version before the actor was checked.
    forged = "maija\n2026-12-02 00:00:00  admin        case erased\x1b[2J"
    with get_engine().begin() as connection:
        connection.execute(
            text("UPDATE audit_events SET actor = :actor WHERE case_id = :case"),
            {"actor": forged, "case": seeded_store["case"]},
        )
    shown = run("audit", seeded_store["case"])
    assert shown.exit_code == 0
    assert "\x1b" not in shown.output
    lines = shown.output.splitlines()
    entries = [line for line in lines[1:] if line.strip()]
    with session_scope() as session:
        stored = session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == seeded_store["case"])
        )
        assert len(entries) >= len(list(stored))
    assert not any(line.startswith("2026-12-02 00:00:00  admin") for line in lines)
    assert any("maija\\n2026-12-02" in line and "\\x1b[2J" in line for line in lines)


def test_an_actor_with_a_line_break_is_refused_before_anything_is_written(
    seeded_store: dict[str, str],
) -> None:
    before = snapshot()
    refused(
        run("case", "update", seeded_store["case"], "--notes", "x", TAKEDOWN_ACTOR="bob\nadmin"),
        "TAKEDOWN_ACTOR: must not contain line breaks",
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    "memory",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file::memory:?uri=true",
        "sqlite:///file:cases?mode=memory&uri=true",
    ],
)
def test_a_database_that_keeps_nothing_is_refused(memory: str) -> None:
    result = run("case", "list", TAKEDOWN_DATABASE_URL=memory)
    refused(result, "TAKEDOWN_DATABASE_URL: an in-memory SQLite database keeps nothing")


def test_a_file_that_is_not_a_database_is_named_with_its_setting(
    seeded_store: dict[str, str],  # noqa: ARG001 (the rest of a good environment)
    tmp_path: Path,
) -> None:
    impostor = tmp_path / "notes.txt"
    impostor.write_bytes(b"minutes of the meeting\n" * 500)
    result = run("case", "list", TAKEDOWN_DATABASE_URL=f"sqlite:///{impostor}")
    refused(result, f"TAKEDOWN_DATABASE_URL: sqlite:///{impostor} cannot be used")
    assert "file is not a database" in result.output
    assert impostor.read_bytes() == b"minutes of the meeting\n" * 500


def test_an_empty_platforms_folder_is_refused_by_every_command_that_matches_links(
    seeded_store: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "no-platforms"
    empty.mkdir()
    before = snapshot()
    for command in (
        ["case", "add-urls", seeded_store["case"], "https://www.tiktok.com/@x/video/1"],
        ["queue", seeded_store["case"]],
        ["status", seeded_store["case"]],
        ["platforms", "list"],
        ["platforms", "check"],
    ):
        refused(run(*command, TAKEDOWN_PLATFORMS_DIR=str(empty)), "no platform files (*.yaml)")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("link", "words"),
    [
        ("http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1 (which carries 127.0.0.1) is not a public"),
        ("http://[2002:7f00:1::1]/", "2002:7f00:1::1 (which carries 127.0.0.1) is not a public"),
        ("http://224.0.0.1/", "224.0.0.1 is not a public address"),
        ("https://exa%2500mple.com/x", "has characters a host name cannot have"),
    ],
)
def test_the_reviewed_links_are_refused_for_what_is_wrong_with_them(
    seeded_store: dict[str, str], link: str, words: str
) -> None:
    before = snapshot()
    result = run("case", "add-urls", seeded_store["case"], link, TAKEDOWN_ALLOW_PRIVATE_TARGETS="0")
    refused(result, words)
    assert "IPv6 zone" not in result.output
    assert snapshot() == before


def test_a_basis_that_cannot_be_used_is_refused_before_any_registry_is_asked(
    seeded_store: dict[str, str],
) -> None:
    # A link on no known platform, not queued yet: queueing would ask RDAP who hosts it.
    assert (
        run(
            "case", "add-urls", seeded_store["case"], "https://nowhere-else.example/x.jpg"
        ).exit_code
        == 0
    )
    before = snapshot()
    with RdapServer() as rdap:
        result = run("queue", seeded_store["case"], "--basis", "dmca",
                     TAKEDOWN_RDAP_BOOTSTRAP_URL=rdap.bootstrap_url)  # fmt: skip
        refused(result, "--basis: dmca cannot be used")
        assert rdap.received == []
    assert snapshot() == before
