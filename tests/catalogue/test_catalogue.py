"""The real platform catalogue: every file valid, sourced and dated; the platforms where this
material turns up are all there; logged-in forms are manual with steps to follow."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from takedown.catalogue.bases import choose_basis
from takedown.catalogue.legal import Facts, legal_for
from takedown.catalogue.platforms import Catalogue
from takedown.catalogue.schema import CoordinatorStep, EscalationTarget, ManualChannel
from takedown.config import Settings, bundled_dir
from takedown.notices.samples import rehearse
from takedown.testing.processes import TAKEDOWN

CATALOGUE = Catalogue.load(bundled_dir("platforms"))
REQUIRED = [
    *("facebook", "instagram", "threads", "whatsapp", "x", "reddit", "tiktok", "snapchat"),
    *("discord", "telegram", "youtube", "google-search", "bing", "tumblr", "pinterest"),
    *("twitch", "vimeo", "imgur", "dropbox", "google-drive", "mega", "aylo", "onlyfans"),
    *("xhamster", "xvideos"),
]
PLATFORMS = sorted(CATALOGUE.platforms.values(), key=lambda p: p.id)


def test_the_catalogue_covers_the_platforms_where_the_material_turns_up() -> None:
    assert len(CATALOGUE.platforms) >= 25
    assert [name for name in REQUIRED if name not in CATALOGUE.platforms] == []
    assert {"ylilauta", "suomi24"} <= set(CATALOGUE.platforms)  # Finnish services
    assert "jodel" in CATALOGUE.platforms  # a German one
    assert CATALOGUE.get("jodel").notice_language in {"de", "en"}  # it takes both
    assert CATALOGUE.get("ylilauta").notice_language == "fi"


@pytest.mark.parametrize("platform", PLATFORMS, ids=[p.id for p in PLATFORMS])
def test_every_platform_is_sourced_dated_and_renders_every_notice_it_may_send(
    platform: object, environment: Settings
) -> None:
    from takedown.catalogue.schema import Platform

    assert isinstance(platform, Platform)
    assert platform.source is not None
    assert platform.source.startswith("https://")
    assert platform.checked is not None
    assert not any(domain.endswith(".example") for domain in platform.domains)
    rehearse(platform, environment)  # each legal basis in its language, linted; every field
    for channel in platform.channels:
        if isinstance(channel, ManualChannel):
            assert channel.instructions, f"{platform.id}: a manual channel says what to do"


def test_whatsapp_is_manual_and_search_engines_are_marked_as_such() -> None:
    assert [c.type for c in CATALOGUE.get("whatsapp").channels] == ["manual"]
    assert CATALOGUE.get("google-search").kind == "search_engine"
    assert CATALOGUE.get("bing").kind == "search_engine"
    assert CATALOGUE.get("instagram").kind == "host"


def matched(url: str) -> str | None:
    platform = CATALOGUE.match(url)
    return platform.id if platform else None


def test_a_link_on_a_media_host_matches_its_platform() -> None:
    assert matched("https://scontent.cdninstagram.com/v/t51/abc.jpg") == "instagram"
    assert matched("https://i.imgur.com/AbCdEf.jpg") == "imgur"
    assert matched("https://www.pornhub.com/view_video.php?viewkey=1") == "aylo"


def takedown(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAKEDOWN_NOTIFIER_NAME": "Helpline", "TAKEDOWN_NOTIFIER_EMAIL": "a@b.fi"}
    env.pop("TAKEDOWN_PLATFORMS_DIR", None)
    return subprocess.run(
        [str(TAKEDOWN), *args], capture_output=True, text=True, env=env, check=False
    )


def test_platforms_list_json_and_show() -> None:
    listed = takedown("platforms", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows["google-search"]["kind"] == "search_engine"
    assert "take_it_down" in rows["x"]["legal_bases"]
    assert rows["x"]["source"].startswith("https://")
    shown = takedown("platforms", "show", "telegram")
    assert shown.returncode == 0
    assert "abuse@telegram.org" in shown.stdout
    unknown = takedown("platforms", "show", "myspace")
    assert unknown.returncode == 1
    assert "myspace" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_platforms_check_names_the_file_and_the_field(tmp_path: Path) -> None:
    for path in bundled_dir("platforms").glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "reddit.yaml"
    broken.write_text(broken.read_text().replace("legal_bases: [", "legal_bases: [gdpr, "))
    env = {**os.environ, "TAKEDOWN_PLATFORMS_DIR": str(tmp_path)}
    result = subprocess.run(
        [str(TAKEDOWN), "platforms", "check"],
        capture_output=True,
        text=True,
        env={**env, "TAKEDOWN_NOTIFIER_NAME": "H", "TAKEDOWN_NOTIFIER_EMAIL": "a@b.fi"},
        check=False,
    )
    assert result.returncode == 1
    assert "reddit.yaml: legal_bases.0" in result.stderr


def test_ai_made_images_go_to_the_search_engines_deepfake_form() -> None:
    google = CATALOGUE.get("google-search")
    (real,) = google.channel_order(synthetic=False, basis="dsa", country="FI")
    (fake,) = google.channel_order(synthetic=True, basis="dsa", country="FI")
    deepfake_form = google.channels[fake]
    assert isinstance(deepfake_form, ManualChannel)
    assert deepfake_form.url.endswith("/answer/9116649")
    assert real != fake


LEGAL = legal_for(bundled_dir("legal"))


@pytest.mark.parametrize(
    ("facts", "basis", "form"),
    [
        # An EU victim: X's notice form under the Digital Services Act.
        (Facts("FI"), "dsa", "https://help.x.com/forms/dsa/report"),
        # A US victim: the TAKE IT DOWN Act form X offers to users in the US.
        (Facts("US"), "take_it_down", "/forms/safety-and-sensitive-content/take-it-down"),
        # Anyone else: X's form is for the US, so X's own policy, through its global route.
        (Facts("CA"), "terms", "/rules-and-policies/personal-information"),
        # An AI-made image of an adult in Germany: no German ground, no US form: X's policy.
        (Facts("DE", synthetic=True), "terms", "/rules-and-policies/personal-information"),
    ],
)
def test_x_gets_each_victims_notice_through_the_channel_for_its_law_and_country(
    facts: Facts, basis: str, form: str
) -> None:
    x = CATALOGUE.get("x")
    chosen = choose_basis(facts, x, LEGAL)
    assert chosen.basis == basis
    (index,) = x.channel_order(synthetic=facts.synthetic, basis=basis, country=facts.country)
    channel = x.channels[index]
    assert isinstance(channel, ManualChannel)
    assert channel.url.endswith(form)


def test_no_platform_escalates_every_victim_to_one_countrys_regulator() -> None:
    # Under DSA Article 53 the victim complains to their own country's coordinator.
    for platform in PLATFORMS:
        for entry in platform.escalation:
            if isinstance(entry, EscalationTarget):
                assert entry.to not in COORDINATOR_ADDRESSES, platform.id
        if "dsa" in platform.legal_bases:
            assert any(isinstance(e, CoordinatorStep) for e in platform.escalation), platform.id


COORDINATOR_ADDRESSES = {
    "usersupport@cnam.ie",
    "kirjaamo@traficom.fi",
    "klachtdsa@bipt.be",
    *(c.email for c in LEGAL.coordinators.values() if c.email),
}


def test_platforms_that_take_part_in_stopncii_say_so_and_where_that_is_read() -> None:
    taking_part = {p.id for p in PLATFORMS if "stopncii" in p.hash_programmes}
    # Named by SWGfL (which runs StopNCII.org) and Aylo's newsroom; Bing and Google Search by
    # the press (each file's `unverified` says so).
    assert {"facebook", "instagram", "threads", "tiktok", "reddit", "onlyfans", "aylo",
            "snapchat", "bing", "google-search"} == taking_part  # fmt: skip
    for platform in PLATFORMS:
        if platform.hash_programmes:
            # Neither programme's own list could be read: each file says where it is stated.
            assert any("StopNCII" in doubt for doubt in platform.unverified), platform.id


def test_every_file_that_rests_on_third_party_copies_says_what_is_unverified() -> None:
    for platform_id in ("aylo", "bing", "onlyfans", "threads", "twitch", "xhamster", "xvideos",
                        "facebook"):  # fmt: skip
        assert CATALOGUE.get(platform_id).unverified, platform_id
