"""Authentication-Results: the header shapes real servers write (Gmail, Exchange Online,
Postfix with OpenDKIM and OpenDMARC, rspamd), comments and quoting, which headers are
believed, what the results mean for the From domain, and hostile input."""

from __future__ import annotations

import pytest

from mailbot.trust.authres import (
    MAX_HEADER,
    MAX_HEADERS,
    AuthResult,
    dmarc_policy,
    judge,
    parse_header,
    read_trusted,
)
from tests.support.timing import best_of

pytestmark = pytest.mark.no_database

# As documented and as seen in delivered mail (values replaced by the test's names).
GMAIL = (
    "mx.google.com;\r\n"
    "       dkim=pass header.i=@acme-retail.example header.s=s2024 header.b=AbCdEf12;\r\n"
    "       spf=pass (google.com: domain of anna@acme-retail.example designates 203.0.113.5"
    " as permitted sender) smtp.mailfrom=anna@acme-retail.example;\r\n"
    "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=acme-retail.example"
)
GMAIL_FAIL = (
    "mx.google.com; spf=fail (google.com: domain of anna@acme-retail.example does not"
    " designate 198.51.100.7 as permitted sender) smtp.mailfrom=anna@acme-retail.example;"
    " dmarc=fail (p=REJECT sp=REJECT dis=REJECT) header.from=acme-retail.example"
)
EXCHANGE_ONLINE = (
    "spf=pass (sender IP is 203.0.113.5) smtp.mailfrom=acme-retail.example; dkim=pass"
    " (signature was verified) header.d=acme-retail.example;dmarc=pass action=none"
    " header.from=acme-retail.example;compauth=pass reason=100"
)
OUTLOOK_COM = (
    "hotmail.com; spf=pass (sender IP is 203.0.113.5; identity alignment result is pass and"
    " alignment mode is relaxed) smtp.mailfrom=acme-retail.example; dkim=pass (identity"
    " alignment result is pass and alignment mode is relaxed) header.d=acme-retail.example;"
    " x-hmca=pass header.id=anna@acme-retail.example"
)
OPENDMARC = "mx.agency.example; dmarc=pass (p=reject dis=none) header.from=acme-retail.example"
OPENDKIM = (
    "mx.agency.example;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=acme-retail.example"
    " header.i=@acme-retail.example header.a=rsa-sha256 header.s=s2024 header.b=AbCdEf12;\r\n"
    "\tdkim-atps=neutral"
)
OPENDMARC_SPF = "mx.agency.example; spf=pass smtp.mailfrom=acme-retail.example"
RSPAMD = (
    "mx.agency.example;\r\n\tdkim=pass header.d=acme-retail.example header.s=s2024"
    " header.b=AbCdEf12;\r\n\tspf=pass (mx.agency.example: domain of anna@acme-retail.example"
    " designates 203.0.113.5 as permitted sender) smtp.mailfrom=anna@acme-retail.example;\r\n"
    "\tdmarc=pass (policy=reject) header.from=acme-retail.example"
)
RSPAMD_FAIL = (
    "mx.agency.example;\r\n\tdkim=none;\r\n\tspf=softfail (mx.agency.example: domain of"
    " anna@acme-retail.example does not designate 198.51.100.7 as permitted sender)"
    ' smtp.mailfrom=anna@acme-retail.example;\r\n\tdmarc=fail reason="No valid SPF, No valid'
    ' DKIM" header.from=acme-retail.example (policy=reject)'
)


def results(value: str) -> list[tuple[str, str]]:
    header = parse_header(value)
    assert header is not None
    return [(r.method, r.result) for r in header.results]


@pytest.mark.parametrize(
    ("value", "authserv_id", "expected"),
    [
        (GMAIL, "mx.google.com", [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]),
        (GMAIL_FAIL, "mx.google.com", [("spf", "fail"), ("dmarc", "fail")]),
        (
            EXCHANGE_ONLINE,
            "",
            [("spf", "pass"), ("dkim", "pass"), ("dmarc", "pass"), ("compauth", "pass")],
        ),
        (OUTLOOK_COM, "hotmail.com", [("spf", "pass"), ("dkim", "pass"), ("x-hmca", "pass")]),
        (OPENDMARC, "mx.agency.example", [("dmarc", "pass")]),
        (OPENDKIM, "mx.agency.example", [("dkim", "pass"), ("dkim-atps", "neutral")]),
        (RSPAMD, "mx.agency.example", [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]),
        (
            RSPAMD_FAIL,
            "mx.agency.example",
            [("dkim", "none"), ("spf", "softfail"), ("dmarc", "fail")],
        ),
    ],
)
def test_real_header_shapes(value: str, authserv_id: str, expected: list[tuple[str, str]]) -> None:
    header = parse_header(value)
    assert header is not None and header.authserv_id == authserv_id
    assert [(r.method, r.result) for r in header.results] == expected


def test_properties_comments_and_quoting() -> None:
    header = parse_header(GMAIL)
    assert header is not None
    dkim, spf, dmarc = header.results
    assert dkim.get("header.i") == "@acme-retail.example" and dkim.get("header.s") == "s2024"
    assert spf.comment.startswith("google.com: domain of anna@acme-retail.example")
    assert dmarc_policy(dmarc) == "reject"
    rspamd = parse_header(RSPAMD_FAIL)
    assert rspamd is not None
    fail = rspamd.results[2]
    assert fail.get("reason") == "No valid SPF, No valid DKIM"
    assert fail.get("header.from") == "acme-retail.example" and dmarc_policy(fail) == "reject"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mx.example 1; dkim/1=pass header.d=a.example", [("dkim", "pass")]),  # versions
        ("MX.Example; DKIM = Pass (ok) header.d = a.example", [("dkim", "pass")]),  # spaces, case
        ('mx.example; dkim=pass header.d="a;b" ; spf=none', [("dkim", "pass"), ("spf", "none")]),
        ("mx.example; dkim=pass (a (nested; comment) here) header.d=a.example", [("dkim", "pass")]),
        (r"mx.example; dkim=pass (escaped \) paren; still) header.d=a", [("dkim", "pass")]),
        ("mx.example; none", []),
        ("mx.example (comment before); spf=pass", [("spf", "pass")]),
        ('"mx.example"; spf=pass', [("spf", "pass")]),
    ],
)
def test_grammar(value: str, expected: list[tuple[str, str]]) -> None:
    assert results(value) == expected


def test_nested_comment_and_quoted_values_are_kept() -> None:
    header = parse_header('mx.example; dkim=pass (a (b) c) header.d="x;y"')
    assert header is not None and header.authserv_id == "mx.example"
    assert header.results == (AuthResult("dkim", "pass", (("header.d", "x;y"),), "a (b) c"),)


@pytest.mark.parametrize(
    "value",
    [
        "",
        ";;;",
        "=",
        "mx.example; =pass",
        "mx.example; dkim=",
        "mx.example; dkim==pass",
        "mx.example; dkim=pass header.d=",
        'mx.example; dkim=pass header.d="unclosed',
        "mx.example; dkim=pass (unclosed comment",
        "mx.example; dkim=pass ((((((",
        "mx.example; dkim=pass )))))",
        "\\\\\\",
        "mx.example; /=/",
        "\x00\x01\x02; dkim=pass",
        "mx.example; dkim=pass header.d=\udcff.example",
    ],
)
def test_malformed_headers_do_not_crash(value: str) -> None:
    header = parse_header(value)
    assert header is None or all(r.method and r.result for r in header.results)


@pytest.mark.parametrize(
    "value",
    [
        "(" * 200_000,
        '"' + "\\" * 200_000,
        "mx.example; " + "dkim=pass " * 50_000,
        "mx.example; " + "a=" * 100_000,
        "mx.example; " + ";" * 200_000,
    ],
)
def test_hostile_headers_cost_little(value: str) -> None:
    # Milliseconds of CPU here; seconds if a pattern backtracks.
    assert best_of(lambda: parse_header(value)) < 0.5
    header = parse_header(value)
    assert header is None or len(header.results) <= 50


def test_a_cut_header_loses_only_its_last_result() -> None:
    value = "mx.example; spf=pass smtp.mailfrom=a.example; dkim=pass header.d=" + "a" * MAX_HEADER
    assert results(value) == [("spf", "pass")]


# --- which headers are believed ------------------------------------------------------------

TRUSTED = ("mx.agency.example",)


def ar(value: str) -> tuple[str, str]:
    return ("authentication-results", value)


def test_only_trusted_servers_are_read() -> None:
    forged = ar("mx.agency-mail.example; dmarc=pass header.from=acme-retail.example")
    found = read_trusted([forged], TRUSTED)
    assert found.authserv_id is None and found.results == ()
    assert found.notes == (
        "Authentication-Results by mx.agency-mail.example ignored: not a trusted server",
    )
    found = read_trusted([forged, ar(OPENDMARC)], TRUSTED)
    assert found.authserv_id == "mx.agency.example"
    assert [r.result for r in found.results] == ["pass"]


def test_a_header_without_a_server_name_is_never_believed() -> None:
    found = read_trusted([ar(EXCHANGE_ONLINE)], ("",))
    assert found.authserv_id is None
    assert "a server that does not name itself" in found.notes[0]


def test_opendkim_and_opendmarc_headers_are_read_together() -> None:
    headers = [
        ("received", "from mail.acme-retail.example by mx.agency.example (Postfix)"),
        ("dmarc-filter", "OpenDMARC Filter v1.4.2 mx.agency.example 4F1A2B3C"),
        ar(OPENDMARC),
        ("dkim-filter", "OpenDKIM Filter v2.11.0 mx.agency.example 4F1A2B3C"),
        ar(OPENDKIM),
        ar(OPENDMARC_SPF),
        ("dkim-signature", "v=1; d=acme-retail.example; ..."),
    ]
    found = read_trusted(headers, TRUSTED)
    assert [(r.method, r.result) for r in found.results] == [
        ("dmarc", "pass"),
        ("dkim", "pass"),
        ("dkim-atps", "neutral"),
        ("spf", "pass"),
    ]


def test_the_topmost_trusted_header_wins() -> None:
    ours = ar("mx.agency.example; dmarc=fail (p=reject) header.from=acme-retail.example")
    written_by_the_sender = ar(
        "mx.agency.example; dmarc=pass header.from=acme-retail.example; dkim=pass header.d=x"
    )
    found = read_trusted([ours, written_by_the_sender], TRUSTED)
    assert [(r.method, r.result) for r in found.results] == [("dmarc", "fail"), ("dkim", "pass")]
    # Below the next Received header it came with the mail: not read at all.
    found = read_trusted([ours, ("received", "from evil"), written_by_the_sender], TRUSTED)
    assert [(r.method, r.result) for r in found.results] == [("dmarc", "fail")]


def test_at_most_some_headers_are_read() -> None:
    headers = [ar("other.example; spf=pass")] * (MAX_HEADERS + 5) + [ar(OPENDMARC)]
    found = read_trusted(headers, TRUSTED)
    assert found.authserv_id is None
    assert any("the rest ignored" in note for note in found.notes)
    assert len(found.notes) <= 5


# --- what the results mean --------------------------------------------------------------------

BY = "mx.agency.example"


def judged(value: str, from_domain: str = "acme-retail.example") -> tuple[str, list[str]]:
    header = parse_header(value)
    assert header is not None
    return judge(header.results, from_domain, BY)


@pytest.mark.parametrize(
    ("value", "status", "first_reason"),
    [
        (GMAIL, "verified", "dmarc=pass by mx.agency.example"),
        (GMAIL_FAIL, "failed", "dmarc=fail (p=reject) by mx.agency.example"),
        (RSPAMD, "verified", "dmarc=pass by mx.agency.example"),
        (RSPAMD_FAIL, "failed", "dmarc=fail (p=reject) by mx.agency.example"),
        (
            "x; dmarc=fail (p=quarantine) header.from=acme-retail.example",
            "failed",
            "dmarc=fail (p=quarantine) by mx.agency.example",
        ),
        ("x; dmarc=fail header.from=acme-retail.example", "failed", "dmarc=fail by"),
        (
            "x; dkim=pass header.d=acme-retail.example",
            "verified",
            "dkim=pass header.d=acme-retail.example (aligned) by mx.agency.example",
        ),
        ("x; dkim=pass header.d=mail.acme-retail.example", "verified", "dkim=pass"),
        ("x; dkim=pass header.i=@acme-retail.example", "verified", "dkim=pass"),
        ("x; dkim=pass header.d=mailer.example", "unverified", "no pass for acme-retail.example"),
        ("x; dkim=pass header.d=example", "unverified", "no pass"),  # a bare suffix never aligns
        (
            "x; spf=pass smtp.mailfrom=bounces@acme-retail.example",
            "verified",
            "spf=pass smtp.mailfrom=acme-retail.example (aligned)",
        ),
        ("x; spf=pass smtp.mailfrom=bounce.esp.example", "unverified", "no pass"),
        ("x; spf=fail smtp.mailfrom=acme-retail.example", "failed", "spf=fail for acme-retail"),
        ("x; dkim=fail header.d=acme-retail.example", "failed", "dkim=fail for acme-retail"),
        ("x; dkim=fail header.d=mailer.example; spf=softfail", "unverified", "no pass"),
        ("x; spf=softfail smtp.mailfrom=acme-retail.example", "unverified", "no pass"),
        ("x; dkim=fail header.d=acme-retail.example; dkim=pass header.d=acme-retail.example",
         "verified", "dkim=pass"),
        ("x; dmarc=none; dkim=none; spf=none", "unverified", "no pass for acme-retail.example"),
        ("x; none", "unverified", "no pass for acme-retail.example from mx.agency.example"),
    ],
)  # fmt: skip
def test_what_the_results_mean(value: str, status: str, first_reason: str) -> None:
    got, reasons = judged(value)
    assert got == status
    assert reasons[0].startswith(first_reason), reasons


def test_dmarc_fail_under_p_none_is_only_noted() -> None:
    status, reasons = judged("x; dmarc=fail (p=none dis=none) header.from=acme-retail.example")
    assert status == "unverified"
    assert reasons[1] == (
        "dmarc=fail (p=none) by mx.agency.example: the domain asks receivers to take no action"
    )
    status, _ = judged(
        "x; dmarc=fail (p=none) header.from=acme-retail.example;"
        " spf=fail smtp.mailfrom=acme-retail.example"
    )
    assert status == "failed"


def test_a_dmarc_result_about_another_domain_is_not_used() -> None:
    status, reasons = judged("x; dmarc=pass header.from=other.example")
    assert status == "unverified"
    assert "dmarc=pass by mx.agency.example is about other.example" in reasons[1]


def test_international_from_domains_compare_in_ascii() -> None:
    status, _ = judged("x; dmarc=pass header.from=xn--bcher-kva.example", "bücher.example")
    assert status == "verified"
