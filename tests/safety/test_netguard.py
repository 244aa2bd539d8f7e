"""Outbound requests reach public addresses only: checked before connecting (each redirect
hop too) and again on the address each connection actually reached."""

from __future__ import annotations

import ipaddress
import uuid

import pytest

from takedown.safety.netguard import PrivateTargetError, new_session
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply


def test_a_loopback_link_is_refused_before_connecting(site: FakePlatform) -> None:
    path = f"/guard/{uuid.uuid4().hex[:8]}"
    site.script(path, Reply(200, "secret admin page"))
    refused = r"127\.0\.0\.1 is not a public address"
    with pytest.raises(PrivateTargetError, match=refused):
        new_session(allow_private=False).get(site.url(path), timeout=2)
    assert site.requests_to(path, "GET") == []


def test_a_name_that_re_binds_to_loopback_after_the_check_is_refused_at_the_connection(
    site: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS re-binding: the name answered a public address when it was checked, and loopback
    # when the connection was made. The check passing stands for the first answer.
    monkeypatch.setattr("takedown.safety.netguard.check_public", lambda _host, _port: None)
    path = f"/guard/{uuid.uuid4().hex[:8]}"
    site.script(path, Reply(200, "secret admin page"))
    refused = r"connected to 127\.0\.0\.1, which is not a public address"
    with pytest.raises(PrivateTargetError, match=refused):
        new_session(allow_private=False).get(site.url(path), timeout=2)
    assert site.requests_to(path, "GET") == []  # not a byte of HTTP reached it


def test_private_targets_are_reached_only_when_allowed(site: FakePlatform) -> None:
    path = f"/guard/{uuid.uuid4().hex[:8]}"
    site.script(path, Reply(200, "a page"))
    answer = new_session(allow_private=True).get(site.url(path), timeout=2)
    assert answer.status_code == 200
    assert len(site.requests_to(path, "GET")) == 1


@pytest.mark.parametrize("target", ["127.0.0.1", "localhost"])
def test_a_public_link_that_redirects_to_loopback_is_refused_at_the_redirect(
    site: FakePlatform, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    # 127.0.0.2 plays a public web server: only the verdict on that one address changes;
    # the redirect is followed and checked by the real session, adapter and connection.
    played = ipaddress.ip_address("127.0.0.2")
    monkeypatch.setattr(
        "takedown.safety.netguard.is_public", lambda address: address == played or address.is_global
    )
    secret = f"/guard/{uuid.uuid4().hex[:8]}"
    site.script(secret, Reply(200, "secret admin page"))
    internal = site.url(secret).replace("127.0.0.1", target)
    with FakePlatform(host=str(played)) as public:
        public.script("/photo", Reply(302, "", {"Location": internal}))
        with pytest.raises(PrivateTargetError, match="is not a public address; refused"):
            new_session(allow_private=False).get(public.url("/photo"), timeout=2)
        assert len(public.requests_to("/photo", "GET")) == 1  # the public hop was made
    assert site.requests_to(secret, "GET") == []  # the loopback one never was
