"""The sender verdict of whole mails: a trusted server's Authentication-Results, else DKIM
checked here (a key made in the test, DNS injected), look-alikes winning over everything,
the verdict's round trip, and the policy built from the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.config import parse_config
from mailbot.config_types import AuthPolicy
from mailbot.trust import sender as sender_module
from mailbot.trust.sender import SenderVerdict, auth_policy, check_sender
from mailbot.trust.signatures import DkimCheck, dkimpy_verifier
from tests.unit.trust.senders import Key, mail, parsed

pytestmark = pytest.mark.no_database

TRUSTED = "mx.agency.example"
POLICY = AuthPolicy(
    trusted_authserv_ids=(TRUSTED,),
    protected_domains=("acme-retail.example", "agency.example"),
    protected_addresses=("acme.boss@gmail.com", "team@agency.example"),
)


@pytest.fixture(scope="module")
def key() -> Key:
    return Key()


def verdict(
    raw: bytes, policy: AuthPolicy = POLICY, key: Key | None = None, **dns: Any
) -> SenderVerdict:
    verify = dkimpy_verifier(key.dns(**dns)) if key else None
    return check_sender(raw, parsed(raw), policy, dkim_verify=verify)


def results(value: str) -> str:
    return f"Authentication-Results: {value}"


# --- a trusted server's word ------------------------------------------------------------------


def test_dmarc_pass_from_a_trusted_server_verifies(key: Key) -> None:
    raw = mail(headers=(results(f"{TRUSTED}; dmarc=pass header.from=acme-retail.example"),))
    key.asked.clear()
    got = verdict(raw, key=key)
    assert got == SenderVerdict("verified", "authentication-results", (f"dmarc=pass by {TRUSTED}",))
    assert key.asked == []  # no DKIM lookup when a trusted server has spoken


def test_dmarc_fail_from_a_trusted_server_fails() -> None:
    header = f"{TRUSTED}; dmarc=fail (p=reject dis=reject) header.from=acme-retail.example"
    got = verdict(mail(headers=(results(header),)))
    assert (got.status, got.method) == ("failed", "authentication-results")
    assert got.reasons == (f"dmarc=fail (p=reject) by {TRUSTED}",)
    assert got.suspicious and not got.verified


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("dkim=pass header.d=acme-retail.example", "verified"),
        ("dkim=pass header.d=mailer.example", "unverified"),
        ("spf=pass smtp.mailfrom=anna@acme-retail.example", "verified"),
        ("spf=fail smtp.mailfrom=anna@acme-retail.example", "failed"),
        ("spf=softfail smtp.mailfrom=anna@acme-retail.example; dkim=none", "unverified"),
    ],
)
def test_dkim_and_spf_from_a_trusted_server(header: str, status: str) -> None:
    got = verdict(mail(headers=(results(f"{TRUSTED}; {header}"),)))
    assert (got.status, got.method) == (status, "authentication-results")


def test_a_forged_header_is_ignored_and_said_so(key: Key) -> None:
    forged = results("mx.agency.example.evil.net; dmarc=pass header.from=acme-retail.example")
    got = verdict(mail(headers=(forged,)), key=key)
    assert (got.status, got.method) == ("unverified", "none")
    assert got.reasons == (
        "no trusted Authentication-Results and no DKIM signature",
        "Authentication-Results by mx.agency.example.evil.net ignored: not a trusted server",
    )


def test_a_forged_header_below_the_servers_own_loses() -> None:
    raw = mail(
        headers=(
            "Received: from mail.evil.example by mx.agency.example (Postfix)",
            results(f"{TRUSTED}; dmarc=fail (p=reject) header.from=acme-retail.example"),
            results(f"{TRUSTED}; dmarc=pass header.from=acme-retail.example"),
        )
    )
    assert verdict(raw).status == "failed"


def test_the_policy_must_name_the_server() -> None:
    raw = mail(headers=(results(f"{TRUSTED}; dmarc=pass header.from=acme-retail.example"),))
    got = verdict(raw, AuthPolicy(verify_dkim=False))
    assert (got.status, got.method) == ("unverified", "none")
    assert "not a trusted server" in got.reasons[-1]


# --- DKIM checked here --------------------------------------------------------------------------


def test_a_valid_aligned_signature_verifies(key: Key) -> None:
    got = verdict(key.sign(mail(), "acme-retail.example"), key=key)
    assert got == SenderVerdict(
        "verified",
        "dkim",
        (
            "DKIM d=acme-retail.example s=s2024: the signature is valid"
            " (aligned with acme-retail.example)",
        ),
    )


def test_a_signature_of_a_parent_domain_aligns(key: Key) -> None:
    raw = key.sign(mail("Anna <anna@eu.acme-retail.example>"), "acme-retail.example")
    assert verdict(raw, key=key).status == "verified"


def test_a_tampered_mail_fails(key: Key) -> None:
    raw = key.sign(mail(), "acme-retail.example").replace(b"approve", b"reject")
    got = verdict(raw, key=key)
    assert (got.status, got.method) == ("failed", "dkim")
    assert got.reasons == (
        "DKIM d=acme-retail.example s=s2024: the body changed since it was signed",
    )


def test_an_unsigned_mail_is_unverified(key: Key) -> None:
    got = verdict(mail(), key=key)
    assert (got.status, got.method) == ("unverified", "none")


def test_a_valid_signature_of_another_domain_proves_nothing(key: Key) -> None:
    got = verdict(key.sign(mail(), "mailer.example"), key=key)
    assert (got.status, got.method) == ("unverified", "dkim")
    assert got.reasons[0].endswith("(not aligned with acme-retail.example)")


def test_a_broken_signature_of_another_domain_does_not_fail(key: Key) -> None:
    raw = key.sign(mail(), "mailer.example").replace(b"approve", b"reject")
    assert verdict(raw, key=key).status == "unverified"


def test_an_aligned_signature_wins_over_a_broken_one(key: Key) -> None:
    raw = key.sign(key.sign(mail(), "acme-retail.example"), "mailer.example")
    assert verdict(raw, key=key).status == "verified"


def test_a_dns_failure_leaves_the_mail_unverified(key: Key) -> None:
    def down(name: bytes, timeout: float = 5) -> bytes:
        raise TimeoutError("The DNS operation timed out")

    raw = key.sign(mail(), "acme-retail.example")
    got = check_sender(raw, parsed(raw), POLICY, dkim_verify=dkimpy_verifier(down))
    assert (got.status, got.method) == ("unverified", "dkim")
    assert got.reasons == (
        "DKIM d=acme-retail.example s=s2024: DNS lookup of s2024._domainkey.acme-retail.example:"
        " The DNS operation timed out",
    )


def test_a_verifier_that_breaks_leaves_the_mail_unverified() -> None:
    def broken(raw: bytes, *, timeout: float) -> tuple[DkimCheck, ...]:
        raise RuntimeError("boom")

    raw = mail()
    got = check_sender(raw, parsed(raw), POLICY, dkim_verify=broken)
    assert got == SenderVerdict("unverified", "dkim", ("DKIM could not be checked (RuntimeError)",))


def test_dkim_can_be_switched_off(key: Key) -> None:
    key.asked.clear()
    got = verdict(key.sign(mail(), "acme-retail.example"), AuthPolicy(verify_dkim=False), key)
    assert (got.status, got.method) == ("unverified", "none")
    assert key.asked == []


def test_the_timeout_of_the_policy_is_used(key: Key) -> None:
    key.asked.clear()
    verdict(key.sign(mail(), "acme-retail.example"), AuthPolicy(dkim_timeout=1.5), key)
    assert [timeout for _name, timeout in key.asked] == [1.5]


# --- look-alikes and odd senders ------------------------------------------------------------


def test_a_lookalike_wins_even_when_its_own_domain_verifies(key: Key) -> None:
    raw = key.sign(mail("Anna Li <anna@acme-retai1.example>"), "acme-retai1.example")
    got = verdict(raw, key=key)
    assert (got.status, got.method, got.lookalike_of) == (
        "lookalike",
        "dkim",
        "acme-retail.example",
    )
    assert got.reasons[0] == (
        "the From domain acme-retai1.example imitates acme-retail.example: look-alike letters"
    )
    assert "the signature is valid" in got.reasons[1]
    assert got.suspicious


def test_a_display_name_showing_a_client_is_a_lookalike() -> None:
    got = verdict(mail('"anna@acme-retail.example" <x@evil.example>'))
    assert (got.status, got.lookalike_of) == ("lookalike", "acme-retail.example")
    assert got.reasons[0] == (
        "the display name shows acme-retail.example but the mail is from x@evil.example"
    )


def test_several_from_addresses_fail(key: Key) -> None:
    raw = key.sign(mail(), "acme-retail.example")
    raw = raw.replace(b"From: Anna", b"From: Boss <boss@acme-retail.example>\r\nFrom: Anna", 1)
    got = verdict(raw, key=key)
    assert got.status == "failed"
    assert got.reasons[0] == "several From addresses: a mail program may show another one"
    two = mail("anna@acme-retail.example, boss@evil.example")
    assert verdict(two, key=key).status == "failed"


@pytest.mark.parametrize("sender", ["", "undisclosed-recipients:;", "not an address"])
def test_no_from_address(sender: str) -> None:
    raw = mail(sender)
    assert verdict(raw) == SenderVerdict("unverified", "none", ("no readable From address",))


def test_check_sender_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(sender_module, "find_lookalike", broken)
    assert verdict(mail()) == SenderVerdict(
        "unverified", "none", ("the sender could not be checked (ValueError)",)
    )


def test_hostile_headers_give_a_verdict() -> None:
    headers = tuple(results(f"{TRUSTED}; dkim=pass (" + "(" * 9000) for _ in range(30))
    got = verdict(mail(headers=headers))
    assert got.status == "unverified" and len(got.reasons) <= sender_module.MAX_REASONS


# --- the verdict as stored, and the policy from the config ---------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        SenderVerdict("verified", "authentication-results", ("dmarc=pass by mx.agency.example",)),
        SenderVerdict("unverified", "none", ()),
        SenderVerdict("failed", "dkim", ("DKIM d=a.example s=s: the body changed",)),
        SenderVerdict("lookalike", "none", ("the From domain ...",), "acme-retail.example"),
    ],
)
def test_round_trip(value: SenderVerdict) -> None:
    assert SenderVerdict.from_dict(value.to_dict()) == value
    assert value.to_dict()["reasons"] == list(value.reasons)


@pytest.mark.parametrize(
    "data",
    [{}, {"status": "trusted", "method": "none"}, {"status": "verified", "method": "spf"}],
)
def test_from_dict_refuses_what_is_not_a_verdict(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not a sender verdict"):
        SenderVerdict.from_dict(data)


def test_auth_policy_protects_the_clients_and_us(tmp_path: Path) -> None:
    config = parse_config(
        {
            "mailbox": {"kind": "maildir", "path": "mail"},
            "site": {"address": "Team@Agency.example", "own_addresses": ["ops@agency.example"]},
            "projects": [
                {
                    "key": "ACME",
                    "name": "ACME",
                    "client_domains": ["acme-retail.example"],
                    "client_addresses": ["acme.boss@gmail.com"],
                    "vip_addresses": ["ceo@acme-retail.example"],
                    "alias": "team+acme@agency.example",
                    "pm": "lena@agency.example",
                },
                {"key": "GLOBEX", "name": "Globex", "client_domains": ["globex.com"]},
            ],
            "authentication": {"trusted_authserv_ids": ["mx.agency.example"]},
        },
        base_dir=tmp_path,
    )
    policy = auth_policy(config)
    assert policy.trusted_authserv_ids == ("mx.agency.example",)
    assert policy.protected_domains == ("acme-retail.example", "globex.com", "agency.example")
    assert policy.protected_addresses == (
        "acme.boss@gmail.com",
        "ceo@acme-retail.example",
        "team@agency.example",
        "ops@agency.example",
        "team+acme@agency.example",
        "lena@agency.example",
    )
    assert config.authentication.protected_domains == ()  # the config itself is unchanged


# --- several From addresses: the quick look and the parser agree ----------------------------------

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
_FROM_VALUES = st.sampled_from(
    [
        b"Anna <anna@acme.example>",
        b"anna@acme.example, boss@evil.example",
        b"=?utf-8?q?boss=40evil.example?= <anna@acme.example>",
        b"undisclosed-recipients:;",
        b"Anna\r\n <anna@acme.example>",
        b"Anna\r\n\t<anna@acme.example>,\r\n boss@evil.example",
        b"",
    ]
)
_OTHER_LINES = st.sampled_from(
    [
        b"Subject: hi",
        b"Message-ID: <1@acme.example>",
        b"Reply-To: x@y.example",
        b"not a header line",
        b"From nobody Mon Jan  1 00:00:00 2026",
        b" folded@into.example",
    ]
)


@given(
    st.lists(
        st.one_of(
            _OTHER_LINES, st.tuples(st.sampled_from([b"From: ", b"FROM:", b"from:"]), _FROM_VALUES)
        ),
        max_size=6,
    ),
    st.sampled_from([b"\r\n", b"\n", b"\r"]),
)
def test_several_from_says_what_the_parser_counts(lines: list[Any], end: bytes) -> None:
    head = end.join(b"".join(line) if isinstance(line, tuple) else line for line in lines)
    raw = head.replace(b"\r\n", end) + end + end + b"body @ here\r\nFrom: b@c.example\r\n"
    assert sender_module.several_from(raw) == (sender_module.from_count(raw) > 1)


def test_several_from_agrees_on_every_fixture_mail() -> None:
    files = [p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in {".eml", ".txt", ""}]
    assert len(files) > 100
    for path in files:
        raw = path.read_bytes()
        assert sender_module.several_from(raw) == (sender_module.from_count(raw) > 1), path
