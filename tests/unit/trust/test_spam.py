"""Spam verdicts: the heuristics as tables of examples and counter-examples, the verdict's
round trip, the [spam] config, and the spamd / rspamd clients against fake filters on
loopback sockets (timeouts, garbage, refusals: never an exception, never a lost mail)."""

from __future__ import annotations

import http.server
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.header import Header
from pathlib import Path
from typing import Any

import pytest

from mailbot.config import parse_config
from mailbot.config_types import SpamConfig
from mailbot.errors import ConfigError
from mailbot.message import Message
from mailbot.parse import parse_bytes
from mailbot.trust import spam_rules
from mailbot.trust.spam import (
    MAX_REPLY,
    RspamdChecker,
    SpamContext,
    SpamdChecker,
    SpamVerdict,
    check_spam,
    combine,
    upstream_verdict,
)
from mailbot.trust.spam_rules import LURES, STRONG, run_heuristics
from tests.support.timing import cpu_seconds

pytestmark = pytest.mark.no_database

PROTECTED = (
    ("Lena Park", "lena@agency.example"),
    ("Li Ming", "li.ming@agency.example"),
    ("Agency IT Desk", "it@agency.example"),
    ("王芳", "wang.fang@acme.example"),
    ("王芳", "fang@acme-retail.example"),  # a VIP with two real addresses
)
STRANGER = SpamContext(listed_sender=False, in_known_thread=False, protected_names=PROTECTED)
CLIENT = SpamContext(listed_sender=True, in_known_thread=False, protected_names=PROTECTED)
THREAD = SpamContext(listed_sender=False, in_known_thread=True, protected_names=PROTECTED)
HEURISTICS_ONLY = SpamConfig()


def mail(
    body: str = "Hello team,\n\nCould you send us a quote for the new landing page?\n",
    *,
    sender: str = "Maria Keller <maria@newclient.example>",
    subject: str = "Quote for a landing page",
    headers: tuple[str, ...] = (),
) -> tuple[bytes, Message]:
    name, _, address = sender.rpartition(" <")
    from_ = f"{Header(name, 'utf-8').encode()} <{address}" if name else sender
    head = [
        f"From: {from_}",
        "To: Project Team <team@agency.example>",
        f"Subject: {Header(subject, 'utf-8').encode()}",
        "Date: Mon, 01 Dec 2025 09:00:00 +0000",
        "Message-ID: <m1@newclient.example>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        *headers,
    ]
    raw = ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()
    return raw, parse_bytes(raw)


def rules_hit(message: Message, context: SpamContext = STRANGER) -> set[str]:
    return {hit.rule for hit in run_heuristics(message, context)}


# --- lures: every rule with examples in English, Simplified and Traditional Chinese -------

LURE_EXAMPLES = [
    ("credential_lure", "en", "Your mailbox is full. Click here to verify your account."),
    ("credential_lure", "en", "Your password will expire today; keep your current password."),
    ("credential_lure", "zh-Hans", "您的邮箱已满，请立即验证您的账户，否则账户将被冻结。"),
    ("credential_lure", "zh-Hant", "您的郵箱已滿，請驗證您的帳戶，密碼即將過期。"),
    ("payment_lure", "en", "Please note our updated bank details for the next wire transfer."),
    ("payment_lure", "en", "Kindly find the overdue invoice and remittance details."),
    ("payment_lure", "zh-Hans", "本公司常年代开各地增值税发票，点数优惠。"),
    ("payment_lure", "zh-Hant", "本公司代開各地發票，匯款後即寄出。"),
    ("esign_lure", "en", "Lena Park sent you a document to review and sign. REVIEW DOCUMENT"),
    ("esign_lure", "zh-Hans", "您有一份合同待签署，请查看并签署。"),
    ("esign_lure", "zh-Hant", "您有一份合約待簽署，請查看並簽署。"),
    ("urgent_payment_lure", "en", "Are you at your desk? I need you to buy gift cards today."),
    ("urgent_payment_lure", "zh-Hans", "在公司吗？帮我个忙，买几张礼品卡。"),
    ("urgent_payment_lure", "zh-Hant", "在公司嗎？幫我個忙，買幾張禮品卡。"),
    ("seo_lure", "en", "We can put your website on the first page of Google with SEO."),
    ("seo_lure", "zh-Hans", "专业网站排名优化，保证百度首页。"),
    ("seo_lure", "zh-Hant", "專業網站排名優化，保證百度首頁。"),
    ("off_channel_contact", "en", "Contact me on WhatsApp for the price list."),
    ("off_channel_contact", "zh-Hans", "详情请加微信：boss8866"),
    ("off_channel_contact", "zh-Hant", "詳情請聯繫QQ：123456"),
]

# Text from a stranger that hits no lure: ordinary requests, words that contain a lure's
# letters but not its meaning.
LURE_COUNTER_EXAMPLES = [
    "Could you send us a quote for the new landing page?",
    "Several customers report that the password reset link has expired immediately.",
    "Our Seoul office would like the same dashboard.",
    "我们需要代开发一个微信小程序，请问报价多少？",  # 代开发: develop for us, not 代开发票
    "我們需要代開發一個小程序，請問報價多少？",
    "今天上午发布之后，导出 Excel 一直超时，麻烦尽快看一下。",
    "Thanks for the quick turnaround on the landing page, it looks great.",
]


@pytest.mark.parametrize(("rule", "language", "text"), LURE_EXAMPLES)
def test_lure_examples_hit_their_rule(rule: str, language: str, text: str) -> None:
    _raw, message = mail(text)
    assert rule in rules_hit(message), f"{language}: {text}"


@pytest.mark.parametrize("text", LURE_COUNTER_EXAMPLES)
def test_lure_counter_examples_hit_nothing(text: str) -> None:
    _raw, message = mail(text)
    assert rules_hit(message) == set()


def test_every_lure_has_examples_in_three_languages() -> None:
    covered = {(rule, language) for rule, language, _text in LURE_EXAMPLES}
    missing = [
        (lure.name, language)
        for lure in LURES
        for language in ("en", "zh-Hans", "zh-Hant")
        if (lure.name, language) not in covered
    ]
    assert not missing


def test_the_lure_in_the_subject_counts_and_full_width_text_is_folded() -> None:
    _raw, message = mail("Please see below.", subject="ＶＥＲＩＦＹ  your ACCOUNT now")
    assert rules_hit(message) == {"credential_lure"}


@pytest.mark.parametrize("context", [CLIENT, THREAD], ids=["listed client", "known thread"])
def test_lures_do_not_count_for_clients_or_known_threads(context: SpamContext) -> None:
    _raw, message = mail("发票已开好，请查收。Please confirm the wire transfer of the invoice.")
    assert rules_hit(message, context) == set()


# --- fake "Re:" -------------------------------------------------------------------------

FAKE_REPLY_SUBJECTS = ["Re: Website ranking", "RE：合作", "回复：合作", "答复: 报价", "Fwd: hello"]


@pytest.mark.parametrize("subject", FAKE_REPLY_SUBJECTS)
def test_a_reply_prefix_without_thread_headers_from_a_stranger_is_fake(subject: str) -> None:
    _raw, message = mail("Hello.", subject=subject)
    hits = {hit.rule: hit for hit in run_heuristics(message, STRANGER)}
    assert "fake_reply" in hits
    assert "without thread headers from a stranger" in hits["fake_reply"].reason


def test_a_reply_with_thread_headers_or_from_a_known_sender_is_not_fake() -> None:
    _raw, threaded = mail("Thanks.", subject="Re: quote", headers=("In-Reply-To: <q@a.example>",))
    _raw, plain = mail("Thanks.", subject="Re: quote")
    _raw, no_prefix = mail("Thanks.", subject="[project] quote")
    assert "fake_reply" not in rules_hit(threaded)
    assert "fake_reply" not in rules_hit(plain, CLIENT)
    assert "fake_reply" not in rules_hit(plain, THREAD)
    assert "fake_reply" not in rules_hit(no_prefix)


# --- impersonation and look-alike domains ------------------------------------------------

IMPERSONATIONS = [
    "Li Ming <li.ming@gmail.example>",
    "LI  MING <ceo.office@outlook.example>",
    "Ｌｉ Ｍｉｎｇ <liming@agencv.example>",  # full-width letters
    "lena park <lena.park@mail.example>",
    "王芳 <wangfang@163.example>",
    "li.ming@agency.example <x@evil.example>",  # the real address written as the name
]
NOT_IMPERSONATIONS = [
    "Li Ming <li.ming@agency.example>",
    "王芳 <fang@acme-retail.example>",  # her second real address
    "Li Mingyu <mingyu@client.example>",
    "Maria Keller <maria@newclient.example>",
    "<li.ming@elsewhere.example>",
]


@pytest.mark.parametrize("sender", IMPERSONATIONS)
def test_a_protected_name_on_another_address_is_strong_alone(sender: str) -> None:
    raw, message = mail(sender=sender)
    assert "impersonation" in rules_hit(message)
    verdict = check_spam(raw, message, HEURISTICS_ONLY, STRANGER)
    assert (verdict.status, verdict.source) == ("spam", "heuristics")
    assert any("is one of our protected names" in r for r in verdict.reasons)


@pytest.mark.parametrize("sender", NOT_IMPERSONATIONS)
def test_real_addresses_and_other_names_are_no_impersonation(sender: str) -> None:
    _raw, message = mail(sender=sender)
    assert "impersonation" not in rules_hit(message)


LOOKALIKES = ["agencv.example", "agnecy.example", "agency.com", "agenc-y.example", "acrne.example"]
NOT_LOOKALIKES = ["agenda.example", "newclient.example", "mail.agency.example", "acme.example"]


@pytest.mark.parametrize("domain", [*LOOKALIKES, "аgency.example"])  # a Cyrillic а
def test_lookalike_domains(domain: str) -> None:
    _raw, message = mail(sender=f"Office <office@{domain}>")
    assert "lookalike_domain" in rules_hit(message)


@pytest.mark.parametrize("domain", NOT_LOOKALIKES)
def test_not_lookalike_domains(domain: str) -> None:
    _raw, message = mail(sender=f"Office <office@{domain}>")
    assert "lookalike_domain" not in rules_hit(message)


# --- whole verdicts: the spam we saw, and the client mail that must stay ----------------

SPAM = {
    "invoice fraud, Simplified": dict(
        sender="李经理 <li8866@163.example>",
        subject="回复：合作",
        body="您好！本公司可代开全国各地增值税发票，点数低。\n联系电话/微信：13800138000",
    ),
    "invoice fraud, Traditional": dict(
        sender="陳先生 <chen@biz-hk.example>",
        subject="答覆：合作事宜",
        body="本公司代開各地發票，價格優惠。\n聯繫QQ：12345678",
    ),
    "credential phishing imitating our IT desk": dict(
        sender="Agency IT Desk <support@it-helpdesk.example>",
        subject="Mailbox quota warning",
        body="Your mailbox is full. Click here to verify your account within 24 hours.",
    ),
    "credential phishing in Chinese with a fake reply": dict(
        sender="系统管理员 <admin@mail-notice.example>",
        subject="回复：邮箱通知",
        body="您的邮箱已满，请立即验证您的账户。",
    ),
    "CEO fraud from a look-alike domain": dict(
        sender="Li Ming <li.ming@agencv.example>",
        subject="Urgent",
        body="Are you at your desk? I need an urgent payment made today. Keep this confidential.",
    ),
    "CEO fraud under another name": dict(
        sender="CEO Office <ceo@agnecy.example>",
        subject="Quick request",
        body="I need a favor: buy five gift cards and send me the codes.",
    ),
    "SEO spam with a fake Re:": dict(
        sender="Sarah <sarah@rank-boost.example>",
        subject="Re: Website ranking",
        body="We can get your website on the first page of Google. Reply for a free audit.",
    ),
    "e-signature lure": dict(
        sender="DocuSign <dse@docs-sign.example>",
        subject="Fwd: Please DocuSign: Remittance advice",
        body="Lena sent you a document to review and sign.\n\nREVIEW DOCUMENT",
    ),
}

HAM = {
    "a listed client about an invoice": (
        CLIENT,
        dict(
            sender="王芳 <wang.fang@acme.example>",
            subject="三月发票",
            body="您好，三月份的发票已收到，转账已安排。Please confirm the wire transfer.",
        ),
    ),
    "a real reply in a known thread": (
        THREAD,
        dict(
            sender="Tom <tom@partner.example>",
            subject="Re: 发票",
            body="Invoice attached, as discussed. Bank transfer by Friday.",
            headers=("In-Reply-To: <ours-1@agency.example>",),
        ),
    ),
    "a new prospect asking for a quote": (STRANGER, dict()),
    "a new prospect in Chinese": (
        STRANGER,
        dict(
            sender="赵磊 <zhaolei@shop.example>",
            subject="小程序报价",
            body="我们需要代开发一个微信小程序。",
        ),
    ),
    "a stranger's forward, one weak signal": (
        STRANGER,
        dict(subject="Fwd: meeting notes", body="See the notes below."),
    ),
    "a stranger mentioning a password reset, one weak signal": (
        STRANGER,
        dict(subject="Login problem", body="How do I reset your password page? 重置密码没有反应。"),
    ),
}


@pytest.mark.parametrize("case", SPAM)
def test_spam_we_saw_is_spam_by_heuristics(case: str) -> None:
    raw, message = mail(**SPAM[case])
    verdict = check_spam(raw, message, HEURISTICS_ONLY, STRANGER)
    assert verdict.status == "spam", verdict.reasons
    assert verdict.source == "heuristics" and verdict.score is not None
    assert verdict.score >= STRONG and verdict.threshold == STRONG


@pytest.mark.parametrize("case", HAM)
def test_client_mail_is_ham(case: str) -> None:
    context, fields = HAM[case]
    raw, message = mail(**fields)
    verdict = check_spam(raw, message, HEURISTICS_ONLY, context)
    assert verdict.status == "ham", verdict.reasons
    assert verdict.score is not None and verdict.score < STRONG


def test_one_weak_signal_is_kept_as_a_reason() -> None:
    raw, message = mail(subject="Fwd: meeting notes")
    verdict = check_spam(raw, message, HEURISTICS_ONLY, STRANGER)
    assert verdict.status == "ham" and verdict.score == 1.0
    assert verdict.reasons == ('fake "Fwd:" without thread headers from a stranger',)


def test_one_rule_counts_once() -> None:
    hits = (
        spam_rules.Hit("payment_lure", "a", 1.0),
        spam_rules.Hit("payment_lure", "b", 1.0),
    )
    assert spam_rules.heuristic_score(hits) == 1.0


def test_heuristics_read_a_bounded_input_in_linear_time() -> None:
    body = ("a" * 5000 + " verify" * 5000 + " 发票" * 20000 + "\n") * 5
    raw, message = mail(body, subject="Re: " + "x" * 100_000, sender="Li Ming <x@y.example>")
    people = tuple((f"Person {i}", f"p{i}@agency.example") for i in range(5000))
    many = SpamContext(False, False, (*PROTECTED, *people))
    verdicts = []
    assert cpu_seconds(lambda: verdicts.append(check_spam(raw, message, HEURISTICS_ONLY, many))) < 2
    assert verdicts[0].status == "spam"


def test_heuristics_can_be_turned_off() -> None:
    raw, message = mail(**SPAM["SEO spam with a fake Re:"])
    verdict = check_spam(raw, message, SpamConfig(heuristics=False), STRANGER)
    assert (verdict.status, verdict.source) == ("not_checked", "none")
    assert verdict.reasons == ("no spam check is on",)


# --- the verdict ---------------------------------------------------------------------------


def test_verdict_round_trip_through_json() -> None:
    verdict = SpamVerdict("spam", 7.5, 5.0, "spamd", ("spamd rules: GTUBE", "发票"))
    data = json.loads(json.dumps(verdict.to_dict(), ensure_ascii=False))
    assert SpamVerdict.from_dict(data) == verdict
    assert SpamVerdict.from_dict(SpamVerdict("not_checked", None, None, "none", ()).to_dict())


@pytest.mark.parametrize(
    "data", [{"status": "maybe", "source": "spamd"}, {"status": "spam", "source": "oracle"}, {}]
)
def test_verdict_from_bad_data_is_an_error(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not a spam verdict"):
        SpamVerdict.from_dict(data)


def test_combine_spam_wins_and_keeps_every_reason() -> None:
    ham = SpamVerdict("ham", 1.0, 5.0, "spamd", ("spamd score 1 of 5",))
    spam = SpamVerdict("spam", 2.0, 2.0, "heuristics", ("impersonation",))
    down = SpamVerdict("not_checked", None, None, "spamd", ("spamd refused",))
    weak = SpamVerdict("ham", 1.0, 2.0, "heuristics", ("fake Re:",))
    assert combine([ham, spam]) == SpamVerdict(
        "spam", 2.0, 2.0, "heuristics", ("spamd score 1 of 5", "impersonation")
    )
    assert combine([down, weak]).status == "not_checked"
    assert combine([down, weak]).reasons == ("spamd refused", "fake Re:")
    assert combine([ham, weak]).source == "spamd"
    assert combine([]).status == "not_checked"


# --- the organisation's own filter's headers -----------------------------------------------

UPSTREAM_SPAM = (
    "X-Spam-Flag: YES",
    "X-Spam-Status: Yes, score=7.2 required=5.0 tests=BAYES_99,\r\n\tURIBL_BLACK\r\n"
    "\tautolearn=no autolearn_force=no version=4.0.1",
)


def test_upstream_headers_count_only_when_trusted() -> None:
    raw, message = mail(headers=UPSTREAM_SPAM)
    trusted = check_spam(raw, message, SpamConfig(trusted_upstream=True), STRANGER)
    assert (trusted.status, trusted.source) == ("spam", "upstream")
    assert (trusted.score, trusted.threshold) == (7.2, 5.0)
    assert "upstream rules: BAYES_99, URIBL_BLACK" in trusted.reasons
    ignored = check_spam(raw, message, SpamConfig(), STRANGER)
    assert (ignored.status, ignored.source) == ("ham", "heuristics")


def test_upstream_ham_and_missing_headers() -> None:
    _raw, ham = mail(headers=("X-Spam-Status: No, score=-0.1 required=5.0 tests=NONE",))
    _raw, flag_only = mail(headers=("X-Spam: Yes",))
    _raw, none = mail()
    assert upstream_verdict(ham) == SpamVerdict(
        "ham",
        -0.1,
        5.0,
        "upstream",
        ("the upstream filter's headers say not spam (score -0.1 of 5)", "upstream rules: NONE"),
    )
    assert upstream_verdict(flag_only) is not None and upstream_verdict(flag_only).status == "spam"
    assert upstream_verdict(none) is None


def test_a_forged_upstream_ham_does_not_clear_the_heuristics() -> None:
    fields = dict(SPAM["SEO spam with a fake Re:"], headers=("X-Spam-Status: No, score=-5.0",))
    raw, message = mail(**fields)
    verdict = check_spam(raw, message, SpamConfig(trusted_upstream=True), STRANGER)
    assert (verdict.status, verdict.source) == ("spam", "heuristics")


# --- config --------------------------------------------------------------------------------


def spam_config(tmp_path: Path, **table: Any) -> SpamConfig:
    data = {"mailbox": {"name": "inbox", "kind": "maildir", "path": "mail"}, "spam": table}
    return parse_config(data, base_dir=tmp_path).spam


def test_spam_config_defaults(tmp_path: Path) -> None:
    assert spam_config(tmp_path) == SpamConfig()
    assert SpamConfig().port is None and SpamConfig().trusted_upstream is False
    assert spam_config(tmp_path, backend="spamd").port == 783
    assert spam_config(tmp_path, backend="rspamd").port == 11333
    full = spam_config(
        tmp_path, backend="spamd", host="10.0.0.5", port=7830, threshold=4, timeout=3, max_size=4096
    )
    assert (full.host, full.port, full.threshold, full.timeout, full.max_size) == (
        "10.0.0.5", 7830, 4.0, 3.0, 4096
    )  # fmt: skip


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"backend": "spamassassin"}, "spam.backend 'spamassassin' is not one of none, spamd"),
        ({"port": 70000}, "spam.port 70000 is not a TCP port"),
        ({"port": True}, "spam.port must be int"),
        ({"host": " "}, "spam.host must not be empty"),
        ({"threshold": "5"}, "spam.threshold must be int or float"),
        ({"threshold": float("nan")}, "spam.threshold must be a finite number"),
        ({"timeout": 0}, "spam.timeout must be a positive number"),
        ({"max_size": 100}, "spam.max_size must be at least 1024 bytes"),
        ({"trusted_upstream": "yes"}, "spam.trusted_upstream must be bool"),
        ({"treshold": 5}, "unknown key 'spam.treshold'"),
    ],
)
def test_spam_config_errors_name_the_key(
    tmp_path: Path, table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        spam_config(tmp_path, **table)
    assert message in str(info.value)


# --- spamd: the protocol against a fake spamd on a loopback socket --------------------------


class FakeFilter:
    """A TCP server on 127.0.0.1 that reads each request until the client stops writing,
    keeps it, and lets *answer* write (or not write) the reply."""

    def __init__(self, answer: Callable[[bytes, socket.socket], None]) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.stopping = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)  # to notice `stopping`: close() does not wake accept()
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while chunk := conn.recv(65536):
                        data += chunk
                    self.requests.append(data)
                    self.answer(data, conn)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def fake_spamd() -> Iterator[Callable[..., FakeFilter]]:
    servers: list[FakeFilter] = []

    def start(answer: Callable[[bytes, socket.socket], None]) -> FakeFilter:
        servers.append(FakeFilter(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def reply(text: bytes) -> Callable[[bytes, socket.socket], None]:
    return lambda _request, conn: conn.sendall(text)


def spamd_config(server: FakeFilter, **overrides: Any) -> SpamConfig:
    return SpamConfig(**{"backend": "spamd", "port": server.port, "timeout": 2.0, **overrides})


SYMBOLS_SPAM = (
    b"SPAMD/1.1 0 EX_OK\r\nContent-length: 17\r\nSpam: True ; 12.5 / 5.0\r\n\r\nGTUBE,NO_RECEIVED"
)


def test_spamd_spam_with_rule_names(fake_spamd: Callable[..., FakeFilter]) -> None:
    server = fake_spamd(reply(SYMBOLS_SPAM))
    raw, message = mail()
    verdict = check_spam(raw, message, spamd_config(server), STRANGER)
    assert (verdict.status, verdict.source, verdict.score, verdict.threshold) == (
        "spam", "spamd", 12.5, 5.0
    )  # fmt: skip
    assert "spamd rules: GTUBE, NO_RECEIVED" in verdict.reasons
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [b"SYMBOLS SPAMC/1.5", b"Content-length: %d" % len(raw)]
    assert body == raw


def test_spamd_ham_and_our_own_threshold(fake_spamd: Callable[..., FakeFilter]) -> None:
    server = fake_spamd(reply(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; 3.2 / 5.0\r\n\r\n"))
    raw, message = mail()
    ham = check_spam(raw, message, spamd_config(server), STRANGER)
    assert (ham.status, ham.source, ham.score, ham.threshold) == ("ham", "spamd", 3.2, 5.0)
    strict = check_spam(raw, message, spamd_config(server, threshold=3.0), STRANGER)
    assert (strict.status, strict.threshold) == ("spam", 3.0)
    assert strict.reasons[0] == "spamd score 3.2 of 3"


def test_spamd_ham_does_not_hide_strong_heuristics(fake_spamd: Callable[..., FakeFilter]) -> None:
    server = fake_spamd(reply(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.4 / 5.0\r\n\r\n"))
    raw, message = mail(**SPAM["CEO fraud from a look-alike domain"])
    verdict = check_spam(raw, message, spamd_config(server), STRANGER)
    assert (verdict.status, verdict.source) == ("spam", "heuristics")
    assert verdict.reasons[0] == "spamd score 0.4 of 5"


def never_answers(server_stop: threading.Event) -> Callable[[bytes, socket.socket], None]:
    return lambda _request, _conn: server_stop.wait(10)


def drips(_request: bytes, conn: socket.socket) -> None:
    conn.sendall(b"SPAMD/1.1 0 EX_OK\r\n")
    for _ in range(50):
        conn.sendall(b"X")
        time.sleep(0.1)


@pytest.mark.parametrize("slow", ["silent", "dripping"])
def test_a_slow_spamd_is_not_checked_within_the_timeout(
    fake_spamd: Callable[..., FakeFilter], slow: str
) -> None:
    stop = threading.Event()
    server = fake_spamd(never_answers(stop) if slow == "silent" else drips)
    raw, message = mail()
    started = time.monotonic()
    verdict = check_spam(raw, message, spamd_config(server, timeout=0.5), STRANGER)
    stop.set()
    assert time.monotonic() - started < 1.5
    assert (verdict.status, verdict.source) == ("not_checked", "spamd")
    assert verdict.reasons[0] == f"spamd at 127.0.0.1:{server.port} did not answer in 0.5s"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b"HTTP/1.1 200 OK\r\n\r\nhello", "gave an answer that is not SPAMD"),
        (b"\x00\xff garbage", "gave an answer that is not SPAMD"),
        (b"", "closed the connection without answering"),
        (b"SPAMD/1.0 76 Bad header line: (Content-length mismatch)\r\n", "answered error 76: Bad"),
        (b"SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", "answered without a Spam: line"),
        (b"SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; x / y\r\n\r\n", "answered without a Spam: line"),
        (b"SPAMD/1.1 0 EX_OK\r\n" + b"X" * (MAX_REPLY + 10), f"more than {MAX_REPLY} bytes"),
    ],
    ids=["http", "binary", "empty", "error", "no verdict", "bad verdict", "too long"],
)
def test_a_garbage_answer_is_not_checked(
    fake_spamd: Callable[..., FakeFilter], answer: bytes, reason: str
) -> None:
    server = fake_spamd(reply(answer))
    raw, message = mail()
    verdict = check_spam(raw, message, spamd_config(server), STRANGER)
    assert (verdict.status, verdict.source, verdict.score) == ("not_checked", "spamd", None)
    assert reason in verdict.reasons[0]


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


@pytest.mark.parametrize("backend", ["spamd", "rspamd"])
def test_a_refused_connection_is_not_checked(backend: str) -> None:
    port = closed_port()
    raw, message = mail(**SPAM["invoice fraud, Simplified"])
    config = SpamConfig(backend=backend, port=port, timeout=2.0)
    verdict = check_spam(raw, message, config, STRANGER)
    # Strong heuristics still make spam; the filter's refusal is among the reasons.
    assert (verdict.status, verdict.source) == ("spam", "heuristics")
    assert verdict.reasons[0] == f"{backend} at 127.0.0.1:{port} refused the connection"
    raw, message = mail()
    verdict = check_spam(raw, message, config, STRANGER)
    assert (verdict.status, verdict.source) == ("not_checked", backend)


def test_a_big_mail_is_checked_by_its_start(fake_spamd: Callable[..., FakeFilter]) -> None:
    server = fake_spamd(reply(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n"))
    raw, message = mail("A line of text that goes on.\n" * 10_000)
    verdict = check_spam(raw, message, spamd_config(server, max_size=50_000), STRANGER)
    sent = server.requests[0].partition(b"\r\n\r\n")[2]
    assert len(sent) <= 50_000 and raw.startswith(sent) and sent.endswith(b"\r\n")
    assert f"spamd checked the first {len(sent)} of {len(raw)} bytes" in verdict.reasons
    assert verdict.status == "ham"


def test_a_failing_checker_never_raises() -> None:
    class Broken:
        source = "spamd"

        def check(self, raw: bytes) -> SpamVerdict:
            raise RuntimeError("boom")

    raw, message = mail()
    verdict = check_spam(raw, message, SpamConfig(), STRANGER, checker=Broken())
    assert (verdict.status, verdict.source) == ("not_checked", "spamd")
    assert verdict.reasons[0] == "spamd failed: RuntimeError('boom')"


def test_spamd_ping(fake_spamd: Callable[..., FakeFilter]) -> None:
    server = fake_spamd(reply(b"SPAMD/1.5 0 PONG\r\n"))
    assert SpamdChecker("127.0.0.1", server.port, 2.0).ping()
    assert server.requests == [b"PING SPAMC/1.5\r\n\r\n"]
    assert not SpamdChecker("127.0.0.1", closed_port(), 2.0).ping()


# --- rspamd: HTTP and JSON against a fake rspamd ---------------------------------------------


class FakeRspamd(http.server.ThreadingHTTPServer):
    def __init__(self, status: int, body: bytes, delay: float = 0.0) -> None:
        self.status, self.body, self.delay = status, body, delay
        self.requests: list[tuple[str, bytes]] = []
        super().__init__(("127.0.0.1", 0), _RspamdHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A slow answer finds the client gone (it timed out, as the test wants): the write
        # fails, which is not an error of the test. Anything else still is.
        if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            super().handle_error(request, client_address)


class _RspamdHandler(http.server.BaseHTTPRequestHandler):
    server: FakeRspamd

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.requests.append((self.path, self.rfile.read(length)))
        time.sleep(self.server.delay)
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_rspamd() -> Iterator[Callable[..., FakeRspamd]]:
    servers: list[FakeRspamd] = []

    def start(status: int, body: Any, delay: float = 0.0) -> FakeRspamd:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        servers.append(FakeRspamd(status, data, delay))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


RSPAMD_SPAM = {
    "is_skipped": False,
    "score": 9.5,
    "required_score": 15.0,
    "action": "add header",
    "thresholds": {"reject": 15.0, "add header": 6.0, "greylist": 4.0},
    "symbols": {"PHISHING": {"name": "PHISHING", "score": 5.0}, "FAKE_REPLY": {"score": 1.0}},
}


def rspamd_config(server: FakeRspamd, **overrides: Any) -> SpamConfig:
    port = server.server_address[1]
    return SpamConfig(**{"backend": "rspamd", "port": port, "timeout": 2.0, **overrides})


def test_rspamd_spam_by_its_action(
    fake_rspamd: Callable[..., FakeRspamd], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")  # not used
    monkeypatch.setenv("no_proxy", "")
    server = fake_rspamd(200, RSPAMD_SPAM)
    raw, message = mail()
    verdict = check_spam(raw, message, rspamd_config(server), STRANGER)
    assert (verdict.status, verdict.source, verdict.score, verdict.threshold) == (
        "spam", "rspamd", 9.5, 6.0
    )  # fmt: skip
    assert "rspamd rules: FAKE_REPLY, PHISHING" in verdict.reasons
    assert server.requests == [("/checkv2", raw)]


def test_rspamd_ham_our_threshold_and_skips(fake_rspamd: Callable[..., FakeRspamd]) -> None:
    ham = dict(RSPAMD_SPAM, score=2.0, action="no action", thresholds={}, symbols={})
    raw, message = mail()
    server = fake_rspamd(200, ham)
    verdict = check_spam(raw, message, rspamd_config(server), STRANGER)
    assert (verdict.status, verdict.threshold) == ("ham", 15.0)
    strict = check_spam(raw, message, rspamd_config(server, threshold=1.5), STRANGER)
    assert (strict.status, strict.threshold) == ("spam", 1.5)
    skipped = fake_rspamd(200, dict(ham, is_skipped=True))
    verdict = check_spam(raw, message, rspamd_config(skipped), STRANGER)
    assert (verdict.status, verdict.reasons[0]) == ("not_checked", "rspamd skipped the mail")


@pytest.mark.parametrize(
    ("status", "body", "delay", "reason"),
    [
        (500, b"oops", 0.0, "answered HTTP 500"),
        (200, b"<html>not json</html>", 0.0, "not rspamd's JSON"),
        (200, {"score": "high"}, 0.0, "not rspamd's JSON"),
        (200, [1, 2], 0.0, "not rspamd's JSON"),
        (200, RSPAMD_SPAM, 1.5, "did not answer in 0.5s"),
    ],
    ids=["http error", "html", "bad fields", "a list", "slow"],
)
def test_rspamd_failures_are_not_checked(
    fake_rspamd: Callable[..., FakeRspamd], status: int, body: Any, delay: float, reason: str
) -> None:
    server = fake_rspamd(status, body, delay)
    raw, message = mail()
    verdict = check_spam(raw, message, rspamd_config(server, timeout=0.5), STRANGER)
    assert (verdict.status, verdict.source) == ("not_checked", "rspamd")
    assert reason in verdict.reasons[0]


def test_rspamd_url_for_ipv6() -> None:
    assert RspamdChecker("::1", 11333, 1.0).url == "http://[::1]:11333/checkv2"
