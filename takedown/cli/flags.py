"""A yes/no option as two flags whose contradiction is refused.

Click's own ``--synthetic/--real`` pair lets the last flag given win silently, so
``case update --synthetic --real`` would store "real" without a word. Here each side is a
flag of its own, and giving both is a usage error that changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def yes_or_no(yes: str, no: str, help: str) -> Callable[[F], F]:
    """``--yes`` sets the parameter named after it to True, ``--no`` to False, neither to
    None; both is refused."""
    name = yes.removeprefix("--").replace("-", "_")

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def resolved(*args: Any, **kwargs: Any) -> Any:
            said_yes, said_no = kwargs.pop(f"{name}_yes"), kwargs.pop(f"{name}_no")
            if said_yes and said_no:
                raise click.UsageError(f"{yes} and {no} contradict each other; give one of them")
            kwargs[name] = True if said_yes else False if said_no else None
            return command(*args, **kwargs)

        with_no = click.option(no, f"{name}_no", is_flag=True, help=f"The opposite of {yes}.")
        with_yes = click.option(yes, f"{name}_yes", is_flag=True, help=help)
        return with_yes(with_no(resolved))  # type: ignore[return-value]

    return decorate
