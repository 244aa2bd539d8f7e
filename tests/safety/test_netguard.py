"""Outbound requests reach public addresses only: checked before connecting (each redirect
hop too) and again on the address each connection actually reached."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable

import pytest
import requests

from takedown.safety.netguard import PrivateTargetError, never_sent, new_session, reason
from takedown.testing.fake_platform import FakePlatform
from takedown.testing.loopback import Reply, free_port


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


def failure_of(call: Callable[[], object]) -> requests.RequestException:
    with pytest.raises(requests.RequestException) as failed:
        call()
    return failed.value


def test_each_failure_says_whether_anything_was_sent_and_why_in_words(site: FakePlatform) -> None:
    # Whether a request may have reached the platform decides between trying again and
    # asking a person (never_sent); the words are what the caseworker reads (reason).
    slow = f"/guard/{uuid.uuid4().hex[:8]}"
    site.script(slow, Reply(200, "late", delay=1.0))
    cases = [
        (lambda: new_session(True).get(f"http://127.0.0.1:{free_port()}/", timeout=2),
         True, "the connection was refused"),
        (lambda: new_session(False).get("http://no-such-host.invalid/", timeout=2),
         True, "the host no-such-host.invalid could not be resolved"),
        (lambda: new_session(False).get(site.url("/x"), timeout=2),
         True, "127.0.0.1 is not a public address; refused"),
        (lambda: new_session(True).get(site.url(slow), timeout=(2, 0.2)),
         False, "no answer within the read time-out"),
    ]  # fmt: skip
    for call, nothing_sent, words in cases:
        error = failure_of(call)
        assert never_sent(error) is nothing_sent, words
        assert reason(error).startswith(words)
        assert site.base_url not in reason(error)  # a reason never quotes the link
