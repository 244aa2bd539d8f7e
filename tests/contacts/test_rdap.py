"""Finding the hosting provider's and the registrar's abuse contacts over RDAP, against a
local RDAP service on loopback serving answers recorded from the regional registries."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from takedown.contacts.rdap import Contacts, find_contacts, registrable_domain
from takedown.contacts.rdap_objects import Contact
from takedown.safety.netguard import new_session
from takedown.testing.loopback import Reply
from takedown.testing.rdap_server import RdapServer


def lookup(server: RdapServer, host: str, *addresses: str, **options: Any) -> Contacts:
    """find_contacts as a worker calls it, with DNS answered by the test."""
    return find_contacts(
        host,
        bootstrap_url=server.bootstrap_url,
        session=new_session(allow_private=True),
        resolve=lambda _host: list(addresses),
        **options,
    )


def test_the_networks_abuse_role_and_the_registrars_nested_abuse_entity_are_found(
    rdap: RdapServer,
) -> None:
    contacts = lookup(rdap, "cdn.files.example.net", "74.125.225.229")

    assert contacts.problems == []
    assert contacts.hosting == Contact(
        email="arin-contact@google.com",
        organisation="Google Inc.",
        source=rdap.registry_url("arin") + "ip/74.125.225.229",
        how="abuse role",
    )
    assert contacts.registrar == Contact(
        email="abuse@registrar.example",
        organisation="Example Registrar, Inc.",
        source=rdap.registry_url("verisign") + "domain/example.net",
        how="abuse role",
    )


def test_an_abuse_entity_listed_only_by_handle_is_fetched_by_its_handle(
    rdap: RdapServer, ip_answers: dict[str, Any]
) -> None:
    network = copy.deepcopy(ip_answers["74.125.225.229"])
    (holder,) = network["entities"]
    (abuse,) = holder["entities"]
    assert abuse["handle"] == "ZG39-ARIN"
    assert "abuse" in abuse["roles"]
    del abuse["vcardArray"]  # as RIPE lists nested contacts: a handle and roles only
    rdap.add_ip("74.125.225.229", network)

    contacts = lookup(rdap, "cdn.files.example.net", "74.125.225.229")

    assert contacts.hosting == Contact(
        email="arin-contact@google.com",
        organisation="Google Inc.",
        source=rdap.registry_url("arin") + "entity/ZG39-ARIN",
        how="abuse entity followed by handle",
    )
    assert len(rdap.requests_to("/arin/entity/ZG39-ARIN")) == 1


def test_an_abuse_address_given_only_in_remarks_is_used(rdap: RdapServer) -> None:
    contacts = lookup(rdap, "cdn.files.example.net", "196.11.240.215")

    assert contacts.hosting is not None
    assert contacts.hosting.email == "abuse@mtnbusiness.co.za"
    assert contacts.hosting.how == "remarks text"
    assert contacts.hosting.source == rdap.registry_url("afrinic") + "ip/196.11.240.215"


def test_of_several_emails_on_one_card_the_abuse_one_wins_else_the_first_listed(
    rdap: RdapServer,
) -> None:
    # RIPE's card for BT lists three addresses, none named abuse; the registrar's abuse card
    # for example.org lists a support address first.
    contacts = lookup(rdap, "media.example.org", "62.239.237.1")

    assert contacts.hosting is not None
    assert contacts.hosting.email == "zzdnsr@bt.com"
    assert contacts.hosting.organisation == "BT Corporate Registry"
    assert contacts.registrar is not None
    assert contacts.registrar.email == "abuse@second-registrar.example"
    assert contacts.registrar.organisation == "Second Registrar Ltd"
    assert lookup(rdap, "media.example.org", "62.239.237.1", cache_hours=0) == contacts


def test_without_any_abuse_contact_another_role_is_given_and_said_to_be_one(
    rdap: RdapServer,
) -> None:
    contacts = lookup(rdap, "www.example.com", "2001:240:10c:1::ca20:9d1d")

    assert contacts.hosting is not None
    assert contacts.hosting.email == "hostmaster@nic.ad.jp"
    assert contacts.hosting.how == "not an abuse role: technical, administrative"
    # Never the registrant's address: it may be whoever posted the content.
    assert contacts.registrar is not None
    assert contacts.registrar.email == "domains@third-registrar.example"
    assert contacts.registrar.how == "not an abuse role: registrar"


def test_an_answer_naming_nobody_to_write_to_is_a_problem(rdap: RdapServer) -> None:
    contacts = lookup(rdap, "cdn.files.example.net", "2001:43f8:7b0::")

    assert contacts.hosting is None
    assert contacts.problems == [
        "the RDAP answer for the address 2001:43f8:7b0:: names no contact to write to"
    ]
    assert contacts.registrar is not None


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (Reply(503, "down for maintenance"), "answered HTTP 503"),
        (Reply(429, '{"errorCode": 429}'), "answered HTTP 429 (too many requests)"),
        (Reply(404, '{"errorCode": 404}'), "has no record of it (HTTP 404)"),
        (Reply(200, "<html>Service unavailable</html>"), "answered something that is not JSON"),
        (Reply(200, '["not", "an object"]'), "answered JSON that is not an RDAP object"),
        (Reply(200, "{}", delay=1.0), "could not be reached: no answer within the read time-out"),
    ],
)
def test_a_failing_registry_is_a_problem_and_the_registrar_is_still_found(
    rdap: RdapServer, reply: Reply, problem: str
) -> None:
    rdap.script("/ripe/ip/62.239.237.1", reply)

    contacts = lookup(rdap, "cdn.files.example.net", "62.239.237.1", timeout=(2.0, 0.3))

    assert contacts.hosting is None
    assert contacts.problems == [f"the RDAP server for 62.239.237.1 {problem}"]
    assert contacts.registrar is not None
    assert contacts.registrar.email == "abuse@registrar.example"


def test_a_failure_is_not_cached_so_the_next_lookup_asks_again(
    rdap: RdapServer, ip_answers: dict[str, Any]
) -> None:
    path = "/ripe/ip/62.239.237.1"
    rdap.script(path, Reply(503, "down"), Reply(200, json.dumps(ip_answers["62.239.237.1"])))

    first = lookup(rdap, "cdn.files.example.net", "62.239.237.1")
    second = lookup(rdap, "cdn.files.example.net", "62.239.237.1")

    assert first.hosting is None
    assert second.hosting is not None
    assert second.hosting.email == "zzdnsr@bt.com"
    assert len(rdap.requests_to(path)) == 2


def test_a_second_lookup_within_cache_hours_asks_no_registry(rdap: RdapServer) -> None:
    first = lookup(rdap, "cdn.files.example.net", "74.125.225.229")
    asked = len(rdap.received)

    again = lookup(rdap, "other.example.net", "74.125.225.229", cache_hours=24)

    assert again == first
    assert len(rdap.received) == asked
    lookup(rdap, "cdn.files.example.net", "74.125.225.229", cache_hours=0)
    assert len(rdap.requests_to("/arin/ip/74.125.225.229")) == 2


def test_a_host_that_does_not_resolve_still_gets_its_registrar(rdap: RdapServer) -> None:
    contacts = lookup(rdap, "gone.example.net")

    assert contacts.hosting is None
    assert contacts.problems == ["the link's host does not resolve"]
    assert contacts.registrar is not None
    assert contacts.registrar.email == "abuse@registrar.example"


def test_an_address_as_host_has_a_provider_but_no_registrar(rdap: RdapServer) -> None:
    contacts = lookup(rdap, "74.125.225.229")

    assert contacts.hosting is not None
    assert contacts.registrar is None
    assert contacts.problems == [
        "the link's host is an IP address, so there is no registrar to ask"
    ]


def test_the_guarded_session_refuses_a_registry_on_loopback_and_sends_nothing(
    rdap: RdapServer,
) -> None:
    contacts = find_contacts(
        "cdn.files.example.net",
        bootstrap_url=rdap.bootstrap_url,
        session=new_session(allow_private=False),
        resolve=lambda _host: ["74.125.225.229"],
    )

    assert contacts.hosting is None
    assert contacts.registrar is None
    assert len(contacts.problems) == 2
    assert all("not a public address; refused" in problem for problem in contacts.problems)
    assert rdap.received == []


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("cdn.files.example.net", "example.net"),
        ("forums.bbc.co.uk", "bbc.co.uk"),
        ("someone.github.io", "github.io"),  # the registrar holds github.io
        ("Bücher.example.de", "example.de"),
    ],
)
def test_the_registrable_domain_is_taken_from_the_public_suffix_list(
    host: str, domain: str
) -> None:
    assert registrable_domain(host) == domain
