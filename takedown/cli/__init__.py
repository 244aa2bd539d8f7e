"""The caseworker's command line: one module per command group. Commands parse, call the
domain, and print; errors are mapped to one line and an exit code in ``cli.errors``.

Imports anything below it.
"""

from takedown.cli.main import main

__all__ = ["main"]
