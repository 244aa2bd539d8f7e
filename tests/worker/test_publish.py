"""What goes over the broker: a request id in JSON, and nothing about the victim or the link."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import redis

from takedown.cases.links import add_links
from takedown.cases.queueing import queue_case
from takedown.catalogue.platforms import catalogue_for
from takedown.store.db import session_scope
from takedown.testing.cases import TEST_ACTOR, open_test_case
from takedown.testing.environment import Configure
from takedown.worker.publish import publish_now


@pytest.mark.usefixtures("environment")
def test_a_delivery_message_is_json_carrying_only_the_request_id(
    redis_url: str, configure: Configure
) -> None:
    prefix = f"takedown-test-{uuid.uuid4().hex[:8]}-"  # no worker listens here
    settings = configure(TAKEDOWN_BROKER_URL=redis_url, TAKEDOWN_QUEUE_PREFIX=prefix)
    url = "https://formsite.example/p/private-path-123"
    catalogue = catalogue_for(settings.platforms_dir)
    with session_scope() as session:
        case = open_test_case(session)
        add_links(session, case, [url], catalogue, actor=TEST_ACTOR)
        request_id = queue_case(session, case, catalogue, actor=TEST_ACTOR).request_ids[0]

    assert publish_now([request_id])

    broker = redis.Redis.from_url(redis_url)
    raw: list[bytes] = broker.lrange(f"{prefix}submissions", 0, -1)  # type: ignore[assignment]
    broker.delete(f"{prefix}submissions")
    assert len(raw) == 1
    envelope = json.loads(raw[0])
    assert envelope["content-type"] == "application/json"
    args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
    assert (args, kwargs) == ([request_id], {})
    for secret in ("Aino", "aino@example.org", "private-path-123"):
        assert secret not in raw[0].decode()
