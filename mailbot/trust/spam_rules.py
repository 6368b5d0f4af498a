"""Spam heuristics for a client inbox: what a generic filter misses.

Each rule is small and pure: it reads the parsed message and what the caller knows about
the sender, and returns a `Hit` with a plain reason, or None. Lures in the text count only
for strangers (not a listed client, not in a thread we know): a client who writes about
an invoice is doing business. A hit weighs 1 (one signal) or 2 (strong); a mail is spam
by heuristics alone from `STRONG` on, so one weak signal never makes spam by itself.

Every input is cut to a fixed size first and every pattern is a literal phrase or a
regex without nested repetition, so a rule runs in time linear in its bounded input.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailbot.message import Message
    from mailbot.trust.spam import SpamContext

STRONG = 2.0  # summed weight of distinct rules that makes spam by heuristics alone
MAX_SUBJECT = 1_000  # characters of the subject looked at
MAX_TEXT = 20_000  # characters of the body looked at
MAX_NAME = 200  # characters of a display name
MAX_PROTECTED = 1_000  # protected (name, address) pairs looked at
MAX_DOMAIN = 100  # longer domains are not compared for look-alikes


# --- normalisation -------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def normalize(text: str, limit: int) -> str:
    """NFKC (full-width to half-width), case-folded, whitespace folded; at most *limit*
    characters of the input are read."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text[:limit]).casefold()).strip()


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    reason: str
    weight: float


@dataclass(frozen=True, slots=True)
class Lure:
    """Words in the subject or body that sell, phish or defraud: a signal from a stranger.

    `phrases` are matched in the normalised text (NFKC, case-folded, whitespace folded to
    one space), `patterns` are regexes on the same text."""

    name: str
    reason: str
    phrases: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    weight: float = 1.0


def _phrases(text: str) -> tuple[str, ...]:
    """Split "a | b | c" into phrases, normalised like the text they are looked for in."""
    return tuple(normalize(part, MAX_SUBJECT) for part in text.split("|") if part.strip())


# The lure table. English, Simplified and Traditional Chinese; examples and counter-examples
# are in tests/unit/trust/test_spam.py.
LURES: tuple[Lure, ...] = (
    Lure(
        "credential_lure",
        "credential lure: asks to verify or reset a password or account, or says the mailbox "
        "is full",
        _phrases(
            "verify your account | verify your email | verify your mailbox | confirm your account"
            " | confirm your password | validate your account | reset your password"
            " | update your password | keep your current password | password will expire"
            " | password expires | password has expired | mailbox is full | mailbox full"
            " | mailbox quota | storage quota | exceeded its storage | account will be suspended"
            " | account has been suspended | account will be closed | reactivate your account"
            " | re-activate your account | unusual sign-in | unusual login | click here to verify"
            # Simplified
            " | 验证您的账户 | 验证你的账户 | 验证账户 | 账户验证 | 验证您的账号 | 账号验证"
            " | 密码即将过期 | 密码已过期 | 重置密码 | 重置您的密码 | 邮箱已满 | 邮箱容量"
            " | 邮箱空间不足 | 账户将被冻结 | 账户已被冻结 | 账号将被停用 | 账户异常 | 账号异常"
            " | 登录异常 | 邮箱升级 | 升级您的邮箱 | 点击链接登录 | 点击登录查看"
            # Traditional
            " | 驗證您的帳戶 | 驗證帳戶 | 帳戶驗證 | 帳號驗證 | 密碼即將過期 | 密碼已過期"
            " | 重設密碼 | 重置密碼 | 郵箱已滿 | 信箱已滿 | 郵箱容量 | 信箱容量 | 帳戶將被凍結"
            " | 帳戶異常 | 帳號異常 | 登入異常 | 信箱升級 | 郵箱升級 | 點擊連結登入 | 點擊登入查看"
        ),
    ),
    Lure(
        "payment_lure",
        "invoice or payment lure: invoices, transfers or changed bank details",
        _phrases(
            "wire transfer | bank transfer | updated bank details | new bank details"
            " | change of bank details | changed our bank | new bank account"
            " | bank account details | remittance | overdue invoice | outstanding invoice"
            " | unpaid invoice | invoice attached | attached invoice | payment confirmation"
            " | proof of payment | payment advice | swift copy | vat invoice"
            " | 发票 | 开票 | 汇款 | 转账 | 付款通知 | 银行账户变更 | 更改银行账户 | 新银行账户"
            " | 收款账户 | 增值税"
            " | 發票 | 開票 | 匯款 | 轉帳 | 轉賬 | 銀行帳戶變更 | 更改銀行帳戶 | 新銀行帳戶"
            " | 收款帳戶 | 增值稅"
        ),
    ),
    Lure(
        "esign_lure",
        "e-signature lure: a document to review and sign",
        _phrases(
            "review and sign | docusign | sign the document | document for signature"
            " | sent you a document | shared a document with you | shared a file with you"
            " | review document | view document | e-signature | electronic signature | adobe sign"
            " | 请查看并签署 | 查看并签署 | 电子签名 | 签署文件 | 待签署 | 共享了文件"
            " | 請查看並簽署 | 查看並簽署 | 電子簽名 | 簽署文件 | 待簽署 | 共享了檔案"
        ),
    ),
    Lure(
        "urgent_payment_lure",
        "gift-card or urgent-payment request, as in CEO fraud",
        _phrases(
            "gift card | itunes card | google play card | steam card | are you at your desk"
            " | urgent payment | urgent wire | urgent transfer | keep this confidential"
            " | i need a favor | i need a favour | quick favor"
            " | 礼品卡 | 购物卡 | 充值卡 | 紧急付款 | 紧急转账 | 在公司吗 | 帮我个忙"
            " | 禮品卡 | 購物卡 | 儲值卡 | 緊急付款 | 緊急轉帳 | 在公司嗎 | 幫我個忙"
        ),
    ),
    Lure(
        "seo_lure",
        "marketing offer: search ranking, backlinks or traffic",
        _phrases(
            "first page of google | google first page | search engine optimization"
            " | search engine ranking | website ranking | rank higher | backlinks"
            " | increase your traffic | more traffic to your website | guest post"
            " | 搜索引擎优化 | 网站排名 | 关键词排名 | 百度首页"
            " | 搜尋引擎優化 | 網站排名 | 關鍵字排名 | 關鍵詞排名 | 百度首頁"
        ),
        patterns=(r"\bseo\b",),
    ),
    Lure(
        "off_channel_contact",
        "asks to continue on WeChat, QQ, WhatsApp or Telegram",
        _phrases(
            "whatsapp | telegram | wechat | 加微信 | 加我微信 | 微信号 | 微信號 | 微信同号"
            " | 微信同號 | 微信: | 加qq | qq: | qq号"
            " | qq號 | 联系qq | 聯繫qq | 聯絡qq | 加v:"
        ),
    ),
)


def _compact(name: str) -> str:
    """A display name compared case- and space-insensitively: "Li  MING" == "liming"."""
    folded = unicodedata.normalize("NFKC", name[:MAX_NAME]).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "\"'")


def stranger(context: SpamContext) -> bool:
    return not context.listed_sender and not context.in_known_thread


# --- the rules -----------------------------------------------------------------------------

_COMPILED = {lure.name: tuple(re.compile(p) for p in lure.patterns) for lure in LURES}


def lure_hits(message: Message, context: SpamContext) -> list[Hit]:
    """Every lure of `LURES` found in the subject or body of a stranger's mail."""
    if not stranger(context):
        return []
    text = normalize(message.subject, MAX_SUBJECT) + "\n" + normalize(message.text, MAX_TEXT)
    hits = []
    for lure in LURES:
        found = next((p for p in lure.phrases if p in text), None)
        if found is None:
            match = next((m for r in _COMPILED[lure.name] if (m := r.search(text))), None)
            found = match.group(0) if match else None
        if found is not None:
            hits.append(Hit(lure.name, f'{lure.reason} ("{found}")', lure.weight))
    return hits


# Only to name the prefix in the reason; `Message.subject_normalized` decides.
_REPLY_PREFIX = re.compile(
    r"(?:re|fwd?|aw|wg|sv|回复|回覆|答复|答覆|转发|轉發|转寄|轉寄)\s?[:：]", re.IGNORECASE
)


def fake_reply(message: Message, context: SpamContext) -> Hit | None:
    """A "Re:", "回复:", "答复:" or "Fwd:" subject without In-Reply-To or References, from a
    stranger: pretends to continue a conversation that never happened."""
    if not stranger(context) or message.in_reply_to or message.references:
        return None
    subject = " ".join(message.subject[:MAX_SUBJECT].split())
    if not subject or subject == message.subject_normalized:
        return None  # no reply or forward prefix was removed
    found = _REPLY_PREFIX.search(subject[:40])
    prefix = found.group(0).replace(" ", "") if found else "Re:"
    return Hit("fake_reply", f'fake "{prefix}" without thread headers from a stranger', 1.0)


def impersonation(message: Message, context: SpamContext) -> Hit | None:
    """The display name is one of our people's (or a client VIP's) but the address is not
    theirs; also a display name that *is* one of their addresses. Strong alone."""
    sender = message.from_
    if sender is None or not sender.name:
        return None
    name = _compact(sender.name)
    address = sender.email.lower()
    real: dict[str, set[str]] = {}
    for person, real_address in context.protected_names[:MAX_PROTECTED]:
        real.setdefault(_compact(person), set()).add(real_address.lower())
        real.setdefault(_compact(real_address), set()).add(real_address.lower())
    if name and name in real and address not in real[name]:
        return Hit(
            "impersonation",
            f'display name "{sender.name[:60]}" is one of our protected names, but the '
            f"address {address} is not theirs",
            2.0,
        )
    return None


# Characters and pairs that look alike in a domain, mapped to one skeleton.
_CONFUSABLE = str.maketrans(
    {"0": "o", "1": "l", "i": "l", "|": "l", "-": "", "_": "",
     "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "l",
     "ɡ": "g", "ԁ": "d", "ո": "n", "ս": "u"}
)  # fmt: skip
_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "co", "ac"}


def _registrable(domain: str) -> tuple[str, str]:
    """("agency", "example") from "mail.agency.example"; ("acme", "com.cn") from
    "www.acme.com.cn". A simple cut, good enough to compare two names."""
    labels = domain.strip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return labels[-3], ".".join(labels[-2:])
    if len(labels) >= 2:
        return labels[-2], labels[-1]
    return domain, ""


def _skeleton(label: str) -> str:
    if "xn--" in label:
        with contextlib.suppress(UnicodeError):
            label = label.encode("ascii").decode("idna")
    label = unicodedata.normalize("NFKC", label).casefold().translate(_CONFUSABLE)
    for pair, single in _PAIRS:
        label = label.replace(pair, single)
    return label


def _one_edit_apart(a: str, b: str) -> bool:
    """One substitution, insertion, deletion or swap of neighbours; linear time."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        swapped = i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i]
        return a[i + 1 :] == b[i + 1 :] or (swapped and a[i + 2 :] == b[i + 2 :])
    return a[i:] == b[i + 1 :]


def lookalike_domain(message: Message, context: SpamContext) -> Hit | None:
    """The sender's domain imitates the domain of one of our protected people: a typo,
    look-alike letters (rn for m, 0 for o), another ending (.co for .com)."""
    if message.from_ is None or context.listed_sender:
        return None
    domain = message.from_.email.rpartition("@")[2].lower()
    if not domain or len(domain) > MAX_DOMAIN:
        return None
    label, suffix = _registrable(domain)
    for _person, address in context.protected_names[:MAX_PROTECTED]:
        theirs = address.rpartition("@")[2].lower()
        if not theirs or len(theirs) > MAX_DOMAIN:
            continue
        their_label, their_suffix = _registrable(theirs)
        if (label, suffix) == (their_label, their_suffix):
            return None  # the same organisation (perhaps another of its hosts)
        similar = _skeleton(label) == _skeleton(their_label) or (
            len(their_label) >= 5 and _one_edit_apart(label, their_label)
        )
        if similar:
            return Hit(
                "lookalike_domain",
                f"the sender's domain {domain} looks like {theirs} but is not it",
                1.0,
            )
    return None


Rule = Callable[["Message", "SpamContext"], "Hit | None"]
# Rules about who sent it and how; each a pure function with its reason. (Lures above.)
SENDER_RULES: tuple[tuple[str, Rule], ...] = (
    ("fake_reply", fake_reply),
    ("impersonation", impersonation),
    ("lookalike_domain", lookalike_domain),
)


def run_heuristics(message: Message, context: SpamContext) -> tuple[Hit, ...]:
    """All hits, one per rule, in table order."""
    hits = [hit for _name, rule in SENDER_RULES if (hit := rule(message, context))]
    hits.extend(lure_hits(message, context))
    return tuple(hits)


def heuristic_score(hits: tuple[Hit, ...]) -> float:
    """Summed weight of distinct rules: independent signals add up, one rule counts once."""
    return sum({hit.rule: hit.weight for hit in hits}.values())
