"""Look-alikes of the names we protect: the client domains and addresses, and our own.

A sender imitates a protected domain when its domain is not that domain nor one of its
subdomains, and yet: puts it inside another name (acme-retail.example.evil.net), has the
same name under another ending (acme-retail.co), letters that look the same (acme-retai1,
аcme with a Cyrillic а, xn--... decoded, rn for m, vv for w), a missing or extra hyphen, a
letter or two typed differently (Damerau-Levenshtein: one edit, two for long names), or
words added (acme-retail-support). An address imitates a protected address the same way
(anna.smith@gmail.com and anna.smlth@gmail.com, or anna@gmai1.com). A display name that
shows a protected address or domain while the mail comes from elsewhere imitates it too.

Names differing only in their digits (12345678@qq.com, 12345679@qq.com) are different
accounts, not look-alikes. Every input is bounded and every comparison is linear (edits are
counted in a band), so hostile names cost little.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from mailbot.message import Address
from mailbot.trust import domains

MAX_PROTECTED = 2_000  # protected domains and addresses compared
MAX_NAME = 200  # characters of a display name read
MAX_LABEL = 63  # longer labels (or local parts) are not compared letter by letter
MAX_PARTS = 10  # hyphen-separated words of a label looked at
SHORT = 5  # names shorter than this must look the same: no edit allowed
LONG = 10  # names this long may be two edits apart


@dataclass(frozen=True, slots=True)
class Lookalike:
    of: str  # the protected domain or address imitated
    reason: str


# --- what a name looks like ---------------------------------------------------------------

_CONFUSABLE = str.maketrans(
    {
        # digits and signs for letters
        "0": "o", "1": "l", "3": "e", "5": "s", "8": "b", "i": "l", "|": "l", "!": "l",
        "-": None, "_": None, ".": None, "+": None,
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "і": "l", "ј": "j", "к": "k", "м": "m", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "һ": "h",
        "ӏ": "l", "ԛ": "q", "ԝ": "w", "ь": "b", "п": "n",
        # Greek
        "α": "a", "β": "b", "ε": "e", "ι": "l", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "ω": "w", "γ": "y",
        # Latin and Armenian letters that pass for plain ones
        "ı": "l", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "l", "ɪ": "l", "ʟ": "l", "ǀ": "l",
        "ո": "n", "ս": "u", "օ": "o", "ց": "g", "ł": "l", "ø": "o", "đ": "d", "ħ": "h",
    }
)  # fmt: skip
_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def letters(name: str) -> str:
    """A name as its plain letters: case, accents, hyphens and dots gone, confusable
    letters and digits as their Latin twin ("acme-retai1" and "аcmeretail": "acmeretall")."""
    text = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch)).translate(_CONFUSABLE)


def skeleton(name: str) -> str:
    """What a name looks like: its `letters`, and letter pairs read as one (rn as m)."""
    text = letters(name)
    for pair, single in _PAIRS:
        text = text.replace(pair, single)
    return text


def letters_note(label: str) -> str:
    """ " (mixes Latin and Cyrillic letters)" for a name written in more than one script."""
    if label.isascii():
        return ""
    scripts = sorted(
        {unicodedata.name(ch, "?").split(" ")[0].title() for ch in label if ch.isalpha()}
    )
    if len(scripts) > 1:
        return f" (mixes {' and '.join(scripts)} letters)"
    return f" ({scripts[0]} letters)" if scripts else ""


def within_edits(a: str, b: str, limit: int) -> bool:
    """Damerau-Levenshtein (optimal string alignment) distance at most `limit`, counted in
    a band of width 2 * limit + 1: time linear in the length."""
    if abs(len(a) - len(b)) > limit:
        return False
    if a == b or limit == 0:
        return a == b
    far = limit + 1
    before: list[int] = []
    previous = [j if j <= limit else far for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        current = [i if i <= limit else far] + [far] * len(b)
        for j in range(max(1, i - limit), min(len(b), i + limit) + 1):
            cost = a[i - 1] != b[j - 1]
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, before[j - 2] + 1)
            current[j] = min(best, far)
        if min(current) > limit:
            return False
        before, previous = previous, current
    return previous[len(b)] <= limit


def _allowed_edits(name: str) -> int:
    return 0 if len(name) < SHORT else 1 if len(name) < LONG else 2


def _digits_only(a: str, b: str) -> bool:
    """Two names the same but for their digits: numbered accounts, not a disguise."""
    return a != b and a.translate(_NO_DIGITS) == b.translate(_NO_DIGITS)


_NO_DIGITS = str.maketrans("", "", "0123456789")


def likeness(name: str, protected: str) -> str | None:
    """How `name` looks like `protected` without being it (labels or local parts), or None."""
    if name == protected or max(len(name), len(protected)) > MAX_LABEL:
        return None
    mine, theirs = skeleton(name), skeleton(protected)
    if mine == theirs:
        return "look-alike letters"
    if _digits_only(name, protected):
        return None
    limit = _allowed_edits(theirs)
    if within_edits(mine, theirs, limit) or within_edits(letters(name), letters(protected), limit):
        return "a letter or two changed"
    return None


def _words_added(label: str, protected_label: str) -> bool:
    """The protected name with words around it: acme-retail-support, myacme-retail."""
    theirs = skeleton(protected_label)
    parts = [skeleton(part) for part in label.split("-")[:MAX_PARTS] if part]
    if len(theirs) >= 3 and len(parts) > 1:
        for start in range(len(parts)):
            joined = ""
            for end in range(start, len(parts)):
                joined += parts[end]
                if joined == theirs and end - start + 1 < len(parts):
                    return True
                if len(joined) >= len(theirs):
                    break
    mine = skeleton(label)
    return len(theirs) >= 6 and mine != theirs and mine.startswith(theirs)


# --- domains, addresses, display names -------------------------------------------------------


def _embedded(domain: str, protected: str) -> bool:
    """The whole protected domain inside another: acme.example.evil.net, acme.example-x.net."""
    dotted = "." + domain
    return dotted.find("." + protected + ".") >= 0 or dotted.find("." + protected + "-") >= 0


def similar_domain(domain: str, protected: str) -> str | None:
    """Why `domain` imitates `protected`, or None: it is it, a subdomain, or unrelated."""
    mine, theirs = domains.to_unicode(domain), domains.to_unicode(protected)
    if not mine or not theirs or domains.within(mine, theirs):
        return None
    if domains.organisation(mine) == domains.organisation(theirs):
        return None  # another host of the same organisation
    if _embedded(mine, theirs):
        return f"it puts {theirs} inside another name"
    label, suffix = domains.split(mine)
    their_label, their_suffix = domains.split(theirs)
    ending = "" if suffix == their_suffix else f" under .{suffix} instead of .{their_suffix}"
    if label == their_label:
        return f"the same name{ending}"
    if alike := likeness(label, their_label):
        return f"{alike}{ending}{letters_note(label)}"
    if _words_added(label, their_label):
        return f"{their_label} with words added{ending}"
    return None


def similar_address(address: str, protected: str) -> str | None:
    """Why `address` imitates `protected` (same or look-alike domain, look-alike name)."""
    local, _, domain = address.rpartition("@")
    their_local, _, their_domain = protected.rpartition("@")
    if address == protected or not local or not their_local:
        return None
    alike = likeness(local, their_local)
    if domain == their_domain:
        return f"the name: {alike}" if alike else None
    if local != their_local and not alike:
        return None
    why = similar_domain(domain, their_domain)
    return f"its domain: {why}" if why else None


def _mentions(text: str, name: str) -> bool:
    """`name` appears in `text` as a whole domain or address, not inside a longer one."""
    start = text.find(name)
    while start >= 0:
        end = start + len(name)
        before = text[start - 1] if start else " "
        after = text[end : end + 2]
        if not (before.isalnum() or before in ".-") and not (
            after[:1].isalnum() or after[:1] == "-" or (after[:1] == "." and after[1:2].isalnum())
        ):
            return True
        start = text.find(name, start + 1)
    return False


def display_name_claim(
    address: Address, protected_domains: Sequence[str], protected_addresses: Sequence[str]
) -> Lookalike | None:
    """A display name showing a protected address or domain while the mail is from elsewhere:
    "anna@acme-retail.example" <x@evil.example>."""
    text = unicodedata.normalize("NFKC", address.name[:MAX_NAME]).casefold()
    email = address.email.lower()
    organisation = domains.organisation(email.rpartition("@")[2])
    if "." not in text:
        return None
    shown = [a for a in protected_addresses[:MAX_PROTECTED] if a in text and _mentions(text, a)]
    shown += [d for d in protected_domains[:MAX_PROTECTED] if d in text and _mentions(text, d)]
    for name in shown:
        if name != email and domains.organisation(name.rpartition("@")[2]) != organisation:
            return Lookalike(name, f"the display name shows {name} but the mail is from {email}")
    return None


def find_lookalike(
    address: Address, protected_domains: Sequence[str], protected_addresses: Sequence[str]
) -> Lookalike | None:
    """The protected domain or address the sender imitates, or None."""
    email = address.email.strip().lower()
    domain = domains.clean(email.rpartition("@")[2])
    if "@" not in email or not domain:
        return None
    claim = display_name_claim(address, protected_domains, protected_addresses)
    if claim is not None:
        return claim
    if email in protected_addresses or any(domains.within(domain, d) for d in protected_domains):
        return None  # a protected address, or at a protected domain: authentication decides
    for protected in protected_domains[:MAX_PROTECTED]:
        if why := similar_domain(domain, protected):
            shown = domains.to_unicode(domain)
            seen = f"{domain} ({shown})" if shown != domain else domain
            return Lookalike(protected, f"the From domain {seen} imitates {protected}: {why}")
    for protected in protected_addresses[:MAX_PROTECTED]:
        if why := similar_address(email, protected):
            return Lookalike(protected, f"the From address {email} imitates {protected}: {why}")
    return None
