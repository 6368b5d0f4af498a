"""Domain names as the sender checks compare them."""

from __future__ import annotations

import pytest

from mailbot.trust.domains import aligned, clean, organisation, to_ascii, to_unicode, within

pytestmark = pytest.mark.no_database


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("mail.acme-retail.example", "acme-retail.example"),
        ("acme-retail.example.", "acme-retail.example"),
        ("www.acme.com.cn", "acme.com.cn"),
        ("eu.initech.co.uk", "initech.co.uk"),
        ("co.uk", "co.uk"),
        ("example", ""),
        ("", ""),
    ],
)
def test_organisation(domain: str, expected: str) -> None:
    assert organisation(domain) == expected


@pytest.mark.parametrize(
    ("signer", "from_domain", "expected"),
    [
        ("acme-retail.example", "acme-retail.example", True),
        ("acme-retail.example", "eu.acme-retail.example", True),
        ("mail.acme-retail.example", "acme-retail.example", True),
        ("ACME-Retail.Example", "acme-retail.example", True),
        ("mailer.example", "acme-retail.example", False),
        ("example", "acme-retail.example", False),
        ("co.uk", "initech.co.uk", False),
        ("", "acme-retail.example", False),
        ("xn--bcher-kva.example", "bücher.example", True),
    ],
)
def test_aligned(signer: str, from_domain: str, expected: bool) -> None:
    assert aligned(signer, from_domain) is expected


def test_spellings_and_subdomains() -> None:
    assert to_ascii("Bücher.example") == "xn--bcher-kva.example"
    assert to_unicode("xn--bcher-kva.example") == "bücher.example"
    assert to_unicode("xn--not-valid-.example") == "xn--not-valid-.example"
    assert clean("a" * 300) == ""
    assert within("eu.acme.example", "acme.example") and within("acme.example", "acme.example")
    assert not within("notacme.example", "acme.example") and not within("acme.example", "")
