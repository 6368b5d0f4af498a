"""Address headers on hostile input: the fast patterns stay linear and agree with the old ones
(fixtures: tests/fixtures/hostile/ORIGIN.md)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from mailbot.message import Address
from mailbot.parse import addresses, parse_bytes
from mailbot.parse.addresses import parse_addresses

pytestmark = pytest.mark.no_database

HOSTILE = Path(__file__).parents[2] / "fixtures" / "hostile"

# The patterns as they were: a lazy name before `\s*<`, and `[^…]+@[^…]+` whose class holds
# "@", both quadratic (50,000 spaces: 4 s; 65,000 "a@": over 4 minutes).
OLD_SIMPLE = re.compile(
    r'^\s*(?:"([^"\\<>]*)"|([^",;:<>()@\\]*?))\s*<([^<>\s,;:"()]+@[^<>\s,;:"()]+)>\s*$'
)
OLD_BARE = re.compile(r'^\s*<?([^<>\s,;:"()]+@[^<>\s,;:"()]+)>?\s*$')


def _old_pair(value: str) -> tuple[str, str] | None:
    match = OLD_BARE.match(value)
    if match:
        return "", match.group(1)
    match = OLD_SIMPLE.match(value)
    if match:
        return (match.group(1) or match.group(2) or "").strip(), match.group(3)
    return None


def test_simple_pairs_agree_with_the_old_patterns() -> None:
    atoms = [
        " ", "\t", "a", "@", "<", ">", '"', "Anna", "x.y", ",", ";", ":", "(", ")", "\\",
        "\u3000", "=?utf-8?b?x?=", "a@b", "<a@b>",
    ]  # fmt: skip
    rnd = random.Random(5)
    found = 0
    for _ in range(50_000):
        value = "".join(rnd.choice(atoms) for _ in range(rnd.randint(0, 9)))
        expected = _old_pair(value)
        found += expected is not None
        assert addresses._simple_pair(value) == expected, value
    assert found > 1000


def test_display_name_padded_with_50k_spaces() -> None:
    message = parse_bytes((HOSTILE / "F9-from-50k-spaces.eml").read_bytes())
    assert message.from_ == Address("a b", "anna@acme-retail.example")
    assert message.defects == ("From header of 48 KB: runs of spaces folded",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "a" + "\t" * 50_000 + "b <anna@example.com>",
            ("a" + "\t" * 50_000 + "b", "anna@example.com"),
        ),
        ('"' + " " * 50_000 + '" <anna@example.com>', ("", "anna@example.com")),
        ("<" + "a@" * 30_000 + "b>", ("", "a@" * 30_000 + "b")),
        ("<" + "a@" * 30_000 + ">x", None),
        ("a" + " " * 50_000 + "@", None),
        (" " * 50_000 + "<anna@example.com" + " " * 50_000, ("", "anna@example.com")),
    ],
)
def test_hostile_values_are_parsed_the_old_way(value: str, expected: object) -> None:
    assert addresses._simple_pair(value) == expected


def test_at_signs_without_a_readable_address_are_a_defect() -> None:
    defects: list[str] = []
    # Not a simple pair: the stdlib parser gets it, and finds at most one address.
    assert len(parse_addresses(["<" + "a@" * 30_000 + ">x"], defects, "to")) <= 1
    assert parse_addresses(["a" + " " * 50_000 + "@"], defects, "from") == ()
    assert "unreadable from header" in defects
