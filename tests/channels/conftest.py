"""Jobs for channel tests: a real platform file, a real rendered notice, no database."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from takedown.config import Settings
from takedown.testing.environment import Configure
from takedown.testing.jobs import JobFactory, job_for


@pytest.fixture
def settings(
    test_environment: Callable[..., dict[str, str]], configure: Configure, tmp_path: Path
) -> Settings:
    # No database is opened here; the setting still names one that would keep its data.
    return configure(**test_environment(f"sqlite:///{tmp_path / 'unused.db'}"))


@pytest.fixture(name="job_for")
def job_for_fixture(settings: Settings) -> JobFactory:
    return functools.partial(job_for, settings)
