"""A webhook URL goes to a public address: every spelling of a private one is refused at registration.

Each of these was accepted and delivered to before (the attacker's find: copro posted signed requests to
its own services and to a cloud's metadata address, and reported back what answered).
"""

from __future__ import annotations

import ipaddress

import pytest

from shared.web.outbound import public, url_refusal

PRIVATE = ["http://127.0.0.1:8411/", "https://169.254.169.254/latest", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
           "http://[::ffff:a9fe:a9fe]/", "http://0x7f000001/", "http://2130706433/", "http://127.1/", "http://0/",
           "http://10.0.0.1/", "http://[fd00::1]/", "http://[64:ff9b::7f00:1]/", "http://100.64.0.1/",
           "http://192.168.1.10:8080/hook", "http://[fe80::1]/"]
MALFORMED = ["http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "http://example.com\r\nX: y/", "http://a b.example/",
             "ftp://partner.example/", "https://user:pass@partner.example/", "https://partner.example:99999/",
             "https:///nohost"]


@pytest.mark.parametrize("url", PRIVATE)
def test_a_private_address_in_any_spelling_is_refused_unless_allowed(url: str) -> None:
    assert "public address" in (url_refusal(url, private_allowed=False) or "")
    assert url_refusal(url, private_allowed=True) is None  # the operator's choice: COPRO_WEBHOOK_PRIVATE_TARGETS


@pytest.mark.parametrize("url", MALFORMED)
def test_a_url_that_is_not_a_plain_http_address_is_refused_always(url: str) -> None:
    assert url_refusal(url, private_allowed=True) is not None


def test_public_addresses_and_names_pass() -> None:
    for url in ("https://partner.example/hooks?token=abc", "http://93.184.216.34/", "https://[2606:4700::1111]/"):
        assert url_refusal(url, private_allowed=False) is None, url
    assert public(ipaddress.ip_address("8.8.8.8")) and not public(ipaddress.ip_address("::ffff:10.0.0.1"))
