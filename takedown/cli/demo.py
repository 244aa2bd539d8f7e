"""``takedown demo``: the whole flow on local fakes (what ``make demo`` runs)."""

from __future__ import annotations

import sys

import click

from takedown.cli.context import console


@click.command("demo", help="The whole flow on local fake platforms (what `make demo` runs).")
def demo() -> None:
    # The demo brings its fakes and an embedded worker: loaded only when it runs.
    from takedown.cli.demo_run import run_demo

    sys.exit(run_demo(console))
