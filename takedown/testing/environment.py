"""The settings of a takedown that talks only to local fakes, and running under other settings
for a while (the demo, the tests' worker stacks, the benchmarks)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from takedown.config import Settings, get_settings

# What the tests' `configure` fixture is: ``configure(TAKEDOWN_X="1")`` sets variables for one
# test and returns the settings takedown then sees.
Configure = Callable[..., Settings]

# A closed port on loopback: no real RDAP registry is ever asked unless a test serves one.
NO_REGISTRY = "http://127.0.0.1:9/"


# Retries, sweeps and time-outs in fractions of a second, so that a test sees a request
# retried, swept again or timed out while it waits.
QUICK = {
    "TAKEDOWN_RETRY_BASE_SECONDS": "0.3",
    "TAKEDOWN_MAX_ATTEMPTS": "3",
    "TAKEDOWN_SWEEP_SECONDS": "0.5",
    "TAKEDOWN_REDELIVER_AFTER_SECONDS": "2",
    "TAKEDOWN_HTTP_READ_TIMEOUT_SECONDS": "1",
    "TAKEDOWN_HTTP_CONNECT_TIMEOUT_SECONDS": "2",
}


def local_environment(
    *,
    database_url: str,
    broker_url: str,
    platforms_dir: Path,
    secret_key: str,
    queue_prefix: str = "",
    smtp_port: int | None = None,
    notifier: tuple[str, str] = ("Test Helpline", "reports@helpline.example"),
) -> dict[str, str]:
    """TAKEDOWN_* variables for platforms, a mail sink and registries on loopback only."""
    variables = {
        "TAKEDOWN_DATABASE_URL": database_url,
        "TAKEDOWN_BROKER_URL": broker_url,
        "TAKEDOWN_QUEUE_PREFIX": queue_prefix,
        "TAKEDOWN_PLATFORMS_DIR": str(platforms_dir),
        # The fakes live on loopback, which is refused everywhere else.
        "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
        "TAKEDOWN_RDAP_BOOTSTRAP_URL": NO_REGISTRY,
        "TAKEDOWN_SECRET_KEY": secret_key,
        "TAKEDOWN_NOTIFIER_NAME": notifier[0],
        "TAKEDOWN_NOTIFIER_EMAIL": notifier[1],
    }
    if smtp_port is not None:
        variables |= {"TAKEDOWN_SMTP_HOST": "127.0.0.1", "TAKEDOWN_SMTP_PORT": str(smtp_port)}
    return variables


@contextmanager
def overridden_environment(variables: Mapping[str, str]) -> Iterator[Settings]:
    """Set these TAKEDOWN_* variables and yield the settings they give; restore on exit."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
