"""The change_control filing hook through the real pipeline on a Maildir."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailbot.items.change_control import ChangeControlError, assess, find_item, request_approval
from tests.unit.pipeline.hooks.conftest import Bot, body

NOW = datetime.now(UTC)


def open_change_request(
    bot: Bot, sender: str, subject: str, *, ask: bool = True
) -> tuple[int, str | None]:
    """A client's change request, filed, assessed and (when `ask`) sent for approval.

    Returns the number of the client's mail and the Message-ID of our approval request.
    """
    n = bot.deliver(sender, subject, "Please add a region filter to the dashboard.")
    [ack] = bot.run()
    assert "[" in ack["Subject"]
    ref = ack["Subject"].rsplit("[", 1)[1].rstrip("]")
    with bot.db.session() as s:
        item = find_item(s, ref)
        assess(s, item, effort="3 days", schedule="+1 week", cost="EUR 2,400", actor="lena")
        if ask:
            assert request_approval(s, bot.config, item, actor="lena", now=NOW) is not None
    bot.send()
    if not ask:
        return n, None
    [request] = bot.new_mail()
    assert request["In-Reply-To"] == f"<m{n}@client>"
    return n, str(request["Message-ID"])


def test_approval_request_is_a_reply_in_the_clients_thread_and_language(bot: Bot) -> None:
    n = bot.deliver(
        "王芳 <wang@huaxin.example>", "变更：增加按区域筛选", "请增加按区域筛选的功能。"
    )
    bot.run()
    with bot.db.session() as s:
        item = find_item(s, "HX-1")
        assess(s, item, effort="3 天", schedule="推迟一周", cost="人民币 18,000", actor="lena")
        outbox = request_approval(s, bot.config, item, actor="lena", now=NOW)
        assert outbox is not None and outbox.rcpt_to == ["wang@huaxin.example"]
        # The same assessment asked twice is one mail.
        assert request_approval(s, bot.config, item, actor="lena", now=NOW) is None
    bot.send()
    [request] = bot.new_mail()
    assert request["In-Reply-To"] == f"<m{n}@client>"
    assert request["Subject"] == "Re: 变更：增加按区域筛选 [HX-1]"
    text = body(request)
    assert "人民币 18,000" in text and "“同意”" in text and "“不同意”" in text
    assert "在您确认批准之前" in text
    item = bot.item("HX-1")
    assert item.status == "under_review" and item.approval_requested_at is not None


@pytest.mark.parametrize(
    ("answer", "status", "confirmation"),
    [
        ("Approved, please go ahead.", "approved", "recorded your approval"),
        ("We do not approve this change, it is too expensive.", "rejected", "not to be done"),
        ("Rejected.", "rejected", "not to be done"),
    ],
)
def test_a_clear_answer_decides_the_change_request(
    bot: Bot, answer: str, status: str, confirmation: str
) -> None:
    n, request = open_change_request(bot, "Anna <anna@acme.example>", "Change: region filter")
    answer_n = bot.deliver(
        "Anna <anna@acme.example>",
        "Re: Change: region filter [ACME-1]",
        answer,
        reply_to=n,
        answering=request,
    )
    # No second acknowledgement and nothing to the PM: one confirmation of the decision.
    [confirmed] = bot.run()
    assert confirmed["To"].addresses[0].addr_spec == "anna@acme.example"
    assert confirmed["In-Reply-To"] == f"<m{answer_n}@client>"
    assert confirmation in body(confirmed) and "Dear Anna," in body(confirmed)
    item = bot.item("ACME-1")
    assert item.status == status and not item.needs_review
    [note] = [e for e in bot.events("status") if e["to"] == status]
    assert answer.split(",")[0].rstrip(".") in note["evidence"]
    assert len(bot.outbox("decision")) == 1


def test_chinese_answers_approve_and_reject(bot: Bot) -> None:
    first, asked_first = open_change_request(bot, "王芳 <wang@huaxin.example>", "变更：首页横幅")
    second, asked_second = open_change_request(bot, "王芳 <wang@huaxin.example>", "变更：导出格式")
    bot.deliver(
        "wang@huaxin.example",
        "回复：变更：首页横幅",
        "同意，请尽快安排。",
        reply_to=first,
        answering=asked_first,
    )
    bot.deliver(
        "wang@huaxin.example",
        "回复：变更：导出格式",
        "不同意",
        reply_to=second,
        answering=asked_second,
    )
    confirmations = bot.run()
    assert bot.item("HX-1").status == "approved"
    assert bot.item("HX-2").status == "rejected"  # "不同意" holds "同意": still a no
    texts = {m["Subject"][-5:-1]: body(m) for m in confirmations}
    assert "同意实施" in texts["HX-1"] and "暂不实施" in texts["HX-2"]


def test_an_ambiguous_answer_waits_for_the_pm(bot: Bot) -> None:
    n, request = open_change_request(bot, "Anna <anna@acme.example>", "Change: region filter")
    answer = "Let me check with my boss"
    bot.deliver(
        "anna@acme.example",
        "Re: Change: region filter [ACME-1]",
        answer,
        reply_to=n,
        answering=request,
    )
    [notice] = bot.run()
    item = bot.item("ACME-1")
    assert item.status == "under_review" and item.needs_review
    assert notice["To"].addresses[0].addr_spec == "pm@agency.example"
    assert notice["Auto-Submitted"] == "auto-generated"
    assert "ACME-1" in notice["Subject"] and answer in body(notice)
    [event] = bot.events("approval_ambiguous")
    assert event["note"] == "ambiguous answer, PM to decide"
    assert "pm@agency.example" in event["notified"]
    assert len(bot.outbox("pm_notice")) == 1


def test_answers_written_before_the_request_or_by_us_change_nothing(bot: Bot) -> None:
    n, request = open_change_request(bot, "anna@acme.example", "Change: region filter")
    # Written a day before we asked, delivered late.
    early = datetime.now(UTC) - timedelta(days=1)
    bot.deliver(
        "anna@acme.example", "Re: Change", "Approved.", reply_to=n, date=early, answering=request
    )
    # Our own PM writing "approved" in the thread is not the client's decision.
    bot.deliver(
        "pm@agency.example", "Re: Change: region filter", "Approved.", reply_to=n, answering=request
    )
    [notice] = bot.run()
    assert bot.item("ACME-1").status == "under_review"
    [event] = bot.events("approval_ambiguous")  # the PM sees the late one, not ours
    assert "before the approval request" in event["evidence"]
    assert "before the approval request" in body(notice)


def test_a_decided_change_request_is_not_decided_again(bot: Bot) -> None:
    n, request = open_change_request(bot, "anna@acme.example", "Change: region filter")
    subject = "Re: Change: region filter"
    bot.deliver("anna@acme.example", subject, "Approved.", reply_to=n, answering=request)
    bot.run()
    bot.deliver("anna@acme.example", subject, "Rejected.", reply_to=n, answering=request)
    bot.run()
    assert bot.item("ACME-1").status == "approved"
    with bot.db.session() as s, pytest.raises(ChangeControlError, match="already approved"):
        request_approval(s, bot.config, find_item(s, "ACME-1"), actor="lena", now=NOW)


def test_an_approval_that_does_not_answer_our_request_decides_nothing(bot: Bot) -> None:
    """The subject tag and the client's own Message-ID can be copied by anyone."""
    n, _request = open_change_request(bot, "anna@acme.example", "Change: region filter")
    bot.deliver("anna@acme.example", "Re: Change: region filter [ACME-1]", "Approved.", reply_to=n)
    [notice] = bot.run()
    item = bot.item("ACME-1")
    assert item.status == "under_review" and item.needs_review
    assert notice["To"].addresses[0].addr_spec == "pm@agency.example"
    [event] = bot.events("approval_ambiguous")
    assert "not a reply to our approval request" in event["evidence"]
    assert bot.outbox("decision") == []


def test_a_stranger_answering_our_request_decides_nothing(bot: Bot) -> None:
    n, request = open_change_request(bot, "anna@acme.example", "Change: region filter")
    bot.deliver(
        "Anna <anna@acme-retai1.example>",
        "Re: Change: region filter [ACME-1]",
        "Approved.",
        reply_to=n,
        answering=request,
    )
    bot.run()
    assert bot.item("ACME-1").status == "under_review"
    assert bot.outbox("decision") == []
