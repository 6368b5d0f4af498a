"""The web workspace in a real browser (Debian's chromium driven by Playwright).

The app runs in uvicorn on a free loopback port over the `filed` bot's database. A PM signs
in, works an item with the page's own forms and sees it on the board; another project's item
is not found; client text carrying script renders inert. With MAILBOT_SCREENSHOTS=1 the test
also writes docs/screenshots/*.png.
"""

from __future__ import annotations

import dataclasses
import email
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
import uvicorn

from mailbot.accounts.users import add_user
from mailbot.config import load_config
from mailbot.config_types import WebConfig
from mailbot.storage.db import open_database
from mailbot.web.app import create_app
from tests.servers import DovecotAccount
from tests.servers.smtp import SmtpSink
from tests.support.configs import write_config
from tests.support.queue_bot import Bot
from tests.support.queue_fixtures import file_three_items

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must run the browser tests: install Debian's chromium")
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Bot]]:
    """The web workspace on http://127.0.0.1:PORT over a bot with three items and three people."""
    with Bot(tmp_path) as bot:
        file_three_items(bot)
        bot.deliver(
            "Eve <eve@acme.example>",
            "<script>alert(1)</script><img src=x onerror=alert(2)>",
            '<a href="javascript:alert(3)">click</a> <img src="http://198.51.100.7/x.png"> '
            "<iframe src=javascript:alert(4)></iframe>",
        )
        bot.run()
        with bot.session() as session:
            add_user(
                session,
                bot.config,
                "lena",
                PASSWORD,
                role="pm",
                projects=["ACME"],
                language="zh-Hans",
                timezone="Asia/Shanghai",
                actor="t",
            )
            add_user(session, bot.config, "admin", PASSWORD, role="admin", actor="t")
        config = dataclasses.replace(bot.config, web=WebConfig(secure_cookies=False))
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(config, bot.db), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", bot
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def _sign_in(page: object, base: str, name: str) -> None:
    page.goto(f"{base}/")  # type: ignore[attr-defined]
    page.fill("input[name=name]", name)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("table.queue")  # type: ignore[attr-defined]


def _shot(page: object, name: str) -> None:
    if os.environ.get("MAILBOT_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_a_pm_works_an_item_in_the_browser(site: tuple[str, Bot], browser: object) -> None:
    base, bot = site
    page = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    _sign_in(page, base, "lena")
    assert page.locator('tr[data-ref="ACME-1"]').count() == 1
    assert page.locator('tr[data-ref="HX-1"]').count() == 0
    _shot(page, "queue")
    page.click('tr[data-ref="ACME-1"] a')
    page.wait_for_selector("article.item")
    assert "Error 500 when we pay." in page.content()
    _shot(page, "item")
    page.select_option("#action-reclassify select[name=category]", "change_request")
    page.fill("#action-reclassify input[name=reason]", "the client asks for a change")
    page.click("#action-reclassify button")
    page.wait_for_selector("p.done")
    assert bot.item("ACME-1").category == "change_request"
    page.goto(f"{base}/board")
    assert page.locator('section[data-stage="submitted"] article[data-ref="ACME-1"]').count() == 1
    _shot(page, "board")
    response = page.goto(f"{base}/items/HX-1")
    assert response is not None and response.status == 404


def test_client_text_with_script_renders_inert(site: tuple[str, Bot], browser: object) -> None:
    base, _bot = site
    page = browser.new_page()  # type: ignore[attr-defined]
    dialogs: list[str] = []
    elsewhere: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on(
        "request",
        lambda request: None if request.url.startswith(base) else elsewhere.append(request.url),
    )
    _sign_in(page, base, "admin")
    assert "<script>alert(1)</script>" in page.inner_text("table.queue")  # shown as text
    page.click('tr[data-ref="ACME-3"] a')
    page.wait_for_selector("article.item")
    page.wait_for_timeout(500)  # a script or image would have run or loaded by now
    assert dialogs == [] and elsewhere == []
    assert page.locator("article.item script, article.item img, article.item iframe").count() == 0
    assert page.locator('article.item a[href^="javascript:"]').count() == 0


# --- the whole loop: the real daemon, Dovecot, an SMTP server and the browser ----------------

MX = "mx.agency.example"  # whose Authentication-Results the daemon trusts


def _client_mail(n: int, subject: str, body: str, in_reply_to: str | None = None) -> bytes:
    from email.message import EmailMessage
    from email.utils import format_datetime

    mail = EmailMessage()
    mail["From"] = "Anna Keller <anna@acme.example>"
    mail["To"] = "Agency team <team@agency.example>"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<web-{n}@acme.example>"
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Authentication-Results"] = f"{MX}; dmarc=pass header.from=acme.example"
    if in_reply_to:
        mail["In-Reply-To"] = mail["References"] = in_reply_to
    mail.set_content(body)
    return mail.as_bytes()


def _wait(condition: Callable[[], object], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


def test_a_client_mail_worked_in_the_browser_until_the_client_approves(
    imap_account: DovecotAccount, smtp_sink: SmtpSink, tmp_path: Path, browser: object
) -> None:
    config_path = write_config(
        tmp_path / "mailbot.toml",
        imap_account.mailbox_config(),
        "sqlite:///mb.sqlite3",
        projects=[
            {
                "key": "ACME",
                "name": "ACME web shop",
                "client_domains": ["acme.example"],
                "pm": "lena@agency.example",
                "pm_name": "Lena",
            },
            {
                "key": "HX",
                "name": "华信物流",
                "client_domains": ["huaxin.example"],
                "language": "zh-Hans",
                "pm": "wang@agency.example",
            },
        ],
        smtp_port=smtp_sink.port,
        site={"name": "Agency team", "address": "team@agency.example"},
        authentication={"trusted_authserv_ids": [MX]},
        schedules={"enabled": False},
        web={"secure_cookies": False},
    )
    config = load_config(config_path)
    db = open_database(config.database_url)
    with db.session() as session:
        add_user(session, config, "lena", PASSWORD, role="pm", projects=["ACME"], actor="t")
        add_user(session, config, "wang", PASSWORD, role="pm", projects=["HX"], actor="t")
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(config_path), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config, db), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        # A client writes; the daemon files and acknowledges it.
        imap_account.append(
            "INBOX",
            _client_mail(1, "Checkout broken", "Since this morning the checkout shows error 500."),
        )
        _wait(lambda: len(smtp_sink.messages) >= 1, "the acknowledgement", log)
        page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        _sign_in(page, base, "lena")
        assert page.locator('tr[data-ref="ACME-1"]').count() == 1
        page.click('tr[data-ref="ACME-1"] a')
        page.wait_for_selector("article.item")

        # It is a change, really: reclassified, then its status mail edited and sent.
        page.select_option("#action-reclassify select[name=category]", "change_request")
        page.click("#action-reclassify button")
        page.wait_for_selector("p.done")
        page.select_option("#action-status-preview select[name=status]", "under_review")
        page.click("#action-status-preview button")
        page.wait_for_selector("#action-status textarea[name=body]")
        body = page.input_value("#action-status textarea[name=body]")
        assert "ACME-1" in body
        page.fill("#action-status textarea[name=body]", body + "\nWe will call you at 3 pm.\n")
        page.click("#action-status button[type=submit]")
        page.wait_for_selector("p.done")
        _wait(lambda: len(smtp_sink.messages) >= 2, "the status mail, sent at once", log)
        status_mail = smtp_sink.messages[1]
        assert status_mail.rcpt_tos == ("anna@acme.example",)
        assert b"We will call you at 3 pm." in status_mail.content

        # The impact, then the approval request: it reaches the client.
        page.fill("#action-assess input[name=effort]", "3 days")
        page.fill("#action-assess input[name=cost]", "EUR 2,400")
        page.click("#action-assess button")
        page.wait_for_selector("#action-request-approval")
        page.click("#action-request-approval button")
        page.wait_for_selector("p.done")
        _wait(lambda: len(smtp_sink.messages) >= 3, "the approval request", log)
        request = email.message_from_bytes(smtp_sink.messages[2].content, policy=policy.default)
        assert "EUR 2,400" in request.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        # The client approves by replying; the daemon reads it and the board shows it.
        imap_account.append(
            "INBOX",
            _client_mail(
                2, f"Re: {request['Subject']}", "Approved, go ahead.", request["Message-ID"]
            ),
        )

        def approved() -> bool:
            page.goto(f"{base}/board")
            return (
                page.locator('section[data-stage="approved"] article[data-ref="ACME-1"]').count()
                == 1
            )

        _wait(approved, "the item approved on the board", log)
        # A PM of another project learns nothing of it.
        other = browser.new_page()  # type: ignore[attr-defined]
        _sign_in(other, base, "wang")
        response = other.goto(f"{base}/items/ACME-1")
        assert response is not None and response.status == 404
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
        db.dispose()
