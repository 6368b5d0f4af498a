"""MIME mechanics shared by the generators: build one raw mail from already written parts.

No wording lives here (each generator has its own phrase banks, personas and quoting code);
this module only turns a sender, a subject, a plain and/or HTML body and attachments into bytes
the way mail programs do (UTF-8, GB18030 or Big5; quoted-printable or base64; multipart).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from html import escape
from pathlib import Path
from random import Random


@dataclass
class Mail:
    """One generated mail and its label; `extra` headers are added as written."""

    id: str
    label: str
    lang: str
    family: str
    style: str
    from_name: str
    from_addr: str
    subject: str
    text: str | None = None
    html: str | None = None
    charset: str = "utf-8"
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (filename, mime type)
    extra: list[tuple[str, str]] = field(default_factory=list)
    to: str = "Project Team <team@agency.example>"
    in_reply_to: str | None = None


def _text_part(body: str, subtype: str, charset: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    cs = Charset(charset)
    cs.body_encoding = QP if charset == "utf-8" and body.isascii() else BASE64
    part.set_payload(body.replace("\n", "\r\n"), charset=cs)
    return part


def render(mail: Mail, rng: Random, when: datetime) -> bytes:
    parts = []
    if mail.text is not None:
        parts.append(_text_part(mail.text, "plain", mail.charset))
    if mail.html is not None:
        parts.append(_text_part(mail.html, "html", mail.charset))
    body = parts[0] if len(parts) == 1 else MIMEMultipart("alternative", _subparts=parts)
    if mail.attachments:
        outer = MIMEMultipart("mixed")
        outer.attach(body)
        for name, ctype in mail.attachments:
            maintype, subtype = ctype.split("/", 1)
            blob = MIMEApplication(bytes(rng.randrange(256) for _ in range(64)), subtype)
            blob.replace_header("Content-Type", f"{maintype}/{subtype}")
            blob.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
            outer.attach(blob)
        body = outer
    domain = mail.from_addr.rsplit("@", 1)[-1]
    body["From"] = formataddr((mail.from_name, mail.from_addr), charset="utf-8")
    body["To"] = mail.to
    body["Subject"] = Header(mail.subject, "utf-8").encode() if not mail.subject.isascii() else mail.subject
    body["Date"] = format_datetime(when)
    body["Message-ID"] = f"<{mail.id}.{rng.randrange(10**9)}@{domain}>"
    if mail.in_reply_to:
        body["In-Reply-To"] = f"<{mail.in_reply_to}>"
        body["References"] = f"<{mail.in_reply_to}>"
    for name, value in mail.extra:
        body[name] = value
    return body.as_bytes(policy=SMTP)


def html_page(paragraphs: list[str], table: list[list[str]] | None = None) -> str:
    """A plain HTML mail body: paragraphs, optionally a table with a header row."""
    out = ['<html><head><meta charset="utf-8"></head><body style="font-family:Calibri">']
    for para in paragraphs:
        lines = "<br>".join(escape(line) for line in para.split("\n"))
        out.append(f"<p>{lines}</p>")
    if table:
        out.append('<table border="1" cellpadding="4" style="border-collapse:collapse">')
        head, *rows = table
        out.append("<tr>" + "".join(f"<th>{escape(c)}</th>" for c in head) + "</tr>")
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_set(mails: list[tuple[Mail, bytes]], out_dir: Path, per_folder: int = 500) -> None:
    """Write the .eml files in numbered folders and one labels.jsonl describing them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for number, (mail, data) in enumerate(mails):
        folder = out_dir / f"{number // per_folder:02d}"
        folder.mkdir(exist_ok=True)
        path = folder / f"{mail.id}.eml"
        path.write_bytes(data)
        rows.append(
            {
                "id": mail.id,
                "file": str(path.relative_to(out_dir)),
                "label": mail.label,
                "lang": mail.lang,
                "family": mail.family,
                "style": mail.style,
            }
        )
    with (out_dir / "labels.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def moment(rng: Random, start: datetime, days: int, offset_hours: int) -> datetime:
    """A working-hours time within `days` after `start`, in the sender's time zone."""
    day = start + timedelta(days=rng.randrange(days))
    when = day.replace(hour=rng.randrange(7, 21), minute=rng.randrange(60), second=rng.randrange(60))
    return when.astimezone(timezone(timedelta(hours=offset_hours)))
