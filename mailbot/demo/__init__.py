"""A throw-away workspace that shows mailbot working, with no configuration needed."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from mailbot.app import build_pipeline
from mailbot.config import load_config
from mailbot.pipeline.machine import RunStats
from mailbot.sources.maildir import ensure_maildir
from mailbot.storage.db import open_database

MAILS_DIR = Path(__file__).resolve().parent / "mails"

CONFIG_TEMPLATE = """\
# The demo's configuration: a local Maildir inbox and an SQLite database.
[mailbox]
name = "demo"
kind = "maildir"
path = "inbox"

[database]
url = "sqlite:///mailbot.sqlite3"

[outbox]
directory = "outbox"    # acknowledgements are written here instead of being sent

[web]
secure_cookies = false  # the demo's web queue is plain http on 127.0.0.1; never on a server

[site]
name = "Northwind Digital project team"
address = "team@agency.example"
name_by_language = { "zh-Hans" = "北风数码", "zh-Hant" = "北風數位" }
signature_by_language = { "zh-Hans" = "北风数码项目组", "zh-Hant" = "北風數位專案團隊" }

[[projects]]
key = "ACME"
name = "ACME Retail web shop"
client_domains = ["acme-retail.example"]
keywords = ["web shop", "checkout"]
language = "en"
pm = "lena@agency.example"
pm_name = "Lena Wu"
milestones = [
    { name = "Design sign-off", due = @DAY-14@, status = "done" },
    { name = "User acceptance testing", due = @DAY+5@, status = "in_progress" },
    { name = "Go-live", due = @DAY+25@ },
]

[[projects]]
key = "HX"
name = "华信物流运输管理系统"
client_domains = ["huaxin-logistics.example"]
keywords = ["运输", "报表"]
language = "zh-Hans"
pm = "zhou@agency.example"
pm_name = "周明"
pm_language = "zh-Hans"
milestones = [
    { name = "需求确认", due = @DAY-10@, status = "done" },
    { name = "系统联调", due = @DAY+3@, status = "in_progress" },
    { name = "正式上线", due = @DAY+24@ },
]

[[projects]]
key = "FH"
name = "福爾摩沙診所預約系統"
client_domains = ["formosa-health.example"]
language = "zh-Hant"
pm = "lin@agency.example"
pm_name = "林佳蓉"

[logging]
level = "WARNING"
"""


def demo_config(today: date) -> str:
    """The config with milestone dates around `today`: one done, one near, one ahead."""
    return re.sub(
        r"@DAY([+-]\d+)@",
        lambda m: (today + timedelta(days=int(m.group(1)))).isoformat(),
        CONFIG_TEMPLATE,
    )


@dataclass(frozen=True)
class DemoWorkspace:
    root: Path
    config: Path
    inbox: Path
    database: Path
    outbox: Path


def create_workspace(root: Path, *, fresh: bool = True) -> DemoWorkspace:
    """Write the config and seed a Maildir inbox with the bundled example mails."""
    if fresh and root.exists():
        shutil.rmtree(root)
    inbox = root / "inbox"
    ensure_maildir(inbox)
    config = root / "mailbot.toml"
    config.write_text(demo_config(date.today()), encoding="utf-8")
    stamp = int(time.time())
    for i, mail in enumerate(sorted(MAILS_DIR.glob("*.eml"))):
        target = inbox / "new" / f"{stamp}.M{i:03d}P0.demo"
        shutil.copyfile(mail, target)
    return DemoWorkspace(root, config, inbox, root / "mailbot.sqlite3", root / "outbox")


def run_demo(root: Path) -> tuple[DemoWorkspace, RunStats]:
    """Create the workspace and run the real pipeline over it once."""
    workspace = create_workspace(root)
    config = load_config(workspace.config)
    db = open_database(config.database_url)
    try:
        stats = build_pipeline(config, db).run_once()
    finally:
        db.dispose()
    return workspace, stats
