"""`pipelining.sendmail` against aiosmtpd on loopback, with and without PIPELINING: the same
outcome as smtplib's `sendmail` in every case, in two writes per mail where pipelined."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from mailbot.outgoing.pipelining import sendmail
from tests.servers.smtp import SmtpSink

RAW = b"Subject: Re: export\r\nFrom: team@agency.example\r\n\r\n.a line with a dot\r\nbody\r\n"
FROM = "team@agency.example"

pytestmark = [pytest.mark.integration, pytest.mark.no_database]


@pytest.fixture(params=[True, False], ids=["pipelined", "one-by-one"])
def sink(request: pytest.FixtureRequest) -> Iterator[SmtpSink]:
    with SmtpSink(pipelining=request.param) as server:
        yield server


@pytest.fixture
def smtp(sink: SmtpSink) -> Iterator[smtplib.SMTP]:
    connection = smtplib.SMTP(sink.host, sink.port, timeout=10)
    yield connection
    connection.close()


def writes(smtp: smtplib.SMTP, monkeypatch: pytest.MonkeyPatch) -> list[bytes | str]:
    """Every write the client makes from now on."""
    sent: list[bytes | str] = []
    original = smtp.send

    def send(data: bytes | str) -> None:
        original(data)
        sent.append(data)  # only what went out

    monkeypatch.setattr(smtp, "send", send)
    return sent


def test_a_mail_arrives_whole_in_two_writes_where_pipelined(
    sink: SmtpSink, smtp: smtplib.SMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp.ehlo()
    assert smtp.has_extn("pipelining") is sink.pipelining
    sent = writes(smtp, monkeypatch)
    refused = sendmail(smtp, FROM, ["a@client.example", "b@client.example"], RAW)
    assert refused == {}
    (got,) = sink.wait_for(1)
    assert got.mail_from == FROM
    assert got.rcpt_tos == ("a@client.example", "b@client.example")
    assert got.content == RAW  # dot-stuffed on the wire, unstuffed by the server
    if sink.pipelining:
        assert len(sent) == 2
        assert str(sent[0]).count("\r\n") == 4  # MAIL, two RCPT, DATA in one write
    else:
        assert len(sent) >= 5  # MAIL, RCPT, RCPT, DATA, the mail


def test_one_recipient_refused_of_two_is_reported_and_the_other_gets_it(
    sink: SmtpSink, smtp: smtplib.SMTP
) -> None:
    sink.fail_next(1, code=550, stage="rcpt")
    refused = sendmail(smtp, FROM, ["gone@client.example", "b@client.example"], RAW)
    assert list(refused) == ["gone@client.example"]
    assert refused["gone@client.example"][0] == 550
    (got,) = sink.wait_for(1)
    assert got.rcpt_tos == ("b@client.example",)


@pytest.mark.parametrize(
    ("stage", "code", "error"),
    [
        ("rcpt", 550, smtplib.SMTPRecipientsRefused),
        ("data", 451, smtplib.SMTPDataError),
        ("mail", 553, smtplib.SMTPSenderRefused),
    ],
)
def test_a_refusal_raises_as_smtplib_does_and_the_connection_goes_on(
    sink: SmtpSink, smtp: smtplib.SMTP, stage: str, code: int, error: type[Exception]
) -> None:
    sink.fail_next(1, code=code, stage=stage)
    with pytest.raises(error) as raised:
        sendmail(smtp, FROM, ["a@client.example"], RAW)
    if isinstance(raised.value, smtplib.SMTPRecipientsRefused):
        assert raised.value.recipients["a@client.example"][0] == code
    else:
        assert getattr(raised.value, "smtp_code", None) == code
    assert sink.messages == []
    # Reset after the refusal: the next mail on the same connection goes through.
    assert sendmail(smtp, FROM, ["a@client.example"], RAW) == {}
    assert len(sink.wait_for(1)) == 1


def test_a_non_ascii_address_is_refused_before_anything_is_sent(
    sink: SmtpSink, smtp: smtplib.SMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp.ehlo()
    sent = writes(smtp, monkeypatch)
    with pytest.raises(UnicodeEncodeError):
        sendmail(smtp, FROM, ["müller@client.example"], RAW)
    if sink.pipelining:
        assert sent == []
    smtp.rset()  # as the outbox's drain does after a failed mail
    assert sendmail(smtp, FROM, ["a@client.example"], RAW) == {}
    assert len(sink.wait_for(1)) == 1


def test_an_address_with_a_line_break_is_refused(smtp: smtplib.SMTP) -> None:
    with pytest.raises(ValueError, match="newline"):
        sendmail(smtp, "<>\r\nRCPT TO:<x@evil.example>", ["a@client.example"], RAW)


def test_a_mail_without_a_final_line_break_is_ended_properly(
    sink: SmtpSink, smtp: smtplib.SMTP
) -> None:
    sendmail(smtp, FROM, ["a@client.example"], b"Subject: x\r\n\r\nno line break at the end")
    (got,) = sink.wait_for(1)
    assert got.content.rstrip(b"\r\n") == b"Subject: x\r\n\r\nno line break at the end"


def test_a_server_closing_at_the_sender_is_a_lost_connection(
    sink: SmtpSink, smtp: smtplib.SMTP
) -> None:
    sink.fail_next(1, code=421, stage="mail")
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPServerDisconnected)):
        sendmail(smtp, FROM, ["a@client.example"], RAW)
    assert sink.messages == []
