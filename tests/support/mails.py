"""Realistic client mails for tests and benchmarks: en/zh, plain/HTML, attachments."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime

EN_LINES = [
    "The export to Excel fails with a timeout since this morning's release.",
    "Could you also add a filter by region to the sales dashboard?",
    "Thanks for the quick turnaround on the landing page, it looks great.",
    "Several customers report that the password reset link has expired immediately.",
    "We would like to move the go-live date to the second week of March.",
    "Approved. Please go ahead with the second phase as proposed.",
    "The mobile app crashes when a user uploads a photo larger than 10 MB.",
    "Is it possible to show prices in both EUR and USD on the checkout page?",
]
ZH_LINES = [
    "今天上午发布之后，导出 Excel 一直超时，麻烦尽快看一下。",
    "销售看板能不能再加一个按区域筛选的功能？",
    "落地页做得很好，辛苦各位了，谢谢！",
    "好几个客户反馈密码重置链接一打开就显示已过期。",
    "我们希望把上线时间推迟到三月第二周，请评估一下影响。",
    "同意，请按方案推进第二阶段。",
    "用户上传超过10MB的照片时，APP会直接闪退。",
    "结算页面可以同时显示人民币和美元价格吗？",
]
FILLER_EN = (
    "For context, this affects the team in the Hamburg office and our partners in Lyon. "
    "We checked with our IT department and nothing changed on our side. "
)
FILLER_ZH = (
    "补充说明一下，这个情况影响到上海和深圳两个办公室的同事，我们这边的网络和账号都没有变化。"
)


def make_mail(
    i: int,
    *,
    lang: str = "en",
    html: bool = False,
    attachment: bool = False,
    size: int = 4000,
    domain: str = "client.example",
) -> bytes:
    """One distinct message of about `size` bytes; `i` makes Message-ID and text unique."""
    rng = random.Random(i)
    zh = lang == "zh"
    line = rng.choice(ZH_LINES if zh else EN_LINES)
    filler = FILLER_ZH if zh else FILLER_EN
    body = f"{'您好' if zh else 'Hello team'},\n\n{line}\n\n"
    while len(body.encode()) < size * (0.35 if html else 0.6):  # base64 adds a third
        body += filler + "\n"
    body += f"\n{'谢谢' if zh else 'Thanks'},\n{'王芳' if zh else 'Maria'} (#{i})\n"
    subject = f"{line[:30]} #{i}"
    date = datetime(2026, 11, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=i)
    headers = [
        (
            "From",
            f"{Header('王芳' if zh else 'Maria Keller', 'utf-8').encode()} <user{i % 17}@{domain}>",
        ),
        ("To", "Project Team <team@agency.example>"),
        ("Subject", Header(subject, "utf-8").encode(linesep="\r\n")),
        ("Date", format_datetime(date)),
        ("Message-ID", f"<msg-{i}-{rng.randrange(10**9)}@{domain}>"),
        ("MIME-Version", "1.0"),
    ]
    text_part = _part("text/plain; charset=utf-8", body.encode())
    if html:
        markup = (
            "<html><body>"
            + "".join(f"<p>{p}</p>" for p in body.split("\n") if p)
            + "</body></html>"
        )
        content = _multipart(
            "alternative", [text_part, _part("text/html; charset=utf-8", markup.encode())]
        )
    else:
        content = text_part
    if attachment:
        blob = bytes(rng.randrange(256) for _ in range(600))
        att = (
            b'Content-Type: application/pdf; name="report.pdf"\r\n'
            b'Content-Disposition: attachment; filename="report.pdf"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(blob).replace(b"\n", b"\r\n")
        )
        content = _multipart("mixed", [content, att])
    head = "".join(f"{k}: {v}\r\n" for k, v in headers).encode()
    return head + content


def _part(content_type: str, payload: bytes) -> bytes:
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    return (
        f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
        + encoded
    )


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    boundary = f"=_mb_{subtype}_{len(parts)}_{sum(len(p) for p in parts)}"
    out = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    for p in parts:
        out += f"--{boundary}\r\n".encode() + p + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def make_mails(n: int, start: int = 0) -> list[bytes]:
    """A realistic mix: half Chinese, a quarter HTML, a tenth with an attachment."""
    return [
        make_mail(i, lang="zh" if i % 2 else "en", html=i % 4 == 3, attachment=i % 10 == 9)
        for i in range(start, start + n)
    ]
