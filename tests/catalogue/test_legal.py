"""Legal bases: chosen from the case and the platform, complete by the law they invoke, and
naming the victim only where the law requires it and the victim agreed."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.catalogue.bases import choose_basis
from takedown.catalogue.countries import EU_COUNTRIES
from takedown.catalogue.legal import Facts, legal_for, load_legal
from takedown.catalogue.platforms import catalogue_for
from takedown.catalogue.schema import Platform
from takedown.config import Settings, bundled_dir
from takedown.delivery.deliver import deliver
from takedown.errors import DataFileError, InputError
from takedown.notices.builder import Notifier, compose, notice_context
from takedown.notices.samples import sample_notices
from takedown.store.db import session_scope
from takedown.store.models import RemovalRequest
from takedown.testing.cases import TEST_ACTOR, open_test_case
from takedown.testing.environment import Configure
from takedown.testing.smtp_sink import SmtpSink

LEGAL = legal_for(bundled_dir("legal"))


def platform(*bases: str) -> Platform:
    return Platform.model_validate(
        {
            "id": "somesite",
            "name": "Somesite",
            "source": "https://somesite.example/help",
            "checked": "2026-11-22",
            "legal_bases": [*bases, "terms"],
            "domains": ["somesite.example"],
            "deadline_hours": 72,
            "channels": [{"type": "email", "to": "ncii@somesite.example"}],
        }
    )


EVERY_LAW = platform("dsa", "take_it_down", "dmca")


@pytest.mark.parametrize(
    ("facts", "bound_by", "expected"),
    [
        (Facts("FI"), EVERY_LAW, "dsa"),  # an EU victim: the DSA, citing Finnish law
        (Facts("FI", synthetic=True), EVERY_LAW, "dsa"),  # Finnish law covers AI-made images
        (Facts("DE", synthetic=True), EVERY_LAW, "take_it_down"),  # no German ground for it
        (Facts("SE", synthetic=True), platform("dsa"), "terms"),  # nor Swedish, no US law
        (Facts("DE", minor=True), EVERY_LAW, "dsa"),  # child sexual abuse material: § 184b
        (Facts("US"), EVERY_LAW, "take_it_down"),  # a US victim: US law first
        (Facts("CA"), EVERY_LAW, "take_it_down"),  # outside the EU: the DSA cannot be cited
        (Facts(None), platform("dsa"), "terms"),  # no country: no national ground to cite
        (Facts("FI"), platform(), "terms"),  # a platform bound by neither law
    ],
)
def test_the_basis_follows_the_victims_country_the_content_and_the_platform(
    facts: Facts, bound_by: Platform, expected: str
) -> None:
    assert choose_basis(facts, bound_by, LEGAL).basis == expected


def test_dmca_is_chosen_only_when_the_victim_owns_the_copyright_and_agreed_to_be_named() -> None:
    dmca_only = platform("dmca")
    assert choose_basis(Facts("US"), dmca_only, LEGAL).basis == "terms"
    assert choose_basis(Facts("US", victim_owns_copyright=True), dmca_only, LEGAL).basis == "terms"
    both = Facts("US", victim_owns_copyright=True, victim_may_be_named=True)
    assert choose_basis(both, dmca_only, LEGAL).basis == "dmca"
    child = Facts("US", minor=True, victim_owns_copyright=True, victim_may_be_named=True)
    assert choose_basis(child, dmca_only, LEGAL).basis == "terms"


def test_a_caseworkers_basis_is_refused_with_the_reason_when_it_cannot_be_used() -> None:
    with pytest.raises(InputError, match="has not agreed to be named"):
        choose_basis(Facts("US", victim_owns_copyright=True), EVERY_LAW, LEGAL, "dmca")
    with pytest.raises(InputError, match="not listed as bound by it"):
        choose_basis(Facts("US"), platform(), LEGAL, "take_it_down")
    assert choose_basis(Facts("FI"), EVERY_LAW, LEGAL, "terms").basis == "terms"


def test_every_basis_renders_in_every_language_with_every_element(environment: Settings) -> None:
    results = list(sample_notices(environment))
    assert len(results) >= 4 * 4 * 2  # four bases, four languages, trusted flagger or not
    problems = [f"{what}: {problem}" for what, problem in results if problem]
    assert problems == []


def test_a_template_that_drops_an_element_is_refused_naming_it(
    environment: Settings, configure: Configure, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(environment.templates_dir, templates)
    german = templates / "notices" / "dsa" / "de.j2"
    text = german.read_text(encoding="utf-8")
    phrase = LEGAL.bases["dsa"].elements[3].phrases["de"][0]  # (d) the good-faith statement
    lines = [line for line in text.splitlines() if phrase.split()[0] not in line.casefold()]
    german.write_text("\n".join(lines), encoding="utf-8")
    settings = configure(TAKEDOWN_TEMPLATES_DIR=str(templates))
    failures = [problem for what, problem in sample_notices(settings) if problem]
    assert failures
    assert all("dsa/de.j2 lacks (d) a statement of good-faith belief" in p for p in failures)


def test_only_a_dmca_notice_names_the_victim(environment: Settings) -> None:
    catalogue = catalogue_for(environment.platforms_dir)
    for basis, facts in [
        ("dsa", Facts("FI")),
        ("take_it_down", Facts("US")),
        ("terms", Facts("FI")),
        ("dmca", Facts("US", victim_owns_copyright=True, victim_may_be_named=True)),
    ]:
        request_id = queued_request(environment, facts, basis)
        with session_scope() as session:
            request = session.get_one(RemovalRequest, request_id)
            lawsite = catalogue.get("lawsite")
            context = notice_context(
                request.item.case.reference, request.item.url, lawsite, Notifier.of(environment)
            )
            notice = compose(request, lawsite, environment, context)
        named = "Aino Virtanen" in notice.body
        assert named == (basis == "dmca"), basis


def queued_request(settings: Settings, facts: Facts, basis: str | None = None) -> str:
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(
            session,
            minor=facts.minor,
            country=facts.country,
            synthetic=facts.synthetic,
            victim_owns_copyright=facts.victim_owns_copyright,
            victim_may_be_named=facts.victim_may_be_named,
        )
        add_links(session, case, ["https://lawsite.example/p/1"], catalogue, actor=TEST_ACTOR)
        legal = legal_for(settings.legal_dir)
        queued = queue_case(session, case, catalogue, legal, actor=TEST_ACTOR, basis=basis)
        return queued.request_ids[0]


def test_a_take_it_down_request_states_48_hours_and_gets_that_deadline(
    environment: Settings, smtp: SmtpSink
) -> None:
    request_id = queued_request(environment, Facts("US"))
    deliver(request_id, environment)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert (request.state, request.legal_basis) == ("sent", "take_it_down")
        assert request.sent_at is not None
        assert request.deadline_at == request.sent_at + timedelta(hours=48)  # not the site's 72
        reference = request.item.case.reference
    (mail,) = [m for m in smtp.to("legal@lawsite.example") if reference in m.message["Subject"]]
    body = mail.message.get_content()
    assert "within 48 hours" in body
    assert "/s/ Test Helpline" in body


@pytest.mark.usefixtures("environment")
def test_a_dsa_notice_cites_the_national_offence_and_the_trusted_flagger_status(
    smtp: SmtpSink, configure: Configure
) -> None:
    settings = configure(TAKEDOWN_TRUSTED_FLAGGER="designated by Traficom")
    request_id = queued_request(settings, Facts("FI", synthetic=True))
    deliver(request_id, settings)
    with session_scope() as session:
        reference = session.get_one(RemovalRequest, request_id).item.case.reference
    (mail,) = [m for m in smtp.to("legal@lawsite.example") if reference in m.message["Subject"]]
    body = " ".join(mail.message.get_content().split())
    assert "Article 16" in body
    assert "20 luku 7 §" in body  # the Finnish offence that covers AI-made sexual images
    assert "trusted flagger under Article 22 DSA (designated by Traficom)" in body


def test_a_notice_the_linter_refuses_fails_the_request_naming_the_element(
    environment: Settings, configure: Configure, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(environment.templates_dir, templates)
    english = templates / "notices" / "take_it_down" / "en.j2"
    english.write_text(english.read_text().replace("within 48 hours", "soon"), encoding="utf-8")
    settings = configure(TAKEDOWN_TEMPLATES_DIR=str(templates))
    request_id = queued_request(settings, Facts("US"))
    deliver(request_id, settings)
    with session_scope() as session:
        request = session.get_one(RemovalRequest, request_id)
        assert request.state == "failed"
        assert "lacks the 48-hour removal deadline" in (request.last_error or "")


def test_routes_for_a_child_are_those_of_the_victims_country() -> None:
    finnish = [route.name for route in LEGAL.routes_for("FI")]
    assert "Nettivihje (Save the Children Finland)" in finnish
    assert "Take It Down (NCMEC)" in finnish
    assert not any("Beschwerdestelle" in name for name in finnish)
    german = [route.name for route in LEGAL.routes_for("DE")]
    assert "Internet-Beschwerdestelle (eco and FSM)" in german


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        (
            "bases.yaml",
            "mystery:\n  name: X\n  elements: [{id: a, what: b}]\n",
            "mystery.[key]: Input should be 'dsa', 'take_it_down', 'dmca' or 'terms'",
        ),
        ("grounds.yaml", "- FI\n- SE\n", "Input should be a valid dictionary"),
        (
            "grounds.yaml",
            '"FI\\nSE": [{citation: 1}]\n',
            "FI\\nSE.0.citation: Input should be a valid string",  # the key, escaped
        ),
        ("routes.yaml", "routes: {}\n", "Input should be a valid list"),
    ],
)
def test_broken_legal_data_is_refused_in_one_line_naming_the_file_and_the_key(
    tmp_path: Path, file: str, text: str, message: str
) -> None:
    legal = tmp_path / "legal"
    shutil.copytree(bundled_dir("legal"), legal)
    (legal / file).write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as refused:
        legal_for(legal)
    assert str(refused.value) == f"{legal / file}: {message}"
    assert "\n" not in str(refused.value)


def test_the_coordinators_table_has_every_member_state_each_with_its_source() -> None:
    assert sorted(LEGAL.coordinators) == sorted(EU_COUNTRIES)
    for country, coordinator in LEGAL.coordinators.items():
        assert coordinator.source.startswith("https://"), country
        # No channel without words on it: where none was verified, the note says why.
        if not (coordinator.email or coordinator.complaint_form):
            assert coordinator.note, country
    # The addresses a follow-up is emailed to are those the coordinators publish for it.
    emailed = {c: k.email for c, k in LEGAL.coordinators.items() if k.email}
    assert emailed == {"IE": "usersupport@cnam.ie", "PT": "dsc@anacom.pt",
                       "SI": "info.box@akos-rs.si"}  # fmt: skip


def test_the_coordinator_is_the_victims_countrys_and_none_outside_the_eu() -> None:
    finnish = LEGAL.coordinator_of("FI")
    assert finnish is not None
    assert "Traficom" in finnish.name
    assert LEGAL.coordinator_of("US") is None
    assert LEGAL.coordinator_of(None) is None


def test_a_coordinator_outside_the_eu_or_with_a_bad_address_is_refused(tmp_path: Path) -> None:
    legal = tmp_path / "legal"
    shutil.copytree(bundled_dir("legal"), legal)
    path = legal / "coordinators.yaml"
    entry = "  name: X\n  source: https://x.example/\n  checked: 2026-12-06\n"
    path.write_text("'NO':\n" + entry, encoding="utf-8")
    with pytest.raises(DataFileError, match="'NO' is not a Member State"):
        load_legal(legal)
    path.write_text("NO:\n" + entry, encoding="utf-8")  # YAML reads it as false
    with pytest.raises(DataFileError, match="put it in quotes"):
        load_legal(legal)
    path.write_text("FI:\n" + entry + "  email: not-an-address\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"FI\.email"):
        load_legal(legal)
