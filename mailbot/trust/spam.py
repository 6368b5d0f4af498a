"""A spam verdict for every mail: a real spam filter plus the client-inbox heuristics.

Asked in this order, then combined into one `SpamVerdict` (spam if any says spam; the
reasons of all): the organisation's own filter through its headers (only when
`spam.trusted_upstream`), the configured filter (SpamAssassin's spamd or rspamd, spoken to
directly over a socket), then the heuristics of `spam_rules`. A filter that is down,
refuses or is slow gives `not_checked` with the reason: `check_spam` never raises, so a
mail is never lost to a spam check.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from mailbot.config_types import SpamConfig
from mailbot.message import Message
from mailbot.trust.spam_rules import STRONG, heuristic_score, run_heuristics

log = logging.getLogger("mailbot.trust")

STATUSES = ("spam", "ham", "not_checked")
SOURCES = ("spamd", "rspamd", "upstream", "heuristics", "person", "none")
MAX_REPLY = 1_000_000  # bytes read from a filter's answer; more is not a filter talking
MAX_SYMBOLS = 40  # rule names kept in a reason


@dataclass(frozen=True, slots=True)
class SpamVerdict:
    status: str  # "spam" | "ham" | "not_checked"
    score: float | None
    threshold: float | None
    source: str  # "spamd" | "rspamd" | "upstream" | "heuristics" | "person" | "none"
    reasons: tuple[str, ...]

    @property
    def spam(self) -> bool:
        return self.status == "spam"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "score": self.score,
            "threshold": self.threshold,
            "source": self.source,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpamVerdict:
        status, source = data.get("status"), data.get("source", "none")
        if status not in STATUSES or source not in SOURCES:
            raise ValueError(f"not a spam verdict: status {status!r}, source {source!r}")
        score, threshold = data.get("score"), data.get("threshold")
        return cls(
            status=status,
            score=None if score is None else float(score),
            threshold=None if threshold is None else float(threshold),
            source=source,
            reasons=tuple(str(reason) for reason in data.get("reasons", ())),
        )


@dataclass(frozen=True, slots=True)
class SpamContext:
    """What the pipeline knows about the sender, filled by the caller."""

    listed_sender: bool  # the From address/domain is a configured client of some project
    in_known_thread: bool  # In-Reply-To/References name a mail we filed or sent
    # (display name, real address) of our staff, PMs and client VIPs; list every real
    # address of a person who has several.
    protected_names: tuple[tuple[str, str], ...] = ()


class SpamChecker(Protocol):
    """A spam filter: answers for the raw bytes of one mail; may raise on failure."""

    source: str  # "spamd" | "rspamd"

    def check(self, raw: bytes) -> SpamVerdict: ...


def check_spam(
    raw: bytes,
    message: Message,
    config: SpamConfig,
    context: SpamContext,
    *,
    checker: SpamChecker | None = None,
) -> SpamVerdict:
    """The one spam verdict for *message*; never raises."""
    parts: list[SpamVerdict] = []
    if config.trusted_upstream:
        upstream = _guarded("upstream", lambda: upstream_verdict(message))
        if upstream is not None:
            parts.append(upstream)
    if checker is None and config.backend != "none":
        checker = make_checker(config)
    if checker is not None:
        parts.append(_ask_filter(checker, raw, config.max_size))
    if config.heuristics:
        heuristics = _guarded("heuristics", lambda: heuristics_verdict(message, context))
        if heuristics is not None:
            parts.append(heuristics)
    return combine(parts)


def combine(parts: list[SpamVerdict]) -> SpamVerdict:
    """Spam if any part says spam (the first such gives score and source); else the
    filter's ham, the upstream's ham, the filter's failure, the heuristics' ham, in that
    order. Reasons from every part."""
    reasons = tuple(reason for part in parts for reason in part.reasons)
    checked = [p for p in parts if p.status == "ham" and p.source in ("spamd", "rspamd")]
    failed = [p for p in parts if p.status == "not_checked"]
    lead = (
        next((p for p in parts if p.status == "spam"), None)
        or next(iter(checked), None)
        or next((p for p in parts if p.status == "ham" and p.source == "upstream"), None)
        or next(iter(failed), None)
        or next((p for p in parts if p.status == "ham"), None)
    )
    if lead is None:
        return SpamVerdict("not_checked", None, None, "none", reasons or ("no spam check is on",))
    return SpamVerdict(lead.status, lead.score, lead.threshold, lead.source, reasons)


def _guarded(what: str, step: Any) -> SpamVerdict | None:
    try:
        return step()
    except Exception as err:  # a bug in a rule must not cost a mail
        log.exception("the spam %s failed", what)
        return SpamVerdict("not_checked", None, None, "none", (f"{what} failed: {err!r}",))


# --- the organisation's own filter, by its headers -----------------------------------------

_FLAG = re.compile(r"^\s*(yes|no)\b", re.IGNORECASE)
_NUMBER = r"=\s*(-?\d+(?:\.\d+)?)"
_SCORE = re.compile(r"\b(?:score|hits)" + _NUMBER)
_REQUIRED = re.compile(r"\brequired" + _NUMBER)


def _number(pattern: re.Pattern[str], text: str) -> float | None:
    found = pattern.search(text)
    return float(found[1]) + 0.0 if found else None


def _tests(status: str) -> list[str]:
    """The rule names after "tests=", up to the next key=value."""
    names = []
    for token in re.split(r"[\s,]+", status.partition("tests=")[2]):
        if "=" in token:
            break
        names.append(token)
    return names


def upstream_verdict(message: Message) -> SpamVerdict | None:
    """What `X-Spam-Status` / `X-Spam-Flag` / `X-Spam` (the topmost, written last) say;
    None when there is none. Only worth asking when our own filter always writes them."""
    status = (message.header("x-spam-status") or "")[:2000]
    flag = (message.header("x-spam-flag") or message.header("x-spam") or "").strip().lower()
    found = _FLAG.match(status)
    if found is None and not flag:
        return None
    spam = flag in ("yes", "true") or bool(found and found[1].lower() == "yes")
    score, threshold = _number(_SCORE, status), _number(_REQUIRED, status)
    reason = "the upstream filter's headers say " + ("spam" if spam else "not spam")
    if score is not None:
        reason += f" (score {score:g}" + (f" of {threshold:g})" if threshold is not None else ")")
    reasons = [reason]
    tests = _symbols(_tests(status))
    if tests:
        reasons.append(f"upstream rules: {tests}")
    return SpamVerdict("spam" if spam else "ham", score, threshold, "upstream", tuple(reasons))


# --- the configured filter -----------------------------------------------------------------


def make_checker(config: SpamConfig) -> SpamChecker | None:
    port = config.port or 0
    if config.backend == "spamd":
        return SpamdChecker(config.host, port, config.timeout, config.threshold)
    if config.backend == "rspamd":
        return RspamdChecker(config.host, port, config.timeout, config.threshold)
    return None


def _ask_filter(checker: SpamChecker, raw: bytes, max_size: int) -> SpamVerdict:
    data, note = raw, ()
    if len(raw) > max_size:
        # The start of a big mail, cut after a line (as spamc: headers and text come first).
        cut = raw.rfind(b"\n", 0, max_size) + 1
        data = raw[: cut if cut > max_size // 2 else max_size]
        note = (f"{checker.source} checked the first {len(data)} of {len(raw)} bytes",)
    try:
        verdict = checker.check(data)
    except Exception as err:
        log.warning("the spam filter %s failed: %r", checker.source, err)
        verdict = SpamVerdict(
            "not_checked", None, None, checker.source, (f"{checker.source} failed: {err!r}",)
        )
    return SpamVerdict(
        verdict.status, verdict.score, verdict.threshold, verdict.source, verdict.reasons + note
    )


def _symbols(names: Any) -> str:
    clean = [n.strip() for n in names if re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", n.strip())]
    more = f" and {len(clean) - MAX_SYMBOLS} more" if len(clean) > MAX_SYMBOLS else ""
    return ", ".join(clean[:MAX_SYMBOLS]) + more


def _decide(spam: bool, score: float, threshold: float, wanted: float | None) -> tuple[str, float]:
    """Our threshold, when configured, over the filter's own."""
    if wanted is not None:
        return ("spam" if score >= wanted else "ham"), wanted
    return ("spam" if spam else "ham"), threshold


def _not_checked(source: str, reason: str) -> SpamVerdict:
    return SpamVerdict("not_checked", None, None, source, (reason,))


_SPAMD_STATUS = re.compile(rb"^SPAMD/\d+\.\d+\s+(\d+)\s*(.*)$")
_SPAMD_SPAM = re.compile(
    rb"^Spam:\s*(True|False|Yes|No)\s*;\s*(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class SpamdChecker:
    """SpamAssassin's spamd, spoken to in the SPAMC/1.5 protocol (SYMBOLS: the verdict and
    the names of the rules that hit). `timeout` bounds the whole conversation."""

    host: str
    port: int
    timeout: float
    threshold: float | None = None
    source: str = "spamd"

    @property
    def where(self) -> str:
        return f"spamd at {self.host}:{self.port}"

    def check(self, raw: bytes) -> SpamVerdict:
        request = b"SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(raw) + raw
        try:
            answer = self._talk(request)
        except ConnectionRefusedError:
            return _not_checked("spamd", f"{self.where} refused the connection")
        except TimeoutError:
            return _not_checked("spamd", f"{self.where} did not answer in {self.timeout:g}s")
        except OSError as err:
            return _not_checked("spamd", f"{self.where} cannot be reached: {err}")
        return self._verdict(answer)

    def ping(self) -> bool:
        """True if spamd answers PONG."""
        try:
            return b" PONG" in self._talk(b"PING SPAMC/1.5\r\n\r\n").split(b"\r\n", 1)[0]
        except OSError:
            return False

    def _talk(self, request: bytes) -> bytes:
        deadline = time.monotonic() + self.timeout

        def left() -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            return remaining

        with socket.create_connection((self.host, self.port), timeout=left()) as sock:
            view = memoryview(request)
            while view:  # sendall() would restart its timeout for every chunk
                sock.settimeout(left())
                view = view[sock.send(view[:65536]) :]
            sock.shutdown(socket.SHUT_WR)
            chunks, size = [], 0
            while size <= MAX_REPLY:
                sock.settimeout(left())
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)

    def _verdict(self, answer: bytes) -> SpamVerdict:
        if not answer:
            return _not_checked("spamd", f"{self.where} closed the connection without answering")
        if len(answer) > MAX_REPLY:
            return _not_checked("spamd", f"{self.where} answered more than {MAX_REPLY} bytes")
        head, _sep, body = answer.replace(b"\r\n", b"\n").partition(b"\n\n")
        lines = head.split(b"\n")
        status = _SPAMD_STATUS.match(lines[0])
        if status is None:
            shown = answer[:60].decode("ascii", "replace")
            return _not_checked(
                "spamd", f"{self.where} gave an answer that is not SPAMD: {shown!r}"
            )
        if status[1] != b"0":
            text = status[2].decode("ascii", "replace")[:120]
            return _not_checked("spamd", f"{self.where} answered error {int(status[1])}: {text}")
        spam_line = next((m for line in lines[1:] if (m := _SPAMD_SPAM.match(line))), None)
        if spam_line is None:
            return _not_checked("spamd", f"{self.where} answered without a Spam: line")
        spam = spam_line[1].lower() in (b"true", b"yes")
        score, own = float(spam_line[2]) + 0.0, float(spam_line[3])  # + 0.0: no -0
        verdict, threshold = _decide(spam, score, own, self.threshold)
        reasons = [f"spamd score {score:g} of {threshold:g}"]
        rules = _symbols(body.decode("ascii", "replace").split(","))
        if rules:
            reasons.append(f"spamd rules: {rules}")
        return SpamVerdict(verdict, score, threshold, "spamd", tuple(reasons))


# The filter is asked directly: an HTTP proxy from the environment has no business here.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# rspamd's actions that mean "this is spam" (soft reject is greylisting or a rate limit).
RSPAMD_SPAM_ACTIONS = ("reject", "add header", "rewrite subject", "quarantine", "discard")


@dataclass(frozen=True, slots=True)
class RspamdChecker:
    """rspamd's normal worker: HTTP POST of the mail to /checkv2, a JSON answer."""

    host: str
    port: int
    timeout: float
    threshold: float | None = None
    source: str = "rspamd"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/checkv2"

    def check(self, raw: bytes) -> SpamVerdict:
        where = f"rspamd at {self.host}:{self.port}"
        request = urllib.request.Request(self.url, data=raw, method="POST")
        deadline = time.monotonic() + self.timeout
        try:
            with _DIRECT.open(request, timeout=self.timeout) as answer:
                chunks, size = [], 0
                while size <= MAX_REPLY and time.monotonic() < deadline:
                    chunk = answer.read(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                else:
                    return _not_checked("rspamd", f"{where} answered too much or too slowly")
        except urllib.error.HTTPError as err:
            return _not_checked("rspamd", f"{where} answered HTTP {err.code} {err.reason}")
        except urllib.error.URLError as err:
            if isinstance(err.reason, ConnectionRefusedError):
                return _not_checked("rspamd", f"{where} refused the connection")
            if isinstance(err.reason, TimeoutError):
                return _not_checked("rspamd", f"{where} did not answer in {self.timeout:g}s")
            return _not_checked("rspamd", f"{where} cannot be reached: {err.reason}")
        except TimeoutError:
            return _not_checked("rspamd", f"{where} did not answer in {self.timeout:g}s")
        except OSError as err:
            return _not_checked("rspamd", f"{where} cannot be reached: {err}")
        try:
            data = json.loads(b"".join(chunks))
            return self._verdict(data)
        except (ValueError, TypeError, KeyError, AttributeError):
            return _not_checked("rspamd", f"{where} gave an answer that is not rspamd's JSON")

    def _verdict(self, data: dict[str, Any]) -> SpamVerdict:
        if data.get("is_skipped"):
            return _not_checked("rspamd", "rspamd skipped the mail")
        action = str(data["action"])
        score = float(data["score"]) + 0.0
        thresholds = data.get("thresholds") or {}
        # The filter's own line: its lowest spam action's score, else required_score.
        own = [float(v) for k, v in thresholds.items() if k in RSPAMD_SPAM_ACTIONS]
        threshold = min(own) if own else float(data.get("required_score", 0.0))
        verdict, threshold = _decide(
            action in RSPAMD_SPAM_ACTIONS, score, threshold, self.threshold
        )
        reasons = [f'rspamd score {score:g} of {threshold:g} (action "{action}")']
        rules = _symbols(sorted(data.get("symbols") or {}))
        if rules:
            reasons.append(f"rspamd rules: {rules}")
        return SpamVerdict(verdict, score, threshold, "rspamd", tuple(reasons))


# --- the heuristics ------------------------------------------------------------------------


def heuristics_verdict(message: Message, context: SpamContext) -> SpamVerdict:
    """Spam when the heuristics' signals reach `STRONG`; a weaker hit is kept as a reason."""
    hits = run_heuristics(message, context)
    score = heuristic_score(hits)
    reasons = tuple(hit.reason for hit in hits) or ("no spam heuristic matched",)
    return SpamVerdict("spam" if score >= STRONG else "ham", score, STRONG, "heuristics", reasons)
