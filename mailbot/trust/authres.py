"""Authentication-Results (RFC 8601), read only from the servers we trust.

Anyone can write an Authentication-Results header into the mail they send, so only those
whose authserv-id is listed in `authentication.trusted_authserv_ids` are read, and only
the topmost group of them: the topmost trusted header and the trusted headers with the
same authserv-id right below it, up to the next Received header (OpenDKIM and OpenDMARC
each write their own). A header of the same name further down came with the mail. For each
method the topmost header that reports it wins.

Each header is cut at `MAX_HEADER` characters and at most `MAX_HEADERS` are read; the
tokenizer is one pass over the text, so hostile input costs linear time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailbot.trust import domains

MAX_HEADER = 8 * 1024  # characters of one header read
MAX_HEADERS = 20  # Authentication-Results headers read
MAX_SCANNED = 500  # headers of the mail looked through, from the top
MAX_RESULTS = 50  # results kept from one header
MAX_NOTES = 5  # "ignored" notes kept


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One result such as `dkim=pass header.d=acme.example`, names lower-case."""

    method: str  # "dmarc", "dkim", "spf", "arc", ...
    result: str  # "pass", "fail", "none", "softfail", "temperror", ...
    properties: tuple[tuple[str, str], ...] = ()  # ("header.d", "acme.example"), ("reason", ..)
    comment: str = ""  # the comments, e.g. "p=REJECT sp=REJECT dis=NONE"

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.properties if key == name), None)


@dataclass(frozen=True, slots=True)
class AuthHeader:
    authserv_id: str  # lower-case; "" when the header names none (Exchange Online writes so)
    results: tuple[AuthResult, ...]


@dataclass(frozen=True, slots=True)
class TrustedResults:
    """What the trusted servers said: `authserv_id` None when no trusted header was found."""

    authserv_id: str | None
    results: tuple[AuthResult, ...]
    notes: tuple[str, ...]  # headers ignored, and why


# --- reading one header ---------------------------------------------------------------------

Segment = tuple[list[str], list[str]]  # the words and the comments between two ';'
_SPECIALS = ("=", "/")


class _Tokens:
    """The state of the one-pass tokenizer: words, '=' and '/' as words of their own,
    quoted strings as one word, comments (nested) apart."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.words: list[str] = []
        self.comments: list[str] = []
        self.word: list[str] = []
        self.comment: list[str] = []

    def flush_word(self) -> None:
        if self.word:
            self.words.append("".join(self.word))
            self.word = []

    def flush_comment(self) -> None:
        text = " ".join("".join(self.comment).split())
        if text:
            self.comments.append(text)
        self.comment = []

    def end_segment(self) -> None:
        self.flush_word()
        self.segments.append((self.words, self.comments))
        self.words, self.comments = [], []


def segments(value: str) -> list[Segment]:
    """Split a header value at ';' (outside quotes and comments) into words and comments."""
    tokens = _Tokens()
    depth, quoted, escaped = 0, False, False
    for ch in value:
        if escaped:
            (tokens.comment if depth else tokens.word).append(ch)
            escaped = False
        elif (quoted or depth) and ch == "\\":
            escaped = True
        elif quoted:
            if ch == '"':
                quoted = False
            else:
                tokens.word.append(ch)
        elif depth:
            depth += (ch == "(") - (ch == ")")
            if depth:
                tokens.comment.append(ch)
            else:
                tokens.flush_comment()
        elif ch == '"':
            quoted = True
        elif ch == "(":
            tokens.flush_word()
            depth = 1
        elif ch == ";":
            tokens.end_segment()
        elif ch in "=/":
            tokens.flush_word()
            tokens.words.append(ch)
        elif ch.isspace():
            tokens.flush_word()
        else:
            tokens.word.append(ch)
    if depth:
        tokens.flush_comment()  # an unclosed comment: keep what it said
    tokens.end_segment()
    return tokens.segments


def _result(words: list[str], comments: list[str]) -> AuthResult | None:
    """`method[/version]=result` then `key=value` pairs; None when it is not a result."""
    equals = 3 if len(words) > 1 and words[1] == "/" else 1  # a method version: dkim/1=pass
    if len(words) < equals + 2 or words[equals] != "=" or words[equals + 1] in _SPECIALS:
        return None
    method, result = words[0].lower(), words[equals + 1].lower()
    properties: list[tuple[str, str]] = []
    i = equals + 2
    while i < len(words):
        if i + 2 < len(words) and words[i + 1] == "=" and words[i + 2] not in _SPECIALS:
            properties.append((words[i].lower(), words[i + 2]))
            i += 3
        else:
            i += 1
    return AuthResult(method, result, tuple(properties), " ".join(comments))


def parse_header(value: str) -> AuthHeader | None:
    """One Authentication-Results value; None when it names no server and has no result."""
    if len(value) > MAX_HEADER:
        value = value[:MAX_HEADER]
        value = value[: value.rfind(";")] if ";" in value else ""  # drop the cut result
    found = segments(value)
    head = found[0][0]
    if "=" in head:  # no authserv-id: the first segment is already a result
        authserv_id, rest = "", found
    else:
        authserv_id, rest = (head[0].lower() if head else ""), found[1:]
    results = [r for r in (_result(words, comments) for words, comments in rest) if r]
    if not authserv_id and not results:
        return None
    return AuthHeader(authserv_id, tuple(results[:MAX_RESULTS]))


# --- which headers to believe ---------------------------------------------------------------


def _ignored(header: AuthHeader) -> str:
    who = header.authserv_id or "a server that does not name itself"
    return f"Authentication-Results by {who} ignored: not a trusted server"


def trusted_headers(
    headers: Iterable[tuple[str, str]], trusted: Sequence[str]
) -> tuple[str | None, list[AuthHeader], list[str]]:
    """The topmost group of trusted headers, its authserv-id, and notes on those ignored.
    `headers` are (lower-case name, value) pairs from the top of the mail."""
    wanted = {t.strip().lower() for t in trusted} - {""}  # a nameless header: never
    group: list[AuthHeader] = []
    group_id: str | None = None
    notes: list[str] = []
    seen = 0
    for scanned, (name, value) in enumerate(headers):
        if scanned >= MAX_SCANNED or (name == "received" and group_id is not None):
            break
        if name != "authentication-results":
            continue
        seen += 1
        if seen > MAX_HEADERS:
            notes.append(f"more than {MAX_HEADERS} Authentication-Results: the rest ignored")
            break
        header = parse_header(value)
        if header is None:
            notes.append("an unreadable Authentication-Results header ignored")
        elif group_id is None and header.authserv_id in wanted:
            group_id = header.authserv_id
            group.append(header)
        elif group_id is not None and header.authserv_id == group_id:
            group.append(header)
        else:
            notes.append(_ignored(header))
    return group_id, group, list(dict.fromkeys(notes))[:MAX_NOTES]


def merge(group: Sequence[AuthHeader]) -> tuple[AuthResult, ...]:
    """For each method, the results of the topmost header that reports it."""
    owner: dict[str, int] = {}
    for index, header in enumerate(group):
        for result in header.results:
            owner.setdefault(result.method, index)
    return tuple(
        result
        for index, header in enumerate(group)
        for result in header.results
        if owner[result.method] == index
    )


def read_trusted(headers: Iterable[tuple[str, str]], trusted: Sequence[str]) -> TrustedResults:
    """What the trusted servers reported about this mail, and which headers were ignored."""
    group_id, group, notes = trusted_headers(headers, trusted)
    return TrustedResults(group_id, merge(group), tuple(notes))


# --- what they mean for the From domain -----------------------------------------------------

_FAIL = ("fail", "hardfail")  # "hardfail": some servers' name for SPF's fail
Judgement = tuple[str | None, list[str]]  # a status when decided, and the reasons


def domain_of(value: str | None) -> str:
    """ "acme.example" from "x@acme.example", "@acme.example" or "acme.example"."""
    return domains.clean(value.rpartition("@")[2]) if value else ""


def signer(result: AuthResult) -> str:
    """The domain a DKIM result is about: header.d, else the domain of header.i."""
    return domain_of(result.get("header.d") or result.get("header.i"))


def dmarc_policy(result: AuthResult) -> str:
    """The published DMARC policy as reported: policy.dmarc, or p= / policy= in a comment."""
    for key in ("policy.dmarc", "policy.published-domain-policy"):
        if value := result.get(key):
            return value.lower()
    for word in result.comment.replace(",", " ").split():
        key, _, value = word.partition("=")
        if key.lower() in ("p", "policy") and value:
            return value.lower()
    return ""


def _dmarc(results: Sequence[AuthResult], from_domain: str, by: str) -> Judgement:
    """DMARC pass verifies, fail fails; a fail under p=none is only noted, as the domain
    owner says its own mail may fail."""
    notes: list[str] = []
    for result in results:
        if result.method != "dmarc":
            continue
        about = domain_of(result.get("header.from"))
        if about and domains.to_ascii(about) != domains.to_ascii(from_domain):
            notes.append(f"dmarc={result.result} by {by} is about {about}, not {from_domain}")
        elif result.result == "pass":
            return "verified", [f"dmarc=pass by {by}"]
        elif result.result == "fail":
            policy = dmarc_policy(result)
            text = f"dmarc=fail (p={policy}) by {by}" if policy else f"dmarc=fail by {by}"
            if policy != "none":
                return "failed", [text]
            notes.append(f"{text}: the domain asks receivers to take no action")
    return None, notes


def _aligned_pass(results: Sequence[AuthResult], from_domain: str, by: str) -> Judgement:
    """A DKIM signature or an SPF check that passed for the From domain's organisation."""
    notes: list[str] = []
    for result in results:
        if result.result != "pass" or result.method not in ("dkim", "spf"):
            continue
        key = "header.d" if result.method == "dkim" else "smtp.mailfrom"
        domain = signer(result) if result.method == "dkim" else domain_of(result.get(key))
        if domain and domains.aligned(domain, from_domain):
            return "verified", [f"{result.method}=pass {key}={domain} (aligned) by {by}"]
        notes.append(
            f"{result.method}=pass by {by} is for {domain or 'an unnamed domain'}, "
            f"not aligned with {from_domain}"
        )
    return None, notes


def _explicit_fail(results: Sequence[AuthResult], from_domain: str, by: str) -> Judgement:
    """A DKIM or SPF fail for the From domain's organisation (or for no domain named)."""
    for result in results:
        if result.method not in ("dkim", "spf") or result.result not in _FAIL:
            continue
        domain = (
            signer(result) if result.method == "dkim" else domain_of(result.get("smtp.mailfrom"))
        )
        if not domain or domains.aligned(domain, from_domain):
            named = f" for {domain}" if domain else ""
            return "failed", [f"{result.method}=fail{named} by {by}"]
    return None, []


def judge(results: Sequence[AuthResult], from_domain: str, by: str) -> tuple[str, list[str]]:
    """ "verified", "failed" or "unverified" for the From domain, with the reasons."""
    notes: list[str] = []
    for step in (_dmarc, _aligned_pass, _explicit_fail):
        status, reasons = step(results, from_domain, by)
        if status:
            return status, reasons + notes
        notes.extend(reasons)
    said = ", ".join(f"{r.method}={r.result}" for r in results if r.method in _METHODS)
    summary = f"no pass for {from_domain} from {by}" + (f" ({said})" if said else "")
    return "unverified", [summary, *notes]


_METHODS = ("dmarc", "dkim", "spf")
