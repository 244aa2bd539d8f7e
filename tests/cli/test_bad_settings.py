"""Every command, with a bad value for every setting: a non-zero exit, one line naming the
setting, no traceback, and the store exactly as it was.

Each command validates every TAKEDOWN_* setting before it does anything (the group's
callback reads them all), so the table is every command by every setting. A setting added
to ``Settings`` without a bad value here fails the first test. The commands run in-process
(click's CliRunner): some 1,400 runs in seconds, where subprocesses would take an hour.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from takedown.cli import main
from takedown.config import Settings, get_settings
from takedown.errors import ConfigError
from takedown.safety.safetext import line_problem
from takedown.testing.databases import snapshot
from takedown.testing.environment import overridden_environment
from takedown.testing.processes import BIN, TAKEDOWN

# One bad value per setting, each of the kind an operator gets wrong: a typo, a unit, a
# line break pasted with a value, a path that is not there.
BAD_VALUES = {
    "database_url": "postgress://db/takedown",
    "broker_url": "ftp://broker.example/",
    "platforms_dir": "/nonexistent/platforms",
    "templates_dir": "/nonexistent/templates",
    "legal_dir": "/nonexistent/legal",
    "smtp_host": "mail.example\r\nBcc: someone@example.org",
    "smtp_port": "twenty-five",
    "smtp_tls": "sometimes",
    "smtp_username": "user\x1b[2J",
    "smtp_password": "secret\nsecond line",
    "smtp_timeout_seconds": "-1",
    "smtp_ca_file": "/nonexistent/ca.pem",
    "notifier_name": "Helpline\x07",
    "notifier_email": "reports@helpline.example\nBcc: x@y.example",
    "signatory_name": "\x1b[2JSigned",
    "trusted_flagger": "designated\u2028by nobody",
    "rdap_bootstrap_url": "ftp://data.iana.org/rdap/",
    "rdap_cache_hours": "-1",
    "caseworker_email": "team inbox",
    "allow_private_targets": "maybe",
    "secret_key": "not-a-fernet-key",
    "retention_days": "0",
    "actor": "maija\n2026-12-02 admin case erased",
    "http_connect_timeout_seconds": "0",
    "http_read_timeout_seconds": "30s",
    "sweep_seconds": "0",
    "retry_base_seconds": "-60",
    "retry_max_seconds": "0",
    "max_attempts": "0",
    "redeliver_after_seconds": "0",
    "task_time_limit_seconds": "3600",  # as long as the broker's visibility timeout
    "sender_lease_seconds": "0",
    "sending_timeout_seconds": "1",  # shorter than a task may run
    "queue_prefix": "my queues/",
    "removal_confirm_seconds": "-1",
    "reappearance_watch_days": "-1",
    "check_max_body_bytes": "0",
    "nightly_at": "25:00",
    "timezone": "Mars/Olympus",
    "check_batch_size": "0",
    "check_parallel": "0",
    "host_rate_per_second": "0",
    "host_burst": "0",
    "host_max_in_flight": "0",
    "notify_min_interval_seconds": "-1",
}


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def arguments(ids: dict[str, str]) -> dict[tuple[str, ...], list[str]]:
    """What each command is given: real ids of the seeded store, so that nothing but the
    setting can be wrong."""
    case, request = ids["case"], ids["request"]
    return {
        ("alerts",): [],
        ("audit",): [case],
        ("case", "add-urls"): [case, "https://formsite.example/p/new"],
        ("case", "close"): [case],
        ("case", "erase"): [case, "--yes"],
        ("case", "list"): [],
        ("case", "new"): ["--victim-email", "v@example.org", "--victim-name", "V", "--language",
                          "en"],
        ("case", "reopen"): [case],
        ("case", "update"): [case, "--notes", "new notes"],
        ("check",): [],
        ("contact", "confirm"): [ids["contact_request"]],
        ("demo",): [],
        ("keys", "generate"): [],
        ("keys", "rotate"): [],
        ("mark-sent",): [request, "--ticket", "T-1"],
        ("mark-removed",): [request, "--because", "platform-answered"],
        ("mark-reappeared",): [request],
        ("notice", "basis"): [request, "terms"],
        ("notice", "lint"): [],
        ("notice", "preview"): [request],
        ("overdue",): [],
        ("package",): [request],
        ("platforms", "check"): [],
        ("platforms", "list"): [],
        ("platforms", "show"): ["formsite"],
        ("queue",): [case],
        ("retry",): [request],
        ("status",): [case],
        ("withdraw",): [request],
        ("worker",): [],
    }  # fmt: skip


def test_every_setting_has_a_bad_value_in_the_table() -> None:
    assert set(BAD_VALUES) == set(Settings.model_fields)


def test_every_command_refuses_every_bad_setting_in_one_line_and_changes_nothing(
    seeded_store: dict[str, str],
) -> None:
    table = arguments(seeded_store)
    commands = list(leaf_commands(main))
    assert sorted(table) == sorted(commands), "a command was added: give it arguments here"
    before = snapshot()
    runner = CliRunner()
    for setting, bad in BAD_VALUES.items():
        variable = f"TAKEDOWN_{setting.upper()}"
        for command in commands:
            get_settings.cache_clear()
            result = runner.invoke(main, [*command, *table[command]], env={variable: bad})
            get_settings.cache_clear()
            said = f"{' '.join(command)} with {variable}={bad!r}"
            assert result.exit_code == 1, f"{said}: {result.output}"
            assert result.exception is None or isinstance(result.exception, SystemExit), said
            lines = result.output.strip().splitlines()
            assert len(lines) == 1, f"{said}: {result.output}"
            assert lines[0].startswith("Error: "), f"{said}: {result.output}"
            assert variable in lines[0], f"{said}: {result.output}"
    assert snapshot() == before


@pytest.mark.parametrize(
    "process",
    [
        [str(TAKEDOWN), "worker", "--pool", "solo"],
        [str(BIN / "celery"), "-A", "takedown.worker.celery_app:app", "beat"],
        [str(BIN / "celery"), "-A", "takedown.worker.celery_app:app", "worker", "--pool", "solo"],
    ],
    ids=["takedown worker", "celery beat", "celery worker"],
)
def test_a_worker_or_beat_refuses_a_bad_setting_in_one_line_before_it_starts(
    process: list[str], tmp_path: Path, test_environment: Callable[..., dict[str, str]]
) -> None:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("TAKEDOWN_")
    }
    environment |= test_environment(f"sqlite:///{tmp_path / 'w.db'}") | {
        "TAKEDOWN_TIMEZONE": "Mars/Olympus"
    }
    finished = subprocess.run(
        process, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert finished.returncode != 0
    assert "Traceback" not in finished.stderr
    (line,) = finished.stderr.strip().splitlines()
    assert "TAKEDOWN_TIMEZONE: 'Mars/Olympus' is not a time zone" in line


# Any text an environment variable can hold (no NUL: the operating system cannot pass one).
env_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=40)
odd_values = st.one_of(
    env_text,
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "0", "-1", "1e309", "nan", "true", "no", "/", "sqlite://"]),
    st.builds("{0}\n{1}".format, env_text, env_text),
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(sorted(Settings.model_fields)), odd_values)
def test_any_value_of_any_setting_is_taken_or_refused_in_one_line_naming_it(
    setting: str, value: str
) -> None:
    variable = f"TAKEDOWN_{setting.upper()}"
    try:
        with overridden_environment({variable: value}) as taken:
            read = getattr(taken, setting)
    except ConfigError as refusal:
        (line,) = str(refusal).splitlines()
        assert variable in line
        return
    # Taken: then no text setting holds a line break or a control character.
    if isinstance(read, str):
        assert line_problem(read) is None, (variable, value)
