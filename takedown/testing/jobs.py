"""Jobs for testing a channel on its own: a real platform file and a real rendered notice,
with no database and no request row behind them."""

from __future__ import annotations

from collections.abc import Callable

from takedown.catalogue.platforms import catalogue_for
from takedown.channels.base import Job
from takedown.config import Settings
from takedown.delivery.prepare import link_variants
from takedown.notices.builder import Notifier, notice_context, render_notice

# What the channel tests' `job_for` fixture is: job_for("formsite", url) -> Job.
JobFactory = Callable[..., Job]


def job_for(settings: Settings, platform_id: str, url: str, channel_index: int = 0) -> Job:
    """A job for ``url`` to a platform's channel, with the English terms notice."""
    platform = catalogue_for(settings.platforms_dir).get(platform_id)
    context = notice_context("TD-2026-TEST01", url, platform, Notifier.of(settings))
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
