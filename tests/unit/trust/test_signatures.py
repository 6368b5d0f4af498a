"""DKIM checked here with dkimpy: a key made in the test, published through an injected DNS
lookup; a valid, a tampered, an unsigned mail, and every way the lookup can go wrong."""

from __future__ import annotations

import dkim
import dkim.dnsplug
import pytest

from mailbot.trust import signatures
from mailbot.trust.signatures import DkimCheck, dkimpy_verifier, verify_signatures
from tests.unit.trust.senders import SELECTOR, Key, mail

pytestmark = pytest.mark.no_database


@pytest.fixture(scope="module")
def key() -> Key:
    return Key()


def check(raw: bytes, dnsfunc: signatures.DnsFunc, timeout: float = 5.0) -> tuple[DkimCheck, ...]:
    return verify_signatures(raw, timeout=timeout, dnsfunc=dnsfunc)


def test_a_valid_signature_passes(key: Key) -> None:
    (result,) = check(key.sign(mail(), "acme-retail.example"), key.dns())
    assert result == DkimCheck("acme-retail.example", "s2024", "pass", "the signature is valid")


def test_a_changed_body_fails(key: Key) -> None:
    raw = key.sign(mail(), "acme-retail.example").replace(b"approve", b"reject")
    (result,) = check(raw, key.dns())
    assert (result.result, result.detail) == ("fail", "the body changed since it was signed")


def test_a_changed_signed_header_fails(key: Key) -> None:
    raw = key.sign(mail(), "acme-retail.example").replace(b"New checkout", b"Old checkout")
    (result,) = check(raw, key.dns())
    assert (result.result, result.detail) == ("fail", "the signature does not match the mail")


def test_another_key_fails(key: Key) -> None:
    other = Key()
    (result,) = check(other.sign(mail(), "acme-retail.example"), key.dns())
    assert result.result == "fail"


def test_an_unsigned_mail_has_no_checks(key: Key) -> None:
    assert check(mail(), key.dns()) == ()


@pytest.mark.parametrize(
    "error",
    [
        dkim.DnsTimeoutError("dns.exception.Timeout: The DNS operation timed out"),
        OSError("Network is unreachable"),
        RuntimeError("resolver crashed"),
    ],
)
def test_a_failed_lookup_is_a_temporary_error(key: Key, error: Exception) -> None:
    def broken(name: bytes, timeout: float = 5) -> bytes:
        raise error

    (result,) = check(key.sign(mail(), "acme-retail.example"), broken)
    assert result.result == "temperror"
    assert result.detail.startswith("DNS lookup of s2024._domainkey.acme-retail.example: ")


def test_no_published_key_and_an_unusable_key(key: Key) -> None:
    raw = key.sign(mail(), "acme-retail.example")
    (missing,) = check(raw, key.dns({}))
    assert (missing.result, missing.detail) == (
        "permerror",
        "no key published at s2024._domainkey.acme-retail.example",
    )
    name = SELECTOR + b"._domainkey.acme-retail.example."
    (garbled,) = check(raw, key.dns({name: b"v=DKIM1; k=rsa; p=bm90IGEga2V5"}))
    assert garbled.result == "permerror" and "cannot be used" in garbled.detail


def test_unreadable_and_expired_signatures_prove_nothing(key: Key) -> None:
    garbage = b"DKIM-Signature: this is not a tag list\r\n" + mail()
    (result,) = check(garbage, key.dns())
    assert result.result == "permerror"
    signed = key.sign(mail(), "acme-retail.example")
    expired = signed.replace(b"; q=dns/txt;", b"; x=1000; q=dns/txt;", 1)
    (result,) = check(expired, key.dns())
    assert (result.result, result.detail) == ("permerror", "the signature has expired")


def test_several_signatures_are_each_checked(key: Key) -> None:
    raw = key.sign(key.sign(mail(), "acme-retail.example"), "mailer.example")
    results = check(raw, key.dns())
    assert [(r.domain, r.result) for r in results] == [
        ("mailer.example", "pass"),
        ("acme-retail.example", "pass"),
    ]


def test_limits(key: Key, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = mail()
    for _ in range(signatures.MAX_SIGNATURES + 2):
        raw = key.sign(raw, "acme-retail.example")
    assert len(check(raw, key.dns())) == signatures.MAX_SIGNATURES
    monkeypatch.setattr(signatures, "MAX_RAW", 100)
    (result,) = check(raw, key.dns())
    assert result.result == "permerror" and "too large" in result.detail


def test_a_mail_dkimpy_cannot_read_gives_one_check(key: Key) -> None:
    (result,) = check(b"\x80\x81 not a header\r\n\r\nbody", key.dns())
    assert result.result == "permerror"


def test_the_default_verifier_uses_the_system_resolver_with_the_timeout(
    key: Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    key.asked.clear()
    monkeypatch.setattr(dkim.dnsplug, "get_txt", key.dns())  # no real DNS in tests
    (result,) = dkimpy_verifier()(key.sign(mail(), "acme-retail.example"), timeout=2.5)
    assert result.result == "pass"
    assert key.asked == [(b"s2024._domainkey.acme-retail.example.", 2.5)]


def test_an_unsigned_mail_is_judged_by_its_header_alone(
    key: Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []

    class Counting(dkim.DKIM):  # type: ignore[misc]
        def __init__(self, message: bytes, **kw: object) -> None:
            read.append(len(message))
            super().__init__(message, **kw)

    monkeypatch.setattr(signatures.dkim, "DKIM", Counting)
    unsigned = mail() + b"x" * 100_000
    assert check(unsigned, key.dns()) == ()
    assert read and max(read) < 10_000  # the 100 KB body was not handed to dkimpy
    read.clear()
    signed = key.sign(mail(), "acme-retail.example")
    assert [c.result for c in check(signed, key.dns())] == ["pass"]
    assert max(read) == len(signed)
