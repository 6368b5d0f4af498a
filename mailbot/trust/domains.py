"""Domain names as the sender checks compare them: one spelling, organisations, alignment.

Without the Public Suffix List, an organisation's domain is cut by a simple rule: the last
two labels, or three under a two-letter country code whose second label is a common
second level (acme.com.cn, acme.co.uk). Good enough to align a DKIM d= with a From domain
and to compare two names; a domain under a shared hosting suffix (github.io) counts as the
host's organisation.
"""

from __future__ import annotations

import contextlib

MAX_DOMAIN = 253  # longer is not a domain name (RFC 1035); it is never aligned or compared
_SECOND_LEVEL = frozenset(
    {"ac", "co", "com", "edu", "gob", "go", "gov", "ltd", "mil", "ne", "net", "or", "org", "plc"}
)


def clean(domain: str) -> str:
    """Lower-case, without surrounding dots and spaces; "" when too long to be a domain."""
    domain = domain.strip().strip(".").lower()
    return domain if len(domain) <= MAX_DOMAIN else ""


def to_ascii(domain: str) -> str:
    """The A-label spelling (xn--...) used in DNS and in Authentication-Results."""
    domain = clean(domain)
    if domain.isascii():
        return domain
    with contextlib.suppress(UnicodeError):
        return domain.encode("idna").decode("ascii")
    return domain


def to_unicode(domain: str) -> str:
    """The spelling a person sees: each xn-- label decoded where it can be."""
    labels = clean(domain).split(".")
    for i, label in enumerate(labels):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                labels[i] = label.encode("ascii").decode("idna")
    return ".".join(labels)


def split(domain: str) -> tuple[str, str]:
    """("acme-retail", "example") from "mail.acme-retail.example": the organisation's own
    label and the suffix it is registered under."""
    labels = clean(domain).split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return labels[-3], ".".join(labels[-2:])
    if len(labels) >= 2:
        return labels[-2], labels[-1]
    return labels[0], ""


def organisation(domain: str) -> str:
    """ "acme-retail.example" for "mail.acme-retail.example"; "" for a bare suffix."""
    label, suffix = split(domain)
    return f"{label}.{suffix}" if label and suffix else ""


def within(domain: str, parent: str) -> bool:
    """The domain is the parent itself or one of its subdomains."""
    domain, parent = clean(domain), clean(parent)
    return bool(parent) and (domain == parent or domain.endswith("." + parent))


def aligned(domain: str, from_domain: str) -> bool:
    """DMARC's relaxed alignment: both belong to the same organisation."""
    ours = organisation(to_ascii(domain))
    return bool(ours) and ours == organisation(to_ascii(from_domain))
