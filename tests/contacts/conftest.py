"""A local RDAP service answering the registries' recorded answers (tests/contacts/data/rdap,
from the ipwhois project, BSD licence)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from takedown.config import Settings
from takedown.store.db import session_scope
from takedown.store.models import ContactLookup
from takedown.testing.rdap_server import RdapServer

DATA = Path(__file__).parent / "data" / "rdap"


def _recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def ip_answers() -> dict[str, Any]:
    """The regional registries' recorded answers, by the address asked about."""
    return {address: item["response"] for address, item in _recorded("ip-responses.json").items()}


@pytest.fixture
def rdap(
    environment: Settings,  # noqa: ARG001 (the database its lookups are cached in)
    ip_answers: dict[str, Any],
) -> Iterator[RdapServer]:
    """A fresh local RDAP service with every recorded answer, and an empty lookup cache."""
    with session_scope() as db:
        db.execute(delete(ContactLookup))  # PostgreSQL's test database outlives one test
    with RdapServer() as server:
        for address, answer in ip_answers.items():
            server.add_ip(address, answer)
        entity = _recorded("entity-responses.json")
        server.add_entity("arin", entity["handle"], entity)
        for name, answer in _recorded("domain-responses.json").items():
            server.add_domain(name, answer)
        yield server
