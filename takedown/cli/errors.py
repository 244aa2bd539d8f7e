"""A caseworker's mistake as one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.exc import OperationalError as DatabaseUnavailable
from sqlalchemy.orm.exc import StaleDataError

from takedown.cases.erasure import ErasureRefused
from takedown.cases.fields import InputError
from takedown.cases.requests import RequestNotFound
from takedown.cases.service import CaseNotFound
from takedown.catalogue.legal import LegalError
from takedown.catalogue.platforms import PlatformFileError
from takedown.messages.alerts import AlertError
from takedown.safety.crypto import KeyProblem
from takedown.store.states import TransitionError

F = TypeVar("F", bound=Callable[..., Any])


USER_ERRORS = (
    InputError,
    KeyProblem,
    ErasureRefused,
    CaseNotFound,
    RequestNotFound,
    TransitionError,
    PlatformFileError,
    AlertError,
    LegalError,
)


def user_errors(command: F) -> F:
    """Turn a caseworker's mistake into one clear line instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as error:
            raise click.ClickException(str(error)) from None
        except StaleDataError:
            raise click.ClickException(
                "the request changed while you were acting on it (a worker or another "
                "caseworker got there first); look again with takedown status"
            ) from None
        except IntegrityError:
            raise click.ClickException(
                "someone else changed this case at the same moment; look again with takedown status"
            ) from None
        except DatabaseUnavailable as error:
            raise click.ClickException(
                f"the database cannot be used (TAKEDOWN_DATABASE_URL): {_first_line(error)}"
            ) from None
        except SQLAlchemyError as error:
            # The driver's own words only: SQLAlchemy's text adds the statement over several
            # lines. Parameters are hidden by the engine, so this names no victim and no link.
            raise click.ClickException(
                f"the database refused the change: {_first_line(error)}"
            ) from None

    return wrapper  # type: ignore[return-value]


def _first_line(error: SQLAlchemyError) -> str:
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
