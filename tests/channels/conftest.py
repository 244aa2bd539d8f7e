"""Jobs for channel tests: a real platform file, a real rendered notice, no database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from takedown.catalogue.platforms import catalogue_for
from takedown.channels.base import Job
from takedown.config import Settings
from takedown.delivery.prepare import link_variants
from takedown.notices.builder import notice_context, render_notice

JobFactory = Callable[..., Job]


@pytest.fixture
def settings(platforms_dir: Path, smtp: object, monkeypatch: pytest.MonkeyPatch) -> Settings:
    from tests.conftest import base_environment, configure

    variables = base_environment(
        platforms_dir,
        smtp.port,
        "sqlite://",
        "memory://",
        "",  # type: ignore[attr-defined]
    )
    return configure(monkeypatch, **variables)


@pytest.fixture
def job_for(settings: Settings) -> JobFactory:
    def build(platform_id: str, url: str, channel_index: int = 0) -> Job:
        platform = catalogue_for(settings.platforms_dir).get(platform_id)
        context = notice_context("TD-2026-TEST01", url, platform, settings)
        context["facts"] = {"minor": False, "synthetic": False, "country": None}
        notice = render_notice(settings.templates_dir, "terms", "en", context)
        context["notice"] = {"subject": notice.subject, "body": notice.body}
        return Job(
            request_id="0123456789abcdef",
            platform=platform,
            channel_config=platform.channels[channel_index],
            notice=notice,
            context=context,
            sensitive=link_variants(url),
        )

    return build
