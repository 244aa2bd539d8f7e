"""Running takedown under other settings for a while (the demo, the tests' worker stacks)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from takedown.config import Settings, get_settings


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
