"""``takedown``: the command group every command hangs from.

Command names, flags and JSON keys are a contract (see README): add, never rename.
"""

from __future__ import annotations

import click

from takedown.cli.audit import audit_log
from takedown.cli.case import case
from takedown.cli.contact import contact
from takedown.cli.demo import demo
from takedown.cli.errors import CommandError
from takedown.cli.keys import keys
from takedown.cli.monitoring import alerts, check, overdue
from takedown.cli.notice import notice
from takedown.cli.platforms import platforms
from takedown.cli.requests import (
    mark_reappeared,
    mark_removed,
    mark_sent_command,
    package,
    queue,
    retry,
    status,
    withdraw,
)
from takedown.cli.worker import worker
from takedown.config import get_settings
from takedown.errors import ConfigError
from takedown.safety.redaction import install_log_redaction


@click.group(help="Get non-consensual intimate images taken down: cases, requests, workers.")
def main() -> None:
    install_log_redaction()
    # Every setting is checked before any command does anything, so that a bad one is named
    # in one line by whichever command meets it first, never half-way through a change.
    try:
        get_settings()
    except ConfigError as error:
        raise CommandError(str(error)) from None


# In the order of a caseworker's session, which is the order `takedown --help` lists them in
# (click sorts them by name anyway).
for command in (
    case,
    audit_log,
    keys,
    queue,
    status,
    mark_sent_command,
    mark_removed,
    mark_reappeared,
    package,
    retry,
    withdraw,
    check,
    alerts,
    overdue,
    platforms,
    contact,
    notice,
    worker,
    demo,
):
    main.add_command(command)
