"""Platform files: every bundled one validates; a broken one is refused naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from takedown.catalogue.platforms import Catalogue, load_platform
from takedown.catalogue.schema import Platform
from takedown.config import bundled_dir
from takedown.errors import DataFileError
from takedown.testing.platform_files import VALID_PLATFORM_FILE as VALID
from takedown.testing.platform_files import write_platform_file as write

EXAMPLES = sorted((bundled_dir("platforms") / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_schema_examples_validate_and_stay_on_reserved_domains(path: Path) -> None:
    platform = load_platform(path)
    assert platform.id == path.stem
    assert all(domain.endswith(".example") for domain in platform.domains)


def test_the_issue_example_is_accepted_exactly_as_written(tmp_path: Path) -> None:
    platform = load_platform(write(tmp_path, "fotogram", VALID))
    assert platform.channels[0].type == "webform"
    assert platform.channels[1].type == "email"
    assert platform.deadline_hours == 48
    assert [rule.body_contains for rule in platform.removed_when] == [
        [],
        ["This content is no longer available"],
    ]


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        (("name: Fotogram\n", ""), "name", "Field required"),
        (("deadline_hours: 48", "deadline_hours: soon"), "deadline_hours", "valid number"),
        (("deadline_hours: 48", "deadline_hours: 48\nlanguage: fi"), "language", "not permitted"),
        (("type: email", "type: fax"), "channels.1", "does not match any of the expected tags"),
        (("to: ncii@fotogram.com", "to: not-an-address"), "channels.1.email.to", "not an email"),
        (('"Report ID: ([A-Z0-9-]+)"', '"Report ID: [A-Z]+"'), "ticket_pattern", "group"),
        (('"Report ID: ([A-Z0-9-]+)"', '"Report ID: ([A-Z"'), "ticket_pattern", "regular"),
        (('"{{ item.url }}"', '"{{ item.url "'), "fields", "not a valid template"),
        (('["fotogram.com"]', '["https://fotogram.com/"]'), "domains", "not a domain name"),
        (('["fotogram.com"]', '["fotogram.com", "FOTOGRAM.com"]'), "domains", "listed twice"),
        (
            ("status: [404, 410]", "status: [404, 4100]"),
            "removed_when.0.status.1",
            "less than or equal",
        ),
        (
            ("submit_url: https://", "submit_url: ftp://"),
            "submit_url",
            "not an http:// or https://",
        ),
        (
            (
                "  - type: webform\n",
                "  - type: manual\n    url: https://fotogram.com/r\n  - type: webform\n",
            ),
            "channels.2",
            "never used for real material, because the manual channel 0 comes before it",
        ),
    ],
)
def test_a_broken_file_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], field: str, why: str
) -> None:
    path = write(tmp_path, "fotogram", VALID.replace(*change))
    with pytest.raises(DataFileError) as refused:
        load_platform(path)
    message = str(refused.value)
    assert str(path) in message
    assert field in message
    assert why in message


def test_material_no_channel_takes_is_refused(tmp_path: Path) -> None:
    text = VALID.replace("type: webform\n", "type: webform\n    for_content: real\n")
    text = text.replace("type: email\n", "type: email\n    for_content: real\n")
    with pytest.raises(DataFileError, match="channels: none takes AI-made material"):
        load_platform(write(tmp_path, "fotogram", text))


def test_invalid_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fotogram",
        VALID.replace("deadline_hours: 48", "deadline_hours: [48"),
    )
    with pytest.raises(DataFileError, match=r"fotogram.yaml \(line \d+\): not valid YAML"):
        load_platform(path)


def test_a_python_tag_is_refused_naming_file_and_line_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = f"name: !!python/object/apply:os.system ['touch {marker}']"
    path = write(tmp_path, "fotogram", VALID.replace("name: Fotogram", hostile))
    with pytest.raises(DataFileError) as refused:
        load_platform(path)
    assert str(refused.value) == (
        f"{path} (line 2): not valid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'"
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "line", "why"),
    [
        (
            ("deadline_hours: 48", "deadline_hours: 48\nname: Other"),
            5,
            "the key 'name' is given twice",
        ),
        (("deadline_hours: 48", "deadline_hours: 48\nchecked: 2026-13-45"), 5, "'2026-13-45'"),
        (("deadline_hours: 48", "deadline_hours: !!int soon"), 4, "cannot read the value 'soon'"),
        (("Fotogram", "Foto\x00gram"), 2, "the character #x0000 is not allowed"),
    ],
)
def test_what_the_loader_cannot_build_is_one_line_with_file_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, why: str
) -> None:
    path = write(tmp_path, "fotogram", VALID.replace(*change))
    with pytest.raises(DataFileError) as refused:
        load_platform(path)
    message = str(refused.value)
    assert message.startswith(f"{path} (line {line}): not valid YAML: ")
    assert why in message
    assert "\n" not in message


def test_bytes_that_are_not_utf8_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "fotogram.yaml"
    path.write_bytes(VALID.encode().replace(b"Fotogram", b"Foto\xffgram"))
    with pytest.raises(DataFileError, match=r"fotogram.yaml \(line 2\): not UTF-8 text$"):
        load_platform(path)


def test_a_file_nested_too_deeply_is_refused_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "fotogram", VALID + "x: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(DataFileError, match=r"fotogram\.yaml: not valid YAML: nested too deeply"):
        load_platform(path)


def test_a_yml_file_is_refused_rather_than_silently_skipped(tmp_path: Path) -> None:
    write(tmp_path, "fotogram", VALID)
    (tmp_path / "pixboard.yml").write_text(VALID.replace("fotogram", "pixboard"))
    with pytest.raises(DataFileError, match=r"pixboard.yml: platform files must end in .yaml"):
        Catalogue.load(tmp_path)


def test_a_file_whose_id_differs_from_its_name_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "photogram", VALID)
    with pytest.raises(DataFileError, match="id: 'fotogram' must match the file name"):
        load_platform(path)


def test_two_platforms_claiming_one_domain_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "fotogram", VALID)
    write(tmp_path, "copycat", VALID.replace("id: fotogram", "id: copycat"))
    with pytest.raises(DataFileError, match=r"'fotogram\.com' is claimed by both"):
        Catalogue.load(tmp_path)


def _platform(pid: str, domains: list[str]) -> Platform:
    return Platform.model_validate(
        {
            "id": pid,
            "name": pid,
            "domains": domains,
            "deadline_hours": 1,
            "channels": [{"type": "email", "to": f"abuse@{domains[0]}"}],
        }
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://fotogram.com/p/1", "fotogram"),
        ("https://www.FOTOGRAM.com./p/1", "fotogram"),
        ("https://cdn.eu.fotogram.com/x.jpg", "fotogram"),
        ("https://ads.fotogram.com/x", "fotoads"),
        ("https://notfotogram.com/p/1", None),
        ("https://fotogram.com.evil.example/p/1", None),
    ],
)
def test_a_link_matches_its_domain_or_a_subdomain_and_the_longest_domain_wins(
    url: str, expected: str | None
) -> None:
    catalogue = Catalogue(
        [_platform("fotogram", ["fotogram.com"]), _platform("fotoads", ["ads.fotogram.com"])]
    )
    match = catalogue.match(url)
    assert (match.id if match else None) == expected


def test_the_old_removed_when_mapping_is_refused_with_the_way_to_the_new_one(
    tmp_path: Path,
) -> None:
    old = VALID.split("removed_when:")[0] + "removed_when: {status: [404, 410]}\n"
    with pytest.raises(DataFileError) as refused:
        load_platform(write(tmp_path, "fotogram", old))
    assert "removed_when: is a list of rules now, each saying what it is evidence of" in str(
        refused.value
    )


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ("{means: gone, status: [200]}", "needs body_contains or redirected_to as well"),
        ("{means: gone}", "needs at least one of status, body_contains"),
        ("{means: removed, status: [404]}", "removed_when.0.means"),
        ("{means: gone, expires_param: ex, status: [404]}", "use it with means: expired"),
        ("{means: expired, expires_param: ex}", "needs the status an expired link"),
        ("{means: expired, expires_param: 'e x', status: [404]}", "not the name of a query"),
        ("{means: gone, body_contains: ['']}", "not a phrase of one line"),
    ],
)
def test_a_removal_rule_that_could_mislead_is_refused(tmp_path: Path, rule: str, why: str) -> None:
    text = VALID.split("removed_when:")[0] + f"removed_when:\n  - {rule}\n"
    with pytest.raises(DataFileError, match=why):
        load_platform(write(tmp_path, "fotogram", text))


ROUTED = """\
id: routed
name: Routed
legal_bases: [dsa, take_it_down, terms]
domains: ["routed.example"]
deadline_hours: 48
channels:
  - {type: manual, for_bases: [dsa], url: "https://routed.example/dsa"}
  - {type: manual, for_bases: [take_it_down], for_countries: [US], url: "https://routed.example/tida"}
  - {type: manual, for_bases: [terms], url: "https://routed.example/report"}
"""


def test_channels_are_chosen_by_the_notices_basis_and_the_victims_country(
    tmp_path: Path,
) -> None:
    routed = load_platform(write(tmp_path, "routed", ROUTED))

    def order(basis: str, country: str | None) -> list[int]:
        return routed.channel_order(synthetic=False, basis=basis, country=country)

    assert order("dsa", "FI") == [0]
    assert order("take_it_down", "US") == [1]
    assert order("take_it_down", "CA") == []  # the form is the US's only
    assert order("terms", "CA") == [2]
    assert order("terms", None) == [2]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        # No channel for the platform's own policy in some country: refused.
        (("for_bases: [terms]", "for_bases: [terms], for_countries: [EU]"),
         "channels: none takes real material under terms for a victim in US"),
        (("for_countries: [US]", "for_countries: [XX]"), "'XX' is not an ISO 3166 country"),
        (("legal_bases: [dsa, take_it_down, terms]", "legal_bases: [take_it_down, terms]"),
         "channels.0.for_bases: dsa is not one of this platform's legal_bases"),
        (("for_bases: [take_it_down]", "for_bases: [terms]"),
         "channels.2: never used for real material under terms for a victim in US"),
    ],
)  # fmt: skip
def test_routes_that_leave_a_request_without_a_channel_are_refused(
    tmp_path: Path, change: tuple[str, str], why: str
) -> None:
    with pytest.raises(DataFileError, match=why):
        load_platform(write(tmp_path, "routed", ROUTED.replace(*change)))


def test_a_basis_no_channel_takes_is_refused(tmp_path: Path) -> None:
    text = ROUTED.replace("for_bases: [dsa]", "for_bases: [terms]").replace(
        '  - {type: manual, for_bases: [terms], url: "https://routed.example/report"}\n', ""
    )
    with pytest.raises(
        DataFileError, match="legal_bases: no channel takes real material under dsa"
    ):
        load_platform(write(tmp_path, "routed", text))
