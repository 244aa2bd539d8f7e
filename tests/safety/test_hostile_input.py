"""Hostile input, generated (hypothesis): every bad value a caseworker types gets one line
naming the field, never a traceback, and changes nothing stored; every good value is stored
exactly. Platform files mutated every which way are refused naming the file and the field,
and the other files still load.

The commands run in-process (click's CliRunner) against a real database, SQLite and
PostgreSQL: a subprocess costs about 2 s of imports, an in-process command about 15 ms.
Examples are derandomized and no example database is kept, so CI sees the same inputs on
every run; the whole file stays well under a minute.
"""

from __future__ import annotations

import ipaddress
import json
import string
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pycountry
import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from takedown.catalogue.links import normalise_link, refuse_private_host
from takedown.catalogue.platforms import Catalogue, load_platform
from takedown.catalogue.schema import LANGUAGES
from takedown.cli import main
from takedown.config import bundled_dir
from takedown.errors import DataFileError, InputError
from takedown.safety.crypto import generate_key
from takedown.safety.netguard import PrivateTargetError, is_public, new_session
from takedown.safety.safetext import printable
from takedown.store.db import migrate, session_scope
from takedown.store.models import Alert, Case
from takedown.testing.cases import seed
from takedown.testing.databases import snapshot
from takedown.testing.environment import local_environment, overridden_environment
from takedown.testing.platform_files import VALID_PLATFORM_FILE as VALID

HOSTILE = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FEWER = settings(HOSTILE, max_examples=25)

# ------------------------------------------------------------------ strategies

# Everything that must never reach a header or the database: C0 and C1 controls (NUL, CR,
# LF, ESC, NEL ...), DEL, line and paragraph separators, and lone surrogates (bytes that
# were not UTF-8, as Python hands them on from a command line).
breaking = st.characters(categories=["Cc", "Zl", "Zp", "Cs"])
injections = st.sampled_from(["\r\nBcc: evil@attacker.example", "\nX: y", "\x00", "\x1b[2J"])


def with_hostile(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A value with a breaking character (or a header injection) inside it. Surrounding
    white space, line breaks included, is trimmed from what a caseworker types (a pasted
    link ends with one): what is inside is what must be refused."""
    return st.builds(
        lambda value, at, bad: value[: 1 + at % (len(value) - 1)] + bad
        + value[1 + at % (len(value) - 1) :],
        text.filter(lambda value: len(value) >= 2 and value == value.strip()),
        st.integers(min_value=0, max_value=60),
        st.one_of(breaking, injections),
    )  # fmt: skip


printable_text = st.text(
    st.characters(exclude_categories=["Cc", "Zl", "Zp", "Cs"]), min_size=1, max_size=40
)
# Invisible on screen: spaces, zero-width and other format characters, Hangul fillers.
INVISIBLE = " \u00a0\u200b\u200c\u200d\u2060\ufeff\u202a\u3164\u2800\u115f"
names = printable_text.filter(
    lambda name: any(
        ch not in INVISIBLE and not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in name
    )
)
domains = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True), min_size=1,
             max_size=3),
    st.from_regex(r"[a-z]{2,6}", fullmatch=True),
)  # fmt: skip
emails = st.emails(domains=domains)

bad_names = st.one_of(
    with_hostile(printable_text),
    st.text(INVISIBLE, max_size=5),
    st.text("x", min_size=501, max_size=600),
)
bad_emails = st.one_of(
    with_hostile(emails),
    st.text(max_size=30).filter(lambda text: "@" not in text),
    st.builds("{0},{1}".format, emails, emails),
    st.builds("Someone <{0}>".format, emails),
    st.builds("{0} {1}".format, emails, emails),
    st.sampled_from(["a@b", "@example.org", "a@@example.org", "a..b@example.org", ""]),
)
bad_phones = st.one_of(
    with_hostile(st.sampled_from(["+358 40 123 4567", "040-1234567"])),
    st.text(string.ascii_letters, min_size=1, max_size=12),
    st.text(string.digits, min_size=40, max_size=50),
)
# Notes may run over several lines (line feeds) and hold tabs; every other control
# character and every other kind of line or record separator is refused in them.
bad_notes = st.one_of(
    st.builds("{0}{1}{0}".format, names, breaking.filter(lambda char: char not in "\t\n")),
    st.builds("{0}{1}{0}".format, names, st.sampled_from("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")),
    st.integers(min_value=10_001, max_value=10_100).map("n".__mul__),
)  # fmt: skip
bad_languages = st.text(max_size=10).filter(lambda language: language not in LANGUAGES)
bad_countries = st.one_of(
    with_hostile(st.sampled_from(["FI", "DE", "Suomi"])),
    st.text("!#$%&*+/<=>?^_~", min_size=1, max_size=6),
)
bad_keys = st.one_of(
    st.text(max_size=40),
    with_hostile(st.text(string.hexdigits, max_size=32)),
    st.text("%_*", min_size=1, max_size=8),
)

SCHEMES = ["ftp", "file", "javascript", "data", "gopher", "mailto"]
good_links = st.builds(
    lambda domain, path: f"https://{domain}{path}",
    st.sampled_from(["formsite.example", "Mailsite.EXAMPLE", "www.handsite.example"]),
    st.text(string.ascii_letters + string.digits + "-._~/", max_size=30).map("/p/{}".format),
)
bad_links = st.one_of(
    with_hostile(good_links),
    st.text(max_size=30).filter(lambda text: "://" not in text),
    st.builds("{0}://formsite.example/{1}".format, st.sampled_from(SCHEMES), st.text(max_size=5)),
    st.builds("https://user:{0}@formsite.example/".format, st.text(string.ascii_letters)),
    st.integers(min_value=65536).map("https://formsite.example:{}/p".format),
    st.from_regex(r"[a-k]{1,10}", fullmatch=True).map("https://{}/p".format),
    st.integers(min_value=4097, max_value=6000).map(
        lambda n: "https://formsite.example/" + "a" * n
    ),
)

# ------------------------------------------------------------------ the command line

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"
Run = Callable[..., Result]


@pytest.fixture(params=["sqlite", "postgresql"])
def takedown(
    request: pytest.FixtureRequest, tmp_path: Path, test_environment: Callable[..., dict[str, str]]
) -> Iterator[Run]:
    """The command line, in-process, on a fresh database (SQLite) or the tests' PostgreSQL
    database, which holds other tests' rows too: a snapshot is taken, not a count."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hostile.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    variables = test_environment(url, UNREACHABLE_BROKER, "hostile-")
    runner = CliRunner()
    with overridden_environment(variables):
        migrate()
        yield lambda *args: runner.invoke(main, list(args))


def refused_in_one_line(result: Result, field: str) -> str:
    """The command failed with exactly one line, naming ``field``, and no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    # CliRunner keeps an uncaught exception here instead of printing its traceback.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ")
    assert field in line, line
    assert len(line) < 400, line
    return line


def test_bad_case_fields_are_refused_naming_the_field_and_nothing_is_stored(
    takedown: Run,
) -> None:
    good = {
        "--victim-name": "Aino Virtanen",
        "--victim-email": "aino@example.org",
        "--language": "fi",
        "--country": "FI",
    }

    @HOSTILE
    @given(
        st.one_of(
            st.tuples(st.just("--victim-name"), bad_names),
            st.tuples(st.just("--victim-email"), bad_emails),
            st.tuples(st.just("--language"), bad_languages),
            st.tuples(st.just("--country"), bad_countries),
            st.tuples(st.just("--victim-phone"), bad_phones),
            st.tuples(st.just("--notes"), bad_notes),
        )
    )
    def check(bad: tuple[str, str]) -> None:
        field, value = bad
        before = snapshot()
        options = good | {field: value}
        result = takedown("case", "new", *(f"{name}={text}" for name, text in options.items()))
        refused_in_one_line(result, f"Error: {field}: ")
        assert snapshot() == before

    check()


def test_good_case_fields_are_stored_exactly(takedown: Run) -> None:
    countries = st.sampled_from(list(pycountry.countries)).flatmap(
        lambda country: st.sampled_from([country.alpha_2, country.alpha_3.lower()]).map(
            lambda code: (code, country.alpha_2)
        )
    )

    @HOSTILE
    @given(names, emails, st.sampled_from(LANGUAGES), countries, st.booleans(), st.booleans())
    def check(
        name: str, email: str, language: str, country: tuple[str, str], minor: bool, ai: bool
    ) -> None:
        given_country, expected_country = country
        options = [f"--victim-name={name}", f"--victim-email={email}", f"--language={language}"]
        options += [f"--country={given_country}", "--json"]
        options += ["--minor"] * minor + ["--synthetic"] * ai
        result = takedown("case", "new", *options)
        assert result.exit_code == 0, result.output
        opened = json.loads(result.stdout)
        with session_scope() as session:
            case = session.get_one(Case, opened["id"])
            stored = (case.victim_name, case.victim_email, case.language, case.country)
            assert stored == (name.strip(), email, language, expected_country)
            assert (case.minor, case.synthetic, case.reference) == (minor, ai, opened["reference"])

    check()


def test_a_batch_of_links_with_one_bad_link_is_refused_naming_it_and_none_is_stored(
    takedown: Run, platforms_dir: Path
) -> None:
    seeded = seed(platforms_dir)

    @HOSTILE
    @given(st.lists(good_links, max_size=3), st.data())
    def check(links: list[str], data: st.DataObject) -> None:
        bad = data.draw(bad_links)
        position = data.draw(st.integers(min_value=0, max_value=len(links)))
        links = [*links[:position], bad, *links[position:]]
        before = snapshot()
        result = takedown("case", "add-urls", seeded["case"], *links)
        refused_in_one_line(result, f"Error: URL {position + 1} (")
        assert snapshot() == before

    check()


def test_good_links_are_stored_as_normalised_and_matched_to_their_platform(
    takedown: Run, platforms_dir: Path
) -> None:
    seeded = seed(platforms_dir)
    platform_of = {"formsite.example": "formsite", "mailsite.example": "mailsite"}
    platform_of["www.handsite.example"] = "handsite"

    @FEWER
    @given(st.lists(good_links, min_size=1, max_size=4, unique_by=str.lower))
    def check(links: list[str]) -> None:
        result = takedown("case", "add-urls", seeded["case"], *links, "--json")
        assert result.exit_code == 0, result.output
        status = json.loads(takedown("status", seeded["case"], "--json").stdout)
        stored = {item["url"]: item["platform"] for item in status["items"]}
        for link in links:
            scheme_and_host, path = link.split("/p/", 1)
            expected = scheme_and_host.lower() + "/p/" + path
            assert stored[expected] == platform_of[expected.split("/")[2]]

    check()


def test_an_unknown_or_hostile_id_is_not_found_in_one_line_and_nothing_changes(
    takedown: Run, platforms_dir: Path
) -> None:
    seeded = seed(platforms_dir)
    known = [seeded["case"], seeded["reference"], seeded["awaiting"], *seeded["requests"]]
    commands = [
        (("status", "{}"), "no case with the id or reference"),
        (("case", "add-urls", "{}", "https://formsite.example/p/1"), "no case with the id"),
        (("case", "update", "{}", "--no-notify"), "no case with the id"),
        (("check", "--case", "{}"), "no case with the id"),
        (("queue", "{}"), "no case with the id"),
        (("mark-sent", "{}"), "no removal request with the id"),
        (("package", "{}"), "no removal request with the id"),
        (("retry", "{}"), "no removal request with the id"),
        (("withdraw", "{}"), "no removal request with the id"),
        (("notice", "preview", "{}"), "no removal request with the id"),
        (("notice", "basis", "{}", "dsa"), "no removal request with the id"),
        (("contact", "confirm", "{}"), "no removal request with the id"),
        (("case", "close", "{}"), "no case with the id"),
        (("case", "reopen", "{}"), "no case with the id"),
        (("case", "erase", "{}", "--yes"), "no case with the id"),
        (("audit", "{}"), "no case with the id"),
    ]

    @HOSTILE
    @given(st.sampled_from(commands), bad_keys)
    def check(command: tuple[tuple[str, ...], str], key: str) -> None:
        prefix = len(key) >= 6 and any(k.startswith(key) for k in known)
        assume(not prefix and key not in known and key.upper() not in known)
        template, message = command
        before = snapshot()
        result = takedown(*(key if part == "{}" else part for part in template))
        refused_in_one_line(result, message)
        assert snapshot() == before

    check()


def test_bad_option_values_on_real_cases_and_requests_change_nothing(
    takedown: Run, platforms_dir: Path
) -> None:
    seeded = seed(platforms_dir)
    request = seeded["requests"][0]

    @HOSTILE
    @given(
        st.one_of(
            st.tuples(st.just(("mark-sent", request, "--ticket")), with_hostile(names)),
            st.tuples(st.just(("contact", "confirm", seeded["awaiting"], "--to")), bad_emails),
            st.tuples(st.just(("case", "update", seeded["case"], "--country")), bad_countries),
            st.tuples(st.just(("alerts", "--ack")), st.integers().map(str)),
        )
    )
    def check(bad: tuple[tuple[str, ...], str]) -> None:
        command, value = bad
        with session_scope() as session:
            assume(value not in {str(alert) for alert in session.scalars(select(Alert.id))})
        before = snapshot()
        result = takedown(*command[:-1], f"{command[-1]}={value}")
        refused_in_one_line(result, f"Error: {command[-1]}: ")
        assert snapshot() == before

    check()


# ------------------------------------------------------------------ links to addresses

# Spellings of loopback and metadata addresses that a resolver accepts (octal, hex, short).
ODD_SPELLINGS = ["0177.0.0.1", "127.1", "0x7f.0.0.1", "169.254.169.254",
                 "[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]", "[fe80::1%25eth0]",
                 "[::1]", "0.0.0.0", "[::]"]  # fmt: skip


def _host(address: ipaddress.IPv4Address | ipaddress.IPv6Address, zone: str) -> str:
    if address.version == 4:
        return str(address)
    return f"[{address}%25{zone}]" if zone else f"[{address}]"  # %25: "%" in a URL


@HOSTILE
@given(st.ip_addresses(), st.sampled_from(["", "", "eth0", "lo", "1"]))
def test_a_link_to_an_address_python_does_not_call_global_is_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, zone: str
) -> None:
    # Numeric hosts only: the check resolves nothing over the network for them.
    zone = zone if address.version == 6 else ""
    link = f"https://{_host(address, zone)}/p/1"
    assume(zone or not address.is_global or address.is_multicast)
    with pytest.raises(InputError, match="not a public address; refused"):
        refuse_private_host(normalise_link(link))


# Every IPv4 range that is not one host on the public internet (RFC 6890's special-purpose
# registry, with 100.64.0.0/10, where some clouds serve instance metadata).
NON_PUBLIC_IPV4 = [ipaddress.IPv4Network(block) for block in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)]  # fmt: skip
# Blocks held by public networks (a CDN, a DNS resolver, a university).
PUBLIC_IPV4 = [ipaddress.IPv4Network(block) for block in (
    "1.1.1.0/24", "8.8.8.0/24", "9.9.9.0/24", "130.233.0.0/16", "185.199.108.0/22",
)]  # fmt: skip


# IPv6 blocks of public networks (a search engine, a CDN, a European ISP), none of which
# carries an IPv4 address.
PUBLIC_IPV6 = [ipaddress.IPv6Network(block) for block in (
    "2001:4860::/32", "2606:4700::/32", "2a00:1450::/32", "2a01:4f8::/32",
)]  # fmt: skip


@HOSTILE
@given(st.sampled_from(PUBLIC_IPV6).flatmap(
    lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: net[i])
))  # fmt: skip
def test_a_public_ipv6_address_is_accepted(v6: ipaddress.IPv6Address) -> None:
    assert is_public(v6)
    refuse_private_host(normalise_link(f"http://[{v6}]/p/1"))


def _in(networks: list[ipaddress.IPv4Network]) -> st.SearchStrategy[ipaddress.IPv4Address]:
    return st.sampled_from(networks).flatmap(
        lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: net[i])
    )


def _encodings(v4: ipaddress.IPv4Address) -> dict[str, ipaddress.IPv6Address]:
    """The IPv6 addresses that carry ``v4``: mapped, compatible, NAT64, 6to4, Teredo."""
    bits = int(v4)
    teredo_server = int(ipaddress.IPv4Address("65.54.227.120"))
    return {
        "IPv4-mapped": ipaddress.IPv6Address((0xFFFF << 32) | bits),
        "IPv4-compatible": ipaddress.IPv6Address(bits),
        "NAT64": ipaddress.IPv6Address((0x64FF9B << 96) | bits),
        "local NAT64": ipaddress.IPv6Address((0x64FF9B0001 << 80) | bits),
        "6to4": ipaddress.IPv6Address((0x2002 << 112) | (bits << 80) | 1),
        # 2001:0:server:flags:port:client, the client's port and address inverted (RFC 4380).
        "Teredo": ipaddress.IPv6Address(
            (0x20010000 << 96) | (teredo_server << 64) | (0xFFFF << 16 << 32) | (bits ^ 0xFFFFFFFF)
        ),
    }


@HOSTILE
@given(_in(NON_PUBLIC_IPV4))
def test_a_non_public_ipv4_address_is_refused_in_every_encoding(
    v4: ipaddress.IPv4Address,
) -> None:
    every: dict[str, ipaddress.IPv4Address | ipaddress.IPv6Address] = {"IPv4": v4}
    for family, v6 in (every | _encodings(v4)).items():
        with pytest.raises(InputError, match="not a public address; refused"):
            refuse_private_host(normalise_link(f"http://{_host(v6, '')}/p/1"))
        # And at connect time, by the transport every outbound request goes through.
        with pytest.raises(PrivateTargetError, match="not a public address; refused"):
            new_session(allow_private=False).get(f"http://{_host(v6, '')}/p/1", timeout=1)
        assert not is_public(v6), family


@HOSTILE
@given(_in(PUBLIC_IPV4))
def test_a_public_ipv4_address_is_accepted_as_itself_and_when_mapped_or_translated(
    v4: ipaddress.IPv4Address,
) -> None:
    encodings = _encodings(v4)
    # The compatible form is deprecated and never routed: refused whatever it carries.
    assert not is_public(encodings.pop("IPv4-compatible"))
    every: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [v4, *encodings.values()]
    for v6 in every:
        refuse_private_host(normalise_link(f"http://{_host(v6, '')}/p/1"))


@pytest.mark.parametrize("host", ODD_SPELLINGS)
def test_odd_spellings_of_non_public_addresses_are_refused(host: str) -> None:
    with pytest.raises(InputError, match="not a public address; refused"):
        refuse_private_host(normalise_link(f"http://{host}/latest/meta-data/"))


# ------------------------------------------------------------------ platform files

BASE = yaml.safe_load(VALID)
TOP_LEVEL = [*BASE, "source", "checked", "kind", "legal_bases", "escalation", "notice_language"]
CHANNEL_KEYS = ["type", "submit_url", "form_url", "fields", "success", "to", "for_content"]


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A named function: hypothesis reads its source to see that it uses ``inner``, and the
    # source of a lambda spread over several lines cannot always be found.
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    _nested,
    max_leaves=6,
)
regexes = st.text("()[]{}*+?\\^$|.aZ0-", max_size=12)
templates = st.text("{}%#() ab.|_-'", max_size=24)
TAGS = ["!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!binary",
        "!!set", "!!omap", "!foo", "!!timestamp", "!!int", "!!float", "!!bool", "!!str",
        "!!map", "!!seq", "&anchor", "*nowhere"]  # fmt: skip


def _dumped(data: Any) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()


def _set_channel(index: int, key: str, value: Any) -> dict[str, Any]:
    """The valid file with one key of a channel changed: 0 is the web form, 1 the email."""
    data: dict[str, Any] = yaml.safe_load(VALID)
    data["channels"][index][key] = value
    return data


# Each mutation: the bytes of fotogram.yaml, and the field an error must name (None: the
# file is broken below the level of fields, and the error names its line instead).
Mutation = tuple[bytes, str | None]
mutations: st.SearchStrategy[Mutation] = st.one_of(
    st.sampled_from(["id", "name", "domains", "deadline_hours", "channels"]).map(
        lambda key: (_dumped({k: v for k, v in BASE.items() if k != key}), key)
    ),
    st.tuples(st.sampled_from(TOP_LEVEL), anything).map(
        lambda change: (_dumped(BASE | {change[0]: change[1]}), change[0])
    ),
    st.text(min_size=1, max_size=30).filter(lambda key: key not in TOP_LEVEL).map(
        lambda key: (_dumped(BASE | {key: 1}), printable(key, 80))
    ),
    # A rule across channels (which takes AI-made material) names "channels" alone.
    st.tuples(st.sampled_from([0, 1]), st.sampled_from(CHANNEL_KEYS), anything).map(
        lambda change: (_dumped(_set_channel(*change)), "channels")
    ),
    st.tuples(st.sampled_from([0, 1]), st.text(max_size=40)).map(
        lambda change: (_dumped(_set_channel(change[0], "type", change[1])), "channels")
    ),
    st.tuples(st.sampled_from(["submit_url", "form_url"]), st.text(max_size=60)).map(
        lambda change: (_dumped(_set_channel(0, *change)), "channels.0")
    ),
    regexes.map(
        lambda pattern: (
            _dumped(_set_channel(0, "success", {"status": [200], "ticket_pattern": pattern})),
            "channels.0.webform.success.ticket_pattern",
        )
    ),
    st.dictionaries(st.text(max_size=10), templates, min_size=1, max_size=3).map(
        lambda fields: (_dumped(_set_channel(0, "fields", fields)), "channels.0")
    ),
    with_hostile(st.just("ncii@fotogram.com")).map(
        lambda to: (_dumped(_set_channel(1, "to", to)), "channels.1.email.to")
    ),
    st.sampled_from(["name", "domains", "deadline_hours", "id"]).map(
        lambda key: (_dumped(BASE | {key: "x" * 200_000}), key)
    ),
    st.tuples(st.sampled_from(TAGS), st.sampled_from(["name: Fotogram", "deadline_hours: 48"]))
    .map(lambda change: (VALID.replace(change[1], change[1].replace(": ", f": {change[0]} "))
                         .encode(), None)),
    st.tuples(st.binary(min_size=1, max_size=4), st.integers(0, len(VALID))).map(
        lambda change: (VALID.encode()[: change[1]] + change[0] + VALID.encode()[change[1]:],
                        None)
    ),
    st.integers(0, len(VALID)).map(lambda at: (VALID.encode()[:at], None)),
    # A domain another file claims: the file is valid alone, the catalogue is not.
    st.sampled_from(["chatter.example", "pixboard.example"]).map(
        lambda domain: (_dumped(BASE | {"domains": ["fotogram.com", domain]}), "domains")
    ),
)  # fmt: skip


def _refusal_names_file_and_field(error: DataFileError, path: Path, field: str | None) -> None:
    message = str(error)
    assert "\n" not in message, message
    assert "\r" not in message, message
    assert len(message) < 800, message
    assert message.startswith(str(path)), message
    if field is not None and not message.startswith(f"{path} (line "):
        assert message.startswith(f"{path}: {field}"), (field, message)


def _refusal(load: Callable[[], object]) -> DataFileError | None:
    try:
        load()
    except DataFileError as error:
        return error
    return None


def _platforms(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A directory with two valid example files, the other files of each example."""
    directory = tmp_path / "platforms"
    directory.mkdir(exist_ok=True)
    others = []
    for name in ("chatter", "pixboard"):
        source = bundled_dir("platforms") / "examples" / f"{name}.yaml"
        others.append(directory / f"{name}.yaml")
        others[-1].write_bytes(source.read_bytes())
    return directory, others


def test_a_mutated_platform_file_is_refused_naming_file_and_field_and_the_others_load(
    tmp_path: Path,
) -> None:
    directory, others = _platforms(tmp_path)
    path = directory / "fotogram.yaml"

    @settings(HOSTILE, max_examples=200)
    @given(mutations)
    def check(mutation: Mutation) -> None:
        content, field = mutation
        path.write_bytes(content)
        refusal = _refusal(lambda: load_platform(path))
        if refusal is not None:
            _refusal_names_file_and_field(refusal, path, field)
        # Any other exception escapes _refusal and fails the test: that is a traceback.
        in_catalogue = _refusal(lambda: Catalogue.load(directory))
        if refusal is not None:
            assert str(in_catalogue) == str(refusal)
        elif in_catalogue is not None:  # a domain another file claims, naming both files
            assert str(in_catalogue).startswith(f"{directory}/"), str(in_catalogue)
            assert ".yaml: domains: " in str(in_catalogue), str(in_catalogue)
            assert "fotogram.yaml" in str(in_catalogue)
        for other in others:
            assert load_platform(other).id == other.stem

    check()


def test_platforms_check_reports_a_mutated_file_in_one_line(tmp_path: Path) -> None:
    directory, _others = _platforms(tmp_path)
    path = directory / "fotogram.yaml"
    variables = local_environment(
        database_url=f"sqlite:///{tmp_path / 'check.db'}",
        broker_url=UNREACHABLE_BROKER,
        platforms_dir=directory,
        secret_key=generate_key(),
    )
    runner = CliRunner()

    @FEWER
    @given(mutations)
    def check(mutation: Mutation) -> None:
        content, field = mutation
        path.write_bytes(content)
        result = runner.invoke(main, ["platforms", "check"])
        if result.exit_code == 0:
            load_platform(path)  # it really is a valid file
            return
        line = refused_in_one_line(result, "fotogram.yaml")
        if not line.startswith(f"Error: {path}"):  # a domain another file claims
            assert line.startswith(f"Error: {directory}/"), line
            assert ".yaml: domains: " in line, line
            return
        if field is None or line.startswith(f"Error: {path} (line "):
            return
        if _refusal(lambda: load_platform(path)) is not None:
            assert line.startswith(f"Error: {path}: {field}"), line
        else:  # valid, but one of its templates cannot be rendered: it names that field
            assert "field" in line, line

    with overridden_environment(variables):
        check()
