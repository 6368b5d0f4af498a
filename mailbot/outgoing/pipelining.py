"""Hand one mail to an SMTP server in two round trips where it offers PIPELINING (RFC 2920).

`smtplib.SMTP.sendmail` waits for the answer to MAIL, then to each RCPT, then to DATA
before it sends the mail itself: four round trips or more per mail. A server that
advertises PIPELINING (Postfix, Exim, Exchange and the large providers do) takes MAIL,
the RCPTs and DATA in one write; the answers come back in order and are read together,
then the mail is sent and its answer read. Without PIPELINING, `sendmail` is used as is.

The outcome is smtplib's to the letter: the same return value (recipients refused while
others were accepted) and the same exceptions for a refused sender, refused recipients
or refused data, so the caller cannot tell the two paths apart.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
from collections.abc import Sequence

_LEADING_DOT = re.compile(rb"(?m)^\.")
_CLOSING = 421  # the server is shutting the connection


def sendmail(
    smtp: smtplib.SMTP, from_addr: str, to_addrs: Sequence[str], raw: bytes
) -> dict[str, tuple[int, bytes]]:
    """As `smtp.sendmail(from_addr, to_addrs, raw)`, pipelined where the server allows it."""
    smtp.ehlo_or_helo_if_needed()
    if not (smtp.does_esmtp and smtp.has_extn("pipelining")):
        return smtp.sendmail(from_addr, list(to_addrs), raw)
    size = f" SIZE={len(raw)}" if smtp.has_extn("size") else ""
    commands = [f"MAIL FROM:{smtplib.quoteaddr(from_addr)}{size}"]
    commands += [f"RCPT TO:{smtplib.quoteaddr(rcpt)}" for rcpt in to_addrs]
    commands.append("DATA")
    if any("\r" in c or "\n" in c for c in commands):  # as smtplib's putcmd refuses
        raise ValueError("command and arguments contain prohibited newline characters")
    # A str goes out in the connection's command encoding (ASCII): a non-ASCII address
    # raises UnicodeEncodeError before anything is sent, as with `sendmail`.
    smtp.send("".join(f"{c}\r\n" for c in commands))

    mail_code, mail_reply = smtp.getreply()
    refused: dict[str, tuple[int, bytes]] = {}
    closing = mail_code == _CLOSING
    for rcpt in to_addrs:
        code, reply = smtp.getreply()
        if code not in (250, 251):
            refused[rcpt] = (code, reply)
        closing = closing or code == _CLOSING
    data_code, data_reply = smtp.getreply()
    closing = closing or data_code == _CLOSING

    nobody = mail_code != 250 or len(refused) == len(to_addrs)
    if data_code == 354 and nobody and not closing:
        # A server that takes DATA with no one to deliver to still waits for the data:
        # end it at once (nothing is delivered) so the connection stays usable.
        smtp.send(b".\r\n")
        smtp.getreply()
    if mail_code != 250:
        _after_refusal(smtp, closing)
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, from_addr)
    if refused and (closing or len(refused) == len(to_addrs)):
        _after_refusal(smtp, closing)
        raise smtplib.SMTPRecipientsRefused(refused)
    if data_code != 354:
        _after_refusal(smtp, closing)
        raise smtplib.SMTPDataError(data_code, data_reply)

    data = _LEADING_DOT.sub(b"..", raw)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    smtp.send(data + b".\r\n")
    code, reply = smtp.getreply()
    if code != 250:
        _after_refusal(smtp, code == _CLOSING)
        raise smtplib.SMTPDataError(code, reply)
    return refused


def _after_refusal(smtp: smtplib.SMTP, closing: bool) -> None:
    """What `sendmail` does after a refusal: close a connection the server is closing,
    else RSET (and, like smtplib's `_rset`, not `connection.reset`, let any error but a
    lost connection through)."""
    if closing:
        smtp.close()
        return
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        smtp.rset()
