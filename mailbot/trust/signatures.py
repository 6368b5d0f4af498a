"""DKIM signatures checked here, with dkimpy, when no trusted server reported on them.

Each DKIM-Signature gives one `DkimCheck`: pass, fail (the body or a signed header changed,
or the signature is wrong), temperror (the DNS lookup of the key failed) or permerror (no
usable key, an expired or unreadable signature). The DNS lookup is dkimpy's `dnsfunc`,
injectable so that tests publish their own key; nothing here raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import dkim
import dkim.dnsplug

from mailbot.trust import domains

MAX_SIGNATURES = 5  # signatures checked per mail (each may cost one DNS lookup)
MAX_SIGNATURE_HEADER = 8 * 1024  # a longer DKIM-Signature is not checked
MAX_RAW = 50 * 1024 * 1024  # bytes; a bigger mail is not checked

DnsFunc = Callable[..., bytes | str | None]  # dkimpy's: dnsfunc(name: bytes, timeout=5)
_QUIET = logging.getLogger("mailbot.trust.dkimpy")  # dkimpy logs every failure as an error
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


@dataclass(frozen=True, slots=True)
class DkimCheck:
    domain: str  # d=, lower-case; "" when unreadable
    selector: str  # s=
    result: str  # "pass" | "fail" | "temperror" | "permerror"
    detail: str  # plain words: "body changed since it was signed"


class DkimVerifier(Protocol):
    """Checks every DKIM signature of one raw mail."""

    def __call__(self, raw: bytes, *, timeout: float) -> tuple[DkimCheck, ...]: ...


class _Lookup:
    """dkimpy's dnsfunc, remembering what went wrong: dkimpy reports only False."""

    def __init__(self, dnsfunc: DnsFunc) -> None:
        self.dnsfunc = dnsfunc
        self.error = ""
        self.missing = False

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | str | None:
        self.error, self.missing = "", False
        try:
            record = self.dnsfunc(name, timeout=timeout)
        except Exception as err:  # any resolver failure is a temporary error, never a crash
            self.error = str(err) or type(err).__name__
            raise dkim.DnsTimeoutError(self.error) from err
        self.missing = not record
        return record


def _tags(value: bytes) -> dict[str, str]:
    """d= and s= of a DKIM-Signature for the reasons, read without dkimpy's checks."""
    found: dict[str, str] = {}
    for spec in value[:MAX_SIGNATURE_HEADER].split(b";"):
        key, _, tag = spec.partition(b"=")
        found.setdefault(
            key.strip().decode("ascii", "replace").lower(),
            " ".join(tag.decode("ascii", "replace").split()),
        )
    return found


def _failure(err: Exception) -> tuple[str, str]:
    """(result, detail) for what dkimpy raised while checking one signature: a changed body
    fails; an unreadable, incomplete or expired signature proves nothing either way."""
    text = str(err)[:120]
    if isinstance(err, dkim.ValidationError) and text.startswith("body hash mismatch"):
        return "fail", "the body changed since it was signed"
    if isinstance(err, dkim.ValidationError) and text.startswith("x= value is past"):
        return "permerror", "the signature has expired"
    if isinstance(err, dkim.DKIMException):
        return "permerror", f"the signature or its key cannot be used ({text})"
    return "permerror", f"the signature could not be checked ({type(err).__name__})"


def _check_one(signer: dkim.DKIM, index: int, value: bytes, lookup: _Lookup) -> DkimCheck:
    tags = _tags(value)
    domain, selector = domains.clean(tags.get("d", "")), tags.get("s", "")
    where = f"{selector}._domainkey.{domain}"
    if len(value) > MAX_SIGNATURE_HEADER:
        return DkimCheck(domain, selector, "permerror", "the signature is too long to check")
    signer.pk = None  # set by dkimpy once the key is read: tells a bad key from a bad signature
    try:
        valid = signer.verify(idx=index, dnsfunc=lookup)
    except Exception as err:  # dkimpy raises for malformed input; one check, never a crash
        return DkimCheck(domain, selector, *_failure(err))
    if valid:
        return DkimCheck(domain, selector, "pass", "the signature is valid")
    if lookup.error:
        return DkimCheck(domain, selector, "temperror", f"DNS lookup of {where}: {lookup.error}")
    if lookup.missing:
        return DkimCheck(domain, selector, "permerror", f"no key published at {where}")
    if signer.pk is None:
        return DkimCheck(domain, selector, "permerror", f"the key at {where} cannot be used")
    return DkimCheck(domain, selector, "fail", "the signature does not match the mail")


def _head(raw: bytes) -> bytes:
    """The header block of a mail, with the blank line that ends it."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep)) >= 0]
    return raw[: min(ends)] if ends else raw


def verify_signatures(raw: bytes, *, timeout: float, dnsfunc: DnsFunc) -> tuple[DkimCheck, ...]:
    """One check for each of the first `MAX_SIGNATURES` DKIM signatures of the mail."""
    if len(raw) > MAX_RAW:
        return (DkimCheck("", "", "permerror", "the mail is too large to check its signature"),)
    try:
        # The header first: an unsigned mail's body is not copied and read for nothing.
        headers = dkim.DKIM(_head(raw), logger=_QUIET, timeout=timeout).headers
        if not any(name.lower() == b"dkim-signature" for name, _value in headers):
            return ()
        signer = dkim.DKIM(raw, logger=_QUIET, timeout=timeout)
    except Exception as err:  # dkimpy's own parser rejects some headers
        return (DkimCheck("", "", "permerror", f"the mail cannot be read for DKIM: {err}"[:200]),)
    values = [value for name, value in signer.headers if name.lower() == b"dkim-signature"]
    lookup = _Lookup(dnsfunc)
    return tuple(
        _check_one(signer, index, value, lookup)
        for index, value in enumerate(values[:MAX_SIGNATURES])
    )


def dkimpy_verifier(dnsfunc: DnsFunc | None = None) -> DkimVerifier:
    """The verifier `check_sender` uses: dkimpy, with the system's DNS resolver unless a
    `dnsfunc(name, timeout=...)` returning the TXT record (or None) is given."""

    def verify(raw: bytes, *, timeout: float) -> tuple[DkimCheck, ...]:
        return verify_signatures(raw, timeout=timeout, dnsfunc=dnsfunc or dkim.dnsplug.get_txt)

    return verify
