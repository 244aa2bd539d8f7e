"""What a person sees when a command fails for a reason they can act on: one line, exit 1,
and the field named as the command spells it."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm.exc import StaleDataError

from takedown.cli.errors import user_errors
from takedown.errors import Conflict, InputError

# What a driver says, over several lines as drivers do; the statement and parameters come
# from SQLAlchemy, which hides them.
DRIVER_WORDS = 'connection refused\n\tIs the server running on host "127.0.0.1"?'


def failing_with(error: BaseException) -> click.Command:
    @click.command()
    @click.argument("request_id")
    @click.option("--victim-email")
    @user_errors
    def command(request_id: str, victim_email: str | None) -> None:  # noqa: ARG001
        raise error

    return command


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            InputError("is not an email address", field="victim_email"),
            "--victim-email: is not an email address",
        ),
        (InputError("no such request", field="request_id"), "REQUEST_ID: no such request"),
        (Conflict("request abc is sent; withdraw is only for ..."), "request abc is sent;"),
        (
            StaleDataError("UPDATE statement expected to update 1 row"),
            "the request changed while you were acting on it",
        ),
        (
            IntegrityError("INSERT ...", {}, Exception("duplicate key")),
            "someone else changed this case at the same moment",
        ),
        (
            OperationalError("SELECT ...", {}, Exception(DRIVER_WORDS)),
            "the database cannot be used (TAKEDOWN_DATABASE_URL): connection refused",
        ),
        (
            ProgrammingError("SELECT ...", {}, Exception('relation "cases" does not exist')),
            'the database refused the change: relation "cases" does not exist',
        ),
    ],
)
def test_a_failure_is_one_line_and_exit_status_1(error: BaseException, line: str) -> None:
    result = CliRunner().invoke(failing_with(error), ["abc"])
    assert result.exit_code == 1
    (shown,) = result.output.splitlines()
    assert shown.startswith(f"Error: {line}")
    assert "SELECT" not in shown
    assert "INSERT" not in shown


def test_a_bug_is_not_dressed_up_as_a_users_mistake() -> None:
    result = CliRunner().invoke(failing_with(KeyError("x")), ["abc"])
    assert isinstance(result.exception, KeyError)
