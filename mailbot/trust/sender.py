"""Who sent it: a sender verdict for every mail, with its reasons (see docs/security.md).

`check_sender` answers, in this order of strength:

- **lookalike**: the From domain, address or display name imitates a client's or our own
  (`lookalike`); this wins over everything, whatever the authentication says;
- **failed**: the authentication says the mail is not from the From domain (DMARC fail, a
  DKIM signature or SPF check of that domain failing, several From addresses);
- **verified**: a trusted server's Authentication-Results (DMARC pass, or DKIM or SPF pass
  aligned with the From domain), or without one, a valid DKIM signature of the From
  domain's organisation checked here;
- **unverified**: nothing proves it either way (no signature, a DNS failure, ...).

Pure but for the DKIM key lookup, which is injectable (`dkim_verify`); nothing here raises.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any, Protocol

from mailbot.config_types import AuthPolicy, ProjectConfig, SiteConfig
from mailbot.message import Address, Message
from mailbot.trust import domains
from mailbot.trust.authres import judge, read_trusted
from mailbot.trust.lookalike import find_lookalike
from mailbot.trust.signatures import DkimCheck, DkimVerifier, dkimpy_verifier

log = logging.getLogger("mailbot.trust")

STATUSES = ("verified", "unverified", "failed", "lookalike")
METHODS = ("authentication-results", "dkim", "none")
MAX_REASONS = 12
MAX_FROM = 5  # From headers read: more than one is already too many
MAX_FROM_CHARS = 8_000  # of each
MAX_HEAD = 256_000  # bytes of the header block read for them
# A From line and the lines folded into it (line ends CRLF or LF).
_FROM_FIELD = re.compile(rb"^from:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class SenderVerdict:
    """Who sent a mail, as far as it can be proven, and why; stored with the mail."""

    status: str  # "verified" | "unverified" | "failed" | "lookalike"
    method: str  # "authentication-results" | "dkim" | "none"
    reasons: tuple[str, ...]  # plain words: "dmarc=fail (p=reject) by mx.agency.example"
    lookalike_of: str | None = None  # the protected domain or address it imitates

    @property
    def verified(self) -> bool:
        return self.status == "verified"

    @property
    def suspicious(self) -> bool:
        """Possible impersonation: filed for the PM's review, never answered."""
        return self.status in ("failed", "lookalike")

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "method": self.method,
            "reasons": list(self.reasons),
            "lookalike_of": self.lookalike_of,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SenderVerdict:
        status, method = data.get("status"), data.get("method", "none")
        if status not in STATUSES or method not in METHODS:
            raise ValueError(f"not a sender verdict: status {status!r}, method {method!r}")
        lookalike_of = data.get("lookalike_of")
        return cls(
            status=status,
            method=method,
            reasons=tuple(str(reason) for reason in data.get("reasons", ())),
            lookalike_of=None if lookalike_of is None else str(lookalike_of),
        )


# --- the policy from the config -------------------------------------------------------------


class Configured(Protocol):
    """What `auth_policy` reads of `mailbot.config.Config`."""

    @property
    def authentication(self) -> AuthPolicy: ...
    @property
    def site(self) -> SiteConfig: ...
    @property
    def projects(self) -> tuple[ProjectConfig, ...]: ...


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip().lower() for v in values if v and v.strip()))


def auth_policy(config: Configured) -> AuthPolicy:
    """[authentication] with the names to protect: every project's client domains and
    addresses and VIPs, and our own domain and addresses (the inbox, aliases, PMs)."""
    site, projects = config.site, config.projects
    ours = [site.address, *site.own_addresses]
    ours += [a for p in projects for a in (p.alias, p.pm)]
    clients = [a for p in projects for a in (*p.client_addresses, *p.vip_addresses)]
    own_domains = [site.domain, site.address.rpartition("@")[2]]
    client_domains = [d for p in projects for d in p.client_domains]
    return replace(
        config.authentication,
        protected_domains=_unique([*client_domains, *own_domains]),
        protected_addresses=_unique([*clients, *ours]),
    )


# --- the verdict ------------------------------------------------------------------------------


def from_count(raw: bytes) -> int:
    """How many From addresses the mail has, in all its From headers, read as sent.

    The encoded header is read, not the decoded one: an address spelled inside an encoded
    display name is a name, not a second sender.
    """
    head = raw[:MAX_HEAD].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    fields = BytesHeaderParser(policy=compat32).parsebytes(head).get_all("from") or []
    values = [str(value)[:MAX_FROM_CHARS] for value in fields[:MAX_FROM]]
    found = [addr for _name, addr in getaddresses(values) if "@" in addr]
    return max(len(found), len(values))


def several_from(raw: bytes) -> bool:
    """`from_count(raw) > 1`, without parsing the header where it cannot be: one From line
    at most, with one "@" at most, and no line ended by a lone CR (which the parser reads
    as a line end and this does not)."""
    head = raw[:MAX_HEAD].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    fields = _FROM_FIELD.findall(head)
    one_at_most = len(fields) <= 1 and sum(f.count(b"@") for f in fields) <= 1
    if one_at_most and head.count(b"\r") == head.count(b"\r\n"):
        return False
    return from_count(raw) > 1


def judge_dkim(checks: Sequence[DkimCheck], from_domain: str) -> tuple[str, list[str]]:
    """A valid signature aligned with the From domain verifies; one of that domain that
    does not match the mail fails; anything else proves nothing."""

    def line(check: DkimCheck) -> str:
        return f"DKIM d={check.domain or '?'} s={check.selector or '?'}: {check.detail}"

    if not checks:
        return "unverified", ["no trusted Authentication-Results and no DKIM signature"]
    for check in checks:
        if check.result == "pass" and domains.aligned(check.domain, from_domain):
            return "verified", [f"{line(check)} (aligned with {from_domain})"]
    fails = [
        c
        for c in checks
        if c.result == "fail" and (not c.domain or domains.aligned(c.domain, from_domain))
    ]
    if fails:
        return "failed", [line(c) for c in fails]
    return "unverified", [
        line(c) + (f" (not aligned with {from_domain})" if c.result == "pass" else "")
        for c in checks
    ]


def _dkim(
    raw: bytes, from_domain: str, policy: AuthPolicy, verify: DkimVerifier | None
) -> tuple[str, str, list[str]]:
    """(status, method, reasons) from the DKIM signatures checked here."""
    if not policy.verify_dkim:
        return "unverified", "none", ["no trusted Authentication-Results; DKIM is not checked"]
    try:
        checks = (verify or dkimpy_verifier())(raw, timeout=policy.dkim_timeout)
    except Exception as err:  # an injected verifier that fails: the mail stays unverified
        return "unverified", "dkim", [f"DKIM could not be checked ({type(err).__name__})"]
    status, reasons = judge_dkim(checks, from_domain)
    return status, "dkim" if checks else "none", reasons


def authenticate(
    raw: bytes,
    message: Message,
    from_domain: str,
    policy: AuthPolicy,
    verify: DkimVerifier | None = None,
) -> tuple[str, str, list[str]]:
    """(status, method, reasons): a trusted server's word, else the DKIM signatures."""
    trusted = read_trusted(message.headers, policy.trusted_authserv_ids)
    if trusted.authserv_id is not None:
        status, reasons = judge(trusted.results, from_domain, trusted.authserv_id)
        return status, "authentication-results", [*reasons, *trusted.notes]
    status, method, reasons = _dkim(raw, from_domain, policy, verify)
    return status, method, [*reasons, *trusted.notes]


def _verdict(
    raw: bytes, message: Message, policy: AuthPolicy, verify: DkimVerifier | None
) -> SenderVerdict:
    sender: Address | None = message.from_
    from_domain = domains.clean(sender.email.rpartition("@")[2]) if sender else ""
    if sender is None or "@" not in sender.email or not from_domain:
        return SenderVerdict("unverified", "none", ("no readable From address",))
    status, method, reasons = authenticate(raw, message, from_domain, policy, verify)
    if several_from(raw):
        status = "failed"
        reasons.insert(0, "several From addresses: a mail program may show another one")
    copy = find_lookalike(sender, policy.protected_domains, policy.protected_addresses)
    if copy is not None:
        return SenderVerdict("lookalike", method, (copy.reason, *reasons)[:MAX_REASONS], copy.of)
    return SenderVerdict(status, method, tuple(reasons[:MAX_REASONS]))


def check_sender(
    raw: bytes, message: Message, policy: AuthPolicy, *, dkim_verify: DkimVerifier | None = None
) -> SenderVerdict:
    """Who sent this mail, as far as can be proven. `dkim_verify` checks the DKIM signatures
    when no trusted server did (default: dkimpy with the system's resolver and
    `policy.dkim_timeout`). Never raises: a check that breaks gives "unverified"."""
    try:
        return _verdict(raw, message, policy, dkim_verify)
    except Exception as err:  # last line of defence: a verdict for every mail
        log.warning("sender check failed for %s", message.message_id, exc_info=True)
        reason = f"the sender could not be checked ({type(err).__name__})"
        return SenderVerdict("unverified", "none", (reason,))
