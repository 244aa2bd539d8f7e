"""Every platform's removal rules against the answers its sources describe: removed, still
online, expired, private, blocked, each served from a loopback server and judged right.

The answers are in ``recorded_answers.yaml``, written from the texts the platform files cite
(their ``source`` and rule notes). Every platform of the catalogue has some, and every rule
of every platform decides at least one of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from takedown.catalogue.platforms import Catalogue
from takedown.catalogue.schema import Platform
from takedown.config import Settings, bundled_dir
from takedown.monitoring.checks import Seen, check_link
from takedown.store.states import CheckOutcome
from takedown.testing.environment import Configure
from takedown.testing.fake_platform import FakePlatform, Reply

CATALOGUE = Catalogue.load(bundled_dir("platforms"))


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    what: str
    status: int
    body: str = ""
    redirect: str | None = None
    # The link's path, where the rules look at it (Discord's /attachments/); a fresh one else.
    path: str | None = None
    query: str | None = None
    expect: Literal["removed", "online", "unknown"]
    because: str | None = None
    rule: int | None = None
    source: str | None = None


RECORDED: dict[str, list[Answer]] = {
    platform: [Answer.model_validate(answer) for answer in answers]
    for platform, answers in yaml.safe_load(
        (Path(__file__).parent / "recorded_answers.yaml").read_text(encoding="utf-8")
    ).items()
}

CASES = [(platform, answer) for platform, answers in RECORDED.items() for answer in answers]


@pytest.fixture
def settings(
    test_environment: Callable[..., dict[str, str]], configure: Configure, tmp_path: Path
) -> Settings:
    return configure(**test_environment(f"sqlite:///{tmp_path / 'unused.db'}"))


def serve(site: FakePlatform, answer: Answer) -> str:
    """The answer at a fresh path of the fake; the link to it, with its query."""
    path = f"{answer.path or ''}/{uuid.uuid4().hex[:10]}"
    if answer.redirect:
        site.script(path, Reply(302, "", {"Location": site.url(answer.redirect)}))
        site.script(answer.redirect, Reply(answer.status, answer.body))
    else:
        site.script(path, Reply(answer.status, answer.body))
    return site.url(path) + (f"?{answer.query}" if answer.query else "")


def judged(site: FakePlatform, answer: Answer, platform: Platform, settings: Settings) -> Seen:
    return check_link(serve(site, answer), platform.removed_when, False, settings)


@pytest.mark.parametrize(("platform_id", "answer"), CASES, ids=[f"{p}: {a.what}" for p, a in CASES])
def test_each_recorded_answer_is_judged_as_the_platform_means_it(
    settings: Settings, site: FakePlatform, platform_id: str, answer: Answer
) -> None:
    platform = CATALOGUE.get(platform_id)
    seen = judged(site, answer, platform, settings)
    assert seen.outcome == CheckOutcome(answer.expect), seen.reason
    if answer.because:
        assert answer.because in seen.reason
    # A case involving a minor never reads more into an answer than an adult's case does.
    minor = check_link(serve(site, answer), platform.removed_when, True, settings)
    if seen.outcome != CheckOutcome.REMOVED:
        assert minor.outcome != CheckOutcome.REMOVED
    if answer.rule is not None:
        # The rule named decides this answer: without it, the verdict would be another.
        others = [r for i, r in enumerate(platform.removed_when) if i != answer.rule]
        without = check_link(serve(site, answer), others, False, settings)
        assert (without.outcome, without.reason) != (seen.outcome, seen.reason)


def test_every_platform_has_recorded_answers_for_removed_and_online_content() -> None:
    assert sorted(RECORDED) == sorted(CATALOGUE.platforms)
    for platform_id, answers in RECORDED.items():
        expected = {answer.expect for answer in answers}
        assert "online" in expected, platform_id
        # What the platform answers once the content is gone: removed, or unknown where
        # that answer also stands for content gone private or a link that expired.
        assert expected & {"removed", "unknown"}, platform_id


def test_every_rule_of_every_platform_decides_a_recorded_answer() -> None:
    for platform_id, answers in RECORDED.items():
        rules = CATALOGUE.get(platform_id).removed_when
        decided = {answer.rule for answer in answers if answer.rule is not None}
        assert decided == set(range(len(rules))), platform_id


def test_only_the_gone_rules_ever_confirm_a_removal() -> None:
    # A recorded answer decided by a doubt is unknown, by a mark of being served online;
    # neither is ever "removed".
    expected = {"private": "unknown", "expired": "unknown", "blocked": "unknown"}
    expected["online"] = "online"
    for platform_id, answers in RECORDED.items():
        rules = CATALOGUE.get(platform_id).removed_when
        for answer in answers:
            if answer.rule is not None and rules[answer.rule].means != "gone":
                assert answer.expect == expected[rules[answer.rule].means], (
                    platform_id,
                    answer.what,
                )
