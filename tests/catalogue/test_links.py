"""Links as caseworkers paste them: normalised where safe, refused with a reason otherwise."""

from __future__ import annotations

import pytest

from takedown.catalogue.links import normalise_link
from takedown.errors import InputError


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("  https://Fotogram.COM/p/AbC?x=1#c  ", "https://fotogram.com/p/AbC?x=1#c"),
        ("HTTP://fotogram.com", "http://fotogram.com/"),
        ("https://bücher.example/kuva", "https://xn--bcher-kva.example/kuva"),
        ("https://fotogram.com:8443/p/1", "https://fotogram.com:8443/p/1"),
    ],
)
def test_scheme_and_host_are_normalised_but_the_path_is_kept_as_pasted(
    raw: str, stored: str
) -> None:
    assert normalise_link(raw) == stored


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("fotogram.com/p/1", "must start with http:// or https://"),
        ("ftp://fotogram.com/p/1", "must start with http:// or https://"),
        ("https:///p/1", "no host name"),
        ("https://fotogram com/p/1", "spaces"),
        ("https://user:pw@fotogram.com/p/1", "user name or password"),
        ("https://fotogram.com:99999/p/1", "cannot be read as a URL"),
        ("https://intranet/p/1", "has no domain"),
        ("https://fotogram.com/p/1\nBcc: x", "control characters"),
        ("https://fotogram.com/" + "a" * 4100, "longer than 4096 characters"),
        ("https://" + "a" * 60 + ("." + "a" * 60) * 4 + ".example/", "longer than 253"),
    ],
)
def test_a_malformed_link_is_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        normalise_link(raw)
