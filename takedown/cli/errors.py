"""Errors on the command line: one table from takedown's error hierarchy to one clear line
and an exit status. Never a traceback for something a person can fix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.exc import OperationalError as DatabaseUnavailable
from sqlalchemy.orm.exc import StaleDataError

from takedown.errors import InputError, TakedownError
from takedown.safety.safetext import shown

F = TypeVar("F", bound=Callable[..., Any])

# Every error a person can act on exits with status 1, whatever its kind, as click's own
# errors do (a mistake in the command itself, an unknown option say, exits with 2).

# A field no parameter of the command is named after.
FIELD_NAMES = {"alert_id": "--ack", "changes": "options"}


def field_name(field: str, command: click.Command | None = None) -> str:
    """How the command line spells a field: as the command's parameter of that name
    (``victim_email`` is ``--victim-email``, a ``basis`` argument is ``BASIS``)."""
    for param in command.params if command else []:
        if param.name == field:
            if isinstance(param, click.Argument):
                return param.human_readable_name
            return next((opt for opt in param.opts if opt.startswith("--")), param.opts[0])
    return FIELD_NAMES.get(field, "--" + field.replace("_", "-"))


def one_line(error: TakedownError, command: click.Command | None = None) -> str:
    if isinstance(error, InputError) and error.field == "urls" and error.index is not None:
        return f"URL {error.index} ({shown(error.value or '')}): {error.words()}"
    if error.field is None:
        return error.words()
    name = field_name(error.field, command)
    if "{field}" in error.message:  # the message names its field where it belongs
        return error.words(name)
    return f"{name}: {error.words(name)}"


class CommandError(click.ClickException):
    """One line on standard error, "Error: ..." and exit status 1."""


def user_errors(command: F) -> F:
    """Turn a person's mistake, or a state they can act on, into one clear line."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except TakedownError as error:
            context = click.get_current_context(silent=True)
            raise CommandError(one_line(error, context.command if context else None)) from None
        except StaleDataError:
            raise CommandError(
                "the request changed while you were acting on it (a worker or another "
                "caseworker got there first); look again with takedown status"
            ) from None
        except IntegrityError:
            raise CommandError(
                "someone else changed this case at the same moment; look again with takedown status"
            ) from None
        except DatabaseUnavailable as error:
            raise CommandError(
                f"the database cannot be used (TAKEDOWN_DATABASE_URL): {_first_line(error)}"
            ) from None
        except SQLAlchemyError as error:
            # The driver's own words only: SQLAlchemy's text adds the statement over several
            # lines. Parameters are hidden by the engine, so this names no victim and no link.
            raise CommandError(f"the database refused the change: {_first_line(error)}") from None

    return wrapper  # type: ignore[return-value]


def _first_line(error: SQLAlchemyError) -> str:
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
