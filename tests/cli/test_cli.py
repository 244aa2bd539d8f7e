"""The caseworker's commands, run as a caseworker runs them: a real `takedown` process.

Mistakes get one clear line naming the field, never a traceback, and store nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from takedown.config import bundled_dir
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply
from takedown.testing.processes import TAKEDOWN

Run = Callable[..., subprocess.CompletedProcess[str]]
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def takedown(tmp_path: Path, test_environment: Callable[..., dict[str, str]]) -> Run:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("TAKEDOWN_")
    }
    environment |= test_environment(f"sqlite:///{tmp_path / 'cli.db'}", UNREACHABLE_BROKER, "cli-")

    def run(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TAKEDOWN), *args],
            capture_output=True,
            text=True,
            env=environment | overrides,
            timeout=60,
            check=False,
        )

    return run


def refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr


def new_case(takedown: Run) -> str:
    opened = takedown(
        "case", "new", "--victim-email", "victim@example.org",
        "--victim-name", "Aino Virtanen", "--language", "fi", "--json",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    data = json.loads(opened.stdout)
    assert set(data) == {"id", "reference"}
    return str(data["id"])


def case_count(takedown: Run) -> int:
    return len(json.loads(takedown("case", "list", "--json").stdout))


def test_case_new_prints_the_reference_for_people_and_json_for_scripts(takedown: Run) -> None:
    human = takedown(
        "case", "new", "--victim-email", "v@example.org", "--victim-name", "A", "--language", "en"
    )
    assert human.returncode == 0
    assert "Opened case TD-" in human.stdout
    new_case(takedown)
    assert case_count(takedown) == 2


def test_an_unknown_language_is_refused_and_nothing_is_stored(takedown: Run) -> None:
    result = takedown(
        "case", "new", "--victim-email", "v@example.org", "--victim-name", "A", "--language", "xx"
    )
    refused(result, "--language: 'xx' is not supported; use one of en, fi, sv, de")
    assert case_count(takedown) == 0


def test_a_malformed_url_is_refused_naming_it_and_no_link_is_stored(takedown: Run) -> None:
    case_id = new_case(takedown)
    result = takedown("case", "add-urls", case_id, "https://formsite.example/p/1", "not a url")
    refused(result, "URL 2 ('not a url'): the link")
    status = json.loads(takedown("status", case_id, "--json").stdout)
    assert status["items"] == []


def test_a_url_on_no_known_platform_is_kept_and_the_caseworker_told(takedown: Run) -> None:
    case_id = new_case(takedown)
    added = takedown("case", "add-urls", case_id, "https://nowhere.example/x.jpg")
    assert added.returncode == 0
    assert "match no platform file" in added.stdout
    queued = takedown("queue", case_id)
    assert "waits for you to confirm its abuse contact" in " ".join(queued.stdout.split())
    item = json.loads(takedown("status", case_id, "--json").stdout)["items"][0]
    assert item["platform"] is None
    (request,) = item["requests"]
    # No RDAP service answers in this test: nothing to suggest, so nothing can be sent until
    # the caseworker gives an address.
    assert (request["state"], request["contact_to"]) == ("awaiting_caseworker", None)
    assert "RDAP" in request["contact_note"] or "could not" in request["contact_note"]
    confirming = takedown("contact", "confirm", request["id"])
    refused(confirming, "RDAP found no address for this host: give one with --to")
    assert confirming.stderr.count("--to") == 1


def test_queue_with_the_broker_down_keeps_the_requests_for_the_sweeper(takedown: Run) -> None:
    case_id = new_case(takedown)
    takedown(
        "case", "add-urls", case_id, "https://formsite.example/p/1", "https://mailsite.example/2"
    )
    queued = takedown("queue", case_id)
    assert queued.returncode == 0, queued.stderr
    assert "Queued 2 removal request(s)." in queued.stdout
    assert "broker cannot be reached" in queued.stdout
    status = json.loads(takedown("status", case_id, "--json").stdout)
    requests = [r for item in status["items"] for r in item["requests"]]
    assert [(r["platform"], r["channel"], r["state"]) for r in requests] == [
        ("formsite", "webform", "queued"),
        ("mailsite", "email", "queued"),
    ]
    assert set(requests[0]) >= {
        "id",
        "platform",
        "channel",
        "state",
        "ticket",
        "attempts",
        "last_error",
    }


def test_status_shows_a_readable_table(takedown: Run) -> None:
    case_id = new_case(takedown)
    takedown("case", "add-urls", case_id, "https://formsite.example/p/1")
    takedown("queue", case_id)
    shown = takedown("status", case_id, COLUMNS="160")
    assert shown.returncode == 0
    assert "formsite" in shown.stdout
    assert "queued" in shown.stdout
    assert "https://formsite.example/p/1" in shown.stdout


def test_queue_refuses_while_the_signing_organisation_is_not_configured(takedown: Run) -> None:
    case_id = new_case(takedown)
    takedown("case", "add-urls", case_id, "https://formsite.example/p/1")
    refused(takedown("queue", case_id, TAKEDOWN_NOTIFIER_EMAIL=""), "TAKEDOWN_NOTIFIER_NAME and")


def test_an_unknown_case_is_a_clear_error(takedown: Run) -> None:
    refused(
        takedown("status", "TD-2026-NOSUCH"), "no case with the id or reference 'TD-2026-NOSUCH'"
    )


def test_a_broken_platform_file_is_refused_naming_file_and_field(
    takedown: Run, tmp_path: Path
) -> None:
    broken = tmp_path / "broken-platforms"
    broken.mkdir()
    (broken / "oops.yaml").write_text(
        "id: oops\nname: Oops\ndomains: [oops.example]\ndeadline_hours: soon\n"
        "channels: [{type: email, to: a@oops.example}]\n"
    )
    result = takedown("platforms", "check", TAKEDOWN_PLATFORMS_DIR=str(broken))
    refused(result, f"{broken / 'oops.yaml'}: deadline_hours: Input should be a valid number")
    case_id = new_case(takedown)
    adding = takedown(
        "case", "add-urls", case_id, "https://oops.example/1", TAKEDOWN_PLATFORMS_DIR=str(broken)
    )
    refused(adding, "oops.yaml: deadline_hours")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("'{{ item.url }}'", "'{{ victim.name }}'"), "field 'Link' failed: 'victim' is undefined"),
        (
            ("deadline_hours: 1", "deadline_hours: 1\nlegal_bases: [dmca]"),
            "legal_bases: must include 'terms'",
        ),
    ],
)
def test_platforms_check_rehearses_every_template_before_anything_is_sent(
    takedown: Run, tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    directory = tmp_path / "rehearsed"
    directory.mkdir()
    text = (
        "id: hand\nname: Hand\ndomains: [hand.example]\ndeadline_hours: 1\n"
        "channels: [{type: manual, url: 'https://hand.example/r',\n"
        "            fields: {Link: '{{ item.url }}'}}]\n"
    )
    (directory / "hand.yaml").write_text(text.replace(*change))
    result = takedown("platforms", "check", TAKEDOWN_PLATFORMS_DIR=str(directory))
    refused(result, f"{directory / 'hand.yaml'}: ")
    assert message in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "TAKEDOWN_SMTP_PORT",
            "twenty-five",
            "TAKEDOWN_SMTP_PORT: Input should be a valid integer",
        ),
        ("TAKEDOWN_DATABASE_URL", "postgres://u@h/db", "unknown database kind in postgres://"),
        ("TAKEDOWN_DATABASE_URL", "takedown.db", "TAKEDOWN_DATABASE_URL: not a database URL"),
        ("TAKEDOWN_BROKER_URL", "rabbit://h", "TAKEDOWN_BROKER_URL: unknown broker kind rabbit://"),
        (
            "TAKEDOWN_SENDING_TIMEOUT_SECONDS",
            "60",
            "than a task may run (TAKEDOWN_TASK_TIME_LIMIT_SECONDS, 360 s)",
        ),
        ("TAKEDOWN_CASEWORKER_EMAIL", "team", "TAKEDOWN_CASEWORKER_EMAIL: 'team' is not an email"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    takedown: Run, variable: str, value: str, message: str
) -> None:
    refused(takedown("case", "list", **{variable: value}), message)


def test_an_id_prefix_is_hex_only_so_wildcards_match_nothing(takedown: Run) -> None:
    new_case(takedown)
    refused(takedown("status", "______"), "no case with the id or reference '______'")


def test_a_caseworker_cannot_mark_a_queued_request_withdrawn_twice(takedown: Run) -> None:
    case_id = new_case(takedown)
    takedown("case", "add-urls", case_id, "https://formsite.example/p/1")
    takedown("queue", case_id)
    request_id = json.loads(takedown("status", case_id, "--json").stdout)["items"][0]["requests"][
        0
    ]["id"]
    assert takedown("withdraw", request_id[:10]).returncode == 0
    refused(
        takedown("withdraw", request_id), "is withdrawn; withdraw is only for requests that are"
    )


def test_check_visits_the_links_and_reports_what_changed(takedown: Run, site: FakePlatform) -> None:
    gone, there = site.url("/content/cli-gone"), site.url("/content/cli-there")
    site.script("/content/cli-gone", Reply(404, "Not found"))
    site.script("/content/cli-there", Reply(200, "<img src='/1.jpg'>"))
    case_id = new_case(takedown)
    takedown("case", "add-urls", case_id, gone, there)
    checked = takedown("check", "--case", case_id, TAKEDOWN_REMOVAL_CONFIRM_SECONDS="0")
    assert checked.returncode == 0, checked.stderr
    assert "Checked 2 link(s); 1 changed." in checked.stdout
    assert f"{gone}: removal confirmed" in checked.stdout
    items = json.loads(takedown("status", case_id, "--json").stdout)["items"]
    assert [(i["url"], i["status"]) for i in items] == [(gone, "removed"), (there, "online")]
    assert all(i["last_checked"] for i in items)


def test_a_minor_case_is_checked_without_reading_any_page(
    takedown: Run, site: FakePlatform
) -> None:
    soft = site.url("/content/cli-minor")
    site.script("/content/cli-minor", Reply(200, "This content is no longer available"))
    opened = takedown(
        "case", "new", "--victim-email", "v@example.org", "--victim-name", "A",
        "--language", "fi", "--minor", "--json",
    )  # fmt: skip
    case_id = json.loads(opened.stdout)["id"]
    takedown("case", "add-urls", case_id, soft)
    checked = takedown("check", "--case", case_id, TAKEDOWN_REMOVAL_CONFIRM_SECONDS="0")
    assert "Checked 1 link(s); 0 changed." in checked.stdout
    status = json.loads(takedown("status", case_id, "--json").stdout)
    assert status["minor"] is True
    assert status["items"][0]["status"] == "unknown"


def test_acknowledging_an_alert_that_does_not_exist_is_a_clear_error(takedown: Run) -> None:
    assert "No open alerts." in takedown("alerts").stdout
    refused(takedown("alerts", "--ack", "999"), "--ack: there is no alert 999")


def open_with(takedown: Run, *flags: str) -> str:
    opened = takedown(
        "case", "new", "--victim-email", "victim@example.org", "--victim-name", "Aino Virtanen",
        "--language", "fi", "--json", *flags,
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    return str(json.loads(opened.stdout)["id"])


def test_a_country_that_is_not_iso_3166_is_refused_naming_the_option(takedown: Run) -> None:
    before = case_count(takedown)
    result = takedown(
        "case", "new", "--victim-email", "v@example.org", "--victim-name", "A",
        "--language", "fi", "--country", "Suomi",
    )  # fmt: skip
    refused(result, "--country: 'Suomi' is not an ISO 3166 country code")
    assert case_count(takedown) == before


def test_queue_chooses_the_law_per_link_and_preview_shows_why(takedown: Run) -> None:
    case_id = open_with(takedown, "--country", "fin", "--synthetic")
    takedown(
        "case", "add-urls", case_id, "https://lawsite.example/p/1", "https://mailsite.example/p/1"
    )
    queued = takedown("queue", case_id, "--json")
    assert queued.returncode == 0, queued.stderr
    status = json.loads(takedown("status", case_id, "--json").stdout)
    assert status["country"] == "FI"
    bases = {item["platform"]: item["requests"][0]["legal_basis"] for item in status["items"]}
    assert bases == {"lawsite": "dsa", "mailsite": "terms"}
    lawsite = next(i for i in status["items"] if i["platform"] == "lawsite")
    preview = takedown("notice", "preview", lawsite["requests"][0]["id"][:8])
    assert preview.returncode == 0, preview.stderr
    assert "EU Digital Services Act, Article 16 notice" in preview.stdout
    assert "Every element the basis requires is in the notice." in preview.stdout
    assert "20 luku 7 §" in preview.stdout
    assert "Aino" not in preview.stdout


def test_queue_refuses_a_basis_the_case_does_not_allow_and_stores_nothing(takedown: Run) -> None:
    case_id = open_with(takedown, "--country", "US", "--victim-owns-copyright")
    takedown("case", "add-urls", case_id, "https://lawsite.example/p/2")
    refused(takedown("queue", case_id, "--basis", "dmca"), "has not agreed to be named")
    status = json.loads(takedown("status", case_id, "--json").stdout)
    assert status["items"][0]["requests"] == []


def test_notice_lint_checks_every_basis_in_every_language(takedown: Run) -> None:
    result = takedown("notice", "lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dsa/sv for an adult, real, SE" in result.stdout
    assert "FAIL" not in result.stdout


def test_a_case_involving_a_child_lists_the_routes_of_the_victims_country(takedown: Run) -> None:
    opened = takedown(
        "case", "new", "--victim-email", "v@example.org", "--victim-name", "A",
        "--language", "fi", "--minor", "--country", "FI",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    text = " ".join(opened.stdout.split())
    assert "Nettivihje" in text
    assert "Take It Down (NCMEC)" in text
    assert "Beschwerdestelle" not in text


def test_a_caseworker_changes_the_facts_and_the_law_of_a_request_not_yet_sent(
    takedown: Run,
) -> None:
    case_id = open_with(takedown)  # no country yet: no national offence to cite
    takedown("case", "add-urls", case_id, "https://lawsite.example/p/3")
    assert takedown("case", "update", case_id, "--country", "se").returncode == 0
    assert takedown("queue", case_id).returncode == 0
    (item,) = json.loads(takedown("status", case_id, "--json").stdout)["items"]
    request = item["requests"][0]
    assert request["legal_basis"] == "dsa"  # Sweden, real material: 4 kap. 6 c §
    not_dmca = takedown("notice", "basis", request["id"], "dmca")
    refused(not_dmca, "Error: BASIS: ")  # the argument, as --help names it
    refused(not_dmca, "does not hold the copyright")
    assert takedown("notice", "basis", request["id"], "terms").returncode == 0
    (item,) = json.loads(takedown("status", case_id, "--json").stdout)["items"]
    assert item["requests"][0]["legal_basis"] == "terms"


def sent_by_hand_to_an_abuse_contact(takedown: Run) -> tuple[str, dict[str, Any]]:
    """A link on no known platform, its request marked sent by hand: (case id, request)."""
    case_id = new_case(takedown)
    takedown("case", "add-urls", case_id, "https://nowhere.example/x.jpg")
    takedown("queue", case_id)
    (item,) = json.loads(takedown("status", case_id, "--json").stdout)["items"]
    marked = takedown("mark-sent", item["requests"][0]["id"], "--ticket", "AB-1")
    assert marked.returncode == 0, marked.stderr
    (item,) = json.loads(takedown("status", case_id, "--json").stdout)["items"]
    return case_id, item["requests"][0]


def test_a_request_sent_by_hand_to_an_abuse_contact_gets_its_deadline(takedown: Run) -> None:
    _, request = sent_by_hand_to_an_abuse_contact(takedown)
    assert (request["platform"], request["state"], request["ticket"]) == (
        "_abuse-contact",
        "sent",
        "AB-1",
    )
    sent, deadline = (datetime.fromisoformat(request[key]) for key in ("sent_at", "deadline_at"))
    assert deadline - sent == timedelta(hours=72)  # an abuse contact's, so it can go overdue


def test_changing_the_law_of_a_request_already_sent_is_refused_in_its_own_words(
    takedown: Run,
) -> None:
    _, request = sent_by_hand_to_an_abuse_contact(takedown)
    result = takedown("notice", "basis", request["id"], "terms")
    refused(result, f"request {request['id'][:8]} is sent; changing the legal basis is only for")
    assert "withdraw" not in result.stderr


def test_updating_only_the_notes_says_they_were_saved(takedown: Run) -> None:
    case_id = new_case(takedown)
    updated = takedown("case", "update", case_id, "--notes", "called back on Monday")
    assert updated.returncode == 0, updated.stderr
    assert "the caseworker's notes saved" in updated.stdout
    phone = takedown("case", "update", case_id, "--victim-phone", "+358 40 123 4567")
    assert "the victim's phone saved" in phone.stdout


def test_the_catalogue_is_checked_on_a_fresh_install_with_a_marked_stand_in_notifier(
    takedown: Run,
) -> None:
    unset = {"TAKEDOWN_NOTIFIER_NAME": "", "TAKEDOWN_NOTIFIER_EMAIL": ""}
    bundled = {"TAKEDOWN_PLATFORMS_DIR": str(bundled_dir("platforms"))}
    checked = takedown("platforms", "check", **unset, **bundled)
    assert checked.returncode == 0, checked.stderr
    assert "are valid" in checked.stdout
    assert "stand-in notifier" in " ".join(checked.stdout.split())
    linted = takedown("notice", "lint", **unset)
    assert linted.returncode == 0, linted.stderr
    assert "FAIL" not in linted.stdout
    # What really needs the organisation names the settings, not a platform file.
    refused(takedown("worker", **unset), "TAKEDOWN_NOTIFIER_NAME and TAKEDOWN_NOTIFIER_EMAIL must")


def test_queue_points_out_stopncii_once_per_case_for_the_platforms_that_take_part(
    takedown: Run,
) -> None:
    case_id = new_case(takedown)
    takedown("case", "add-urls", case_id, "https://hashsite.example/p/1")
    first = takedown("queue", case_id)
    assert first.returncode == 0, first.stderr
    text = " ".join(first.stdout.split())
    assert "StopNCII.org (https://stopncii.org/): Hashsite take part." in text
    assert "The image is never uploaded." in text
    takedown("case", "add-urls", case_id, "https://hashsite.example/p/2")
    again = json.loads(takedown("queue", case_id, "--json").stdout)
    assert len(again["queued"]) == 1
    assert again["hash_programme"] is None  # said once, when the case was first queued


def test_mark_removed_records_a_removal_a_check_cannot_see(takedown: Run) -> None:
    case_id, request = sent_by_hand_to_an_abuse_contact(takedown)
    wrong = takedown("mark-removed", request["id"], "--because", "hunch")
    refused(wrong, "Invalid value for '--because'")
    done = takedown("mark-removed", request["id"][:8], "--because", "platform-answered")
    assert done.returncode == 0, done.stderr
    assert "still watched in case it comes back" in " ".join(done.stdout.split())
    (item,) = json.loads(takedown("status", case_id, "--json").stdout)["items"]
    assert (item["status"], item["requests"][0]["state"]) == ("removed", "removed")
    audit = takedown("audit", case_id).stdout
    assert "removal confirmed" in audit
    refused(
        takedown("mark-removed", request["id"], "--because", "platform-answered"),
        "mark-removed is only for requests that are",
    )


def test_platforms_check_stale_lists_the_files_due_for_a_review(
    takedown: Run, tmp_path: Path
) -> None:
    directory = tmp_path / "review"
    directory.mkdir()
    for name in ("discord", "mega"):
        (directory / f"{name}.yaml").write_text(
            (bundled_dir("platforms") / f"{name}.yaml").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
    discord = directory / "discord.yaml"
    discord.write_text(
        discord.read_text(encoding="utf-8").replace(
            "checked: 2026-12-06", f"checked: {date.today().isoformat()}"
        ),
        encoding="utf-8",
    )
    mega = directory / "mega.yaml"
    mega.write_text(
        mega.read_text(encoding="utf-8").replace("checked: 2026-11-22", "checked: 2025-01-31"),
        encoding="utf-8",
    )
    fresh = takedown(
        "platforms", "check", "--stale", "100000", TAKEDOWN_PLATFORMS_DIR=str(directory)
    )
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "Every file was checked at its source in the last 100000 days." in fresh.stdout
    due = takedown("platforms", "check", "--stale", TAKEDOWN_PLATFORMS_DIR=str(directory))
    assert due.returncode == 1
    text = " ".join(due.stdout.split())
    assert "mega.yaml: last checked 2025-01-31; read https://help.mega.io/" in text
    assert "discord.yaml" not in text  # checked today
