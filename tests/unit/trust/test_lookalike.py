"""Look-alikes of the protected names: a table of the patterns phishers use, and of names
that must not be taken for one (the real domain, its subdomains, unrelated names)."""

from __future__ import annotations

import pytest

from mailbot.message import Address
from mailbot.trust.lookalike import (
    find_lookalike,
    likeness,
    similar_domain,
    skeleton,
    within_edits,
)
from tests.support.timing import best_of

pytestmark = pytest.mark.no_database

DOMAINS = (
    "acme-retail.example",
    "acne-retail.example",  # another client, one letter apart: exact matches stay clients
    "globex.com",
    "initech.co.uk",
    "contoso.com",
    "northwind.example",
    "internationalfoods.example",
    "agency.example",  # our own
)
ADDRESSES = (
    "acme.boss@gmail.com",
    "wang.fang@163.com",
    "12345678@qq.com",
    "lena@agency.example",
    "team@agency.example",
)

LOOKALIKES = [
    # letters and digits that look the same
    ("x@acme-retai1.example", "acme-retail.example"),
    ("x@acme-reta1l.example", "acme-retail.example"),
    ("x@acme-retaii.example", "acme-retail.example"),
    ("x@acrne-retail.example", "acme-retail.example"),  # rn for m
    ("x@c0ntoso.com", "contoso.com"),
    ("x@contos0.com", "contoso.com"),
    ("x@conto5o.com", "contoso.com"),
    ("x@gl0bex.com", "globex.com"),
    ("x@g1obex.com", "globex.com"),
    ("x@glob3x.com", "globex.com"),
    ("x@lnitech.co.uk", "initech.co.uk"),
    ("x@northvvind.example", "northwind.example"),  # vv for w
    ("x@northwincl.example", "northwind.example"),  # cl for d
    # typing differences: one edit, two for long names
    ("x@acme-retial.example", "acme-retail.example"),
    ("x@acme-retal.example", "acme-retail.example"),
    ("x@acme-retaill.example", "acme-retail.example"),
    ("x@acme-ratail.example", "acme-retail.example"),
    ("x@contosso.com", "contoso.com"),
    ("x@globexx.com", "globex.com"),
    ("x@qlobex.com", "globex.com"),
    ("x@agencv.example", "agency.example"),
    ("x@intrenationalfood.example", "internationalfoods.example"),
    ("x@internationalfood.example", "internationalfoods.example"),
    # hyphens missing or added
    ("x@acmeretail.example", "acme-retail.example"),
    ("x@acme--retail.example", "acme-retail.example"),
    ("x@acme-re-tail.example", "acme-retail.example"),
    ("x@north-wind.example", "northwind.example"),
    # another ending
    ("x@acme-retail.co", "acme-retail.example"),
    ("x@acme-retail.com", "acme-retail.example"),
    ("x@globex.co", "globex.com"),
    ("x@globex.net", "globex.com"),
    ("x@initech.com", "initech.co.uk"),
    ("x@initech.co", "initech.co.uk"),
    ("x@contoso.com.cn", "contoso.com"),
    ("x@gl0bex.co", "globex.com"),
    # the protected domain inside another
    ("x@acme-retail.example.attacker.net", "acme-retail.example"),
    ("x@mail.acme-retail.example.evil.example", "acme-retail.example"),
    ("x@acme-retail.example-secure.net", "acme-retail.example"),
    ("x@contoso.com.login-verify.net", "contoso.com"),
    ("x@initech.co.uk.evil.example", "initech.co.uk"),
    ("x@agency.example.invalid", "agency.example"),
    # words added
    ("x@acme-retail-support.example", "acme-retail.example"),
    ("x@support-acme-retail.example", "acme-retail.example"),
    ("x@acme-retail-invoices.com", "acme-retail.example"),
    ("x@acmeretailsupport.example", "acme-retail.example"),
    ("x@contoso-microsoft.com", "contoso.com"),
    ("x@globex-corp.com", "globex.com"),
    ("x@the-agency.example", "agency.example"),
    ("x@agency-example.com", "agency.example"),
    ("x@secure-contoso.com", "contoso.com"),
    ("x@contosobank.co.uk", "contoso.com"),
    # other scripts, accents, international names
    ("x@аcme-retail.example", "acme-retail.example"),  # Cyrillic а
    ("x@xn--cme-retail-yqi.example", "acme-retail.example"),  # the same, as written in DNS
    ("x@xn--acme-retal-52i.example", "acme-retail.example"),  # Cyrillic і
    ("x@xn--cme-retail-fge.example", "acme-retail.example"),  # Latin alpha ɑ
    ("x@xn--cme-retail-1lh.example", "acme-retail.example"),  # Greek α
    ("x@xn--glob-y4d0h.com", "globex.com"),  # Cyrillic е and х
    ("x@acmé-retail.example", "acme-retail.example"),
    ("x@ｃｏｎｔｏｓｏ.com", "contoso.com"),  # full-width letters
    ("x@cοntοsο.com", "contoso.com"),  # Greek ο
    # addresses at a freemail provider: the name or the provider imitated
    ("acme.b0ss@gmail.com", "acme.boss@gmail.com"),
    ("acme.bosss@gmail.com", "acme.boss@gmail.com"),
    ("acmeboss@gmail.com", "acme.boss@gmail.com"),
    ("acme.boss@gmai1.com", "acme.boss@gmail.com"),
    ("acme.boss@gmall.com", "acme.boss@gmail.com"),
    ("acme.boss@gmail.co", "acme.boss@gmail.com"),
    ("acme.b0ss@gmai1.com", "acme.boss@gmail.com"),
    ("wangfang@163.com", "wang.fang@163.com"),
    ("wang.fang@l63.com", "wang.fang@163.com"),
    ("wang.fanq@163.com", "wang.fang@163.com"),
]

NOT_LOOKALIKES = [
    # the real names, their subdomains, their other hosts
    "x@acme-retail.example",
    "x@ACME-Retail.Example",
    "x@mail.acme-retail.example",
    "x@eu.mail.acme-retail.example",
    "x@acne-retail.example",  # a protected client of its own
    "x@agency.example",
    "lena@agency.example",
    "x@globex.com",
    "x@uk.initech.co.uk",
    "acme.boss@gmail.com",
    # unrelated names
    "x@google.com",
    "x@gmail.com",
    "x@outlook.com",
    "x@retail.example",
    "x@acme.example",
    "x@travelagency.example",
    "x@agenda.example",
    "x@initiative.co.uk",
    "x@northwest.example",
    "x@foods.example",
    "x@acme-retail.atlassian.net",  # a client's own hosted tracker, not its domain
    "x@contact.co.uk",
    # freemail: other people, numbered accounts
    "bob@gmail.com",
    "anna@outlook.com",
    "acme.boss@outlook.com",  # the same name at another provider: not a look-alike
    "12345679@qq.com",
    "87654321@qq.com",
    "wang.fang2@163.com",
    "wang.fang@126.com",
    "zhang.wei@163.com",
]


@pytest.mark.parametrize(("sender", "imitated"), LOOKALIKES)
def test_lookalikes(sender: str, imitated: str) -> None:
    found = find_lookalike(Address("", sender), DOMAINS, ADDRESSES)
    assert found is not None, sender
    assert found.of == imitated
    assert imitated in found.reason


@pytest.mark.parametrize("sender", NOT_LOOKALIKES)
def test_not_lookalikes(sender: str) -> None:
    assert find_lookalike(Address("", sender.lower()), DOMAINS, ADDRESSES) is None


@pytest.mark.parametrize(
    ("name", "sender", "imitated"),
    [
        ("anna@acme-retail.example", "x@evil.example", "acme-retail.example"),
        ("acme.boss@gmail.com", "acme.boss@gmx.example", "acme.boss@gmail.com"),
        ("ACME Retail (acme-retail.example)", "noreply@mailer.example", "acme-retail.example"),
        ("Lena via lena@agency.example", "lena.k@gmail.com", "lena@agency.example"),
        ("ｔｅａｍ＠ａｇｅｎｃｙ.example", "x@evil.example", "team@agency.example"),
    ],
)
def test_a_display_name_showing_a_protected_name(name: str, sender: str, imitated: str) -> None:
    found = find_lookalike(Address(name, sender), DOMAINS, ADDRESSES)
    assert found is not None and found.of == imitated
    assert found.reason == f"the display name shows {imitated} but the mail is from {sender}"


@pytest.mark.parametrize(
    ("name", "sender"),
    [
        ("anna@acme-retail.example", "anna@acme-retail.example"),
        ("Anna (acme-retail.example)", "anna@mail.acme-retail.example"),
        ("ceo@acme-retail.example", "assistant@acme-retail.example"),  # same organisation
        ("Anna Li", "x@evil.example"),
        ("notacme-retail.example.com fan", "x@evil.example"),  # not the domain itself
        ("Bob from acme-retail.examples", "x@evil.example"),
    ],
)
def test_display_names_that_are_fine(name: str, sender: str) -> None:
    assert find_lookalike(Address(name, sender), DOMAINS, ADDRESSES) is None


def test_reasons_name_the_pattern() -> None:
    def reason(sender: str) -> str:
        found = find_lookalike(Address("", sender), DOMAINS, ADDRESSES)
        assert found is not None
        return found.reason

    assert reason("x@acme-retai1.example") == (
        "the From domain acme-retai1.example imitates acme-retail.example: look-alike letters"
    )
    assert reason("x@acme-retial.example").endswith(": a letter or two changed")
    assert reason("x@acme-retail.co").endswith(": the same name under .co instead of .example")
    assert reason("x@acme-retail.example.attacker.net").endswith(
        ": it puts acme-retail.example inside another name"
    )
    assert reason("x@acme-retail-support.example").endswith(": acme-retail with words added")
    assert reason("x@xn--cme-retail-yqi.example") == (
        "the From domain xn--cme-retail-yqi.example (аcme-retail.example) imitates"
        " acme-retail.example: look-alike letters (mixes Cyrillic and Latin letters)"
    )
    assert reason("acme.b0ss@gmail.com") == (
        "the From address acme.b0ss@gmail.com imitates acme.boss@gmail.com:"
        " the name: look-alike letters"
    )


@pytest.mark.parametrize(
    ("a", "b", "limit", "expected"),
    [
        ("acmeretail", "acmeretail", 0, True),
        ("acmeretail", "acmeretial", 1, True),  # a swap is one edit
        ("acmeretail", "acmretail", 1, True),
        ("acmeretail", "acmeretaill", 1, True),
        ("acmeretail", "acmeretxxl", 1, False),
        ("acmeretail", "acmeretxxl", 2, True),
        ("abc", "abcdef", 2, False),
        ("", "ab", 2, True),
        ("ca", "abc", 1, False),
    ],
)
def test_within_edits(a: str, b: str, limit: int, expected: bool) -> None:
    assert within_edits(a, b, limit) is expected
    assert within_edits(b, a, limit) is expected


def test_skeleton_and_likeness() -> None:
    assert skeleton("acme-retai1") == skeleton("Аcme-Retail") == skeleton("acmé_retail")
    assert skeleton("modern") == skeleton("modem")
    assert likeness("acme", "acme") is None
    assert likeness("abcd", "abce") is None  # short names must look the same
    assert likeness("12345678", "12345679") is None  # numbered accounts
    assert likeness("x" * 64, "x" * 63 + "y") is None  # longer than a DNS label: not compared
    assert similar_domain("", "acme.example") is None
    assert similar_domain("acme.example", "") is None


def test_many_protected_names_and_a_hostile_sender_cost_little() -> None:
    domains = tuple(f"client{i}-{'x' * (i % 40)}.example" for i in range(2_000))
    addresses = tuple(f"person{i}@mail{i}.example" for i in range(2_000))
    sender = Address("@." * 5_000, ("a-" * 30 + "b") + "@" + ("c" * 60 + ".") * 4 + "example")

    def both() -> None:
        find_lookalike(sender, domains, addresses)
        find_lookalike(Address("", "someone@client17-zzzz.example"), domains, addresses)

    assert best_of(both) < 2.0
