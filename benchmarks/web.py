"""The web workspace on a large database: 20,000 items and 60,000 messages.

Times the queue page (first page, a filter, a search in English and in Chinese, the
overdue filter) and an item page, in process through Starlette's test client (the
server's time, no network), and the same queries through the CLI's function
(`list_items`, what `mailbot queue list` runs). Prints p50 and p95 per request.

    .venv/bin/python benchmarks/web.py                      # SQLite in a temporary folder
    .venv/bin/python benchmarks/web.py --database postgresql+psycopg://postgres@127.0.0.1/bench

The PostgreSQL database must exist and be empty (it is migrated here).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.accounts.users import add_user  # noqa: E402
from mailbot.config import parse_config  # noqa: E402
from mailbot.items.views import QueueFilter, list_items  # noqa: E402
from mailbot.storage.db import open_database  # noqa: E402
from mailbot.storage.models import Blob, Item, ProjectCounter, StoredMessage  # noqa: E402
from mailbot.storage.search import reindex_items  # noqa: E402

ITEMS = 20_000
MESSAGES_PER_ITEM = 3
REPEAT = 40
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
PROJECTS = ("ACME", "HX", "FH")
EN = [
    "Checkout fails with error 500", "Search returns nothing for umlauts", "Please change the logo",
    "Invoice PDF is empty", "Add a filter by region", "Login page is slow", "Export to Excel",
    "Password reset mail never arrives", "New banner for the sale", "Thanks, looks good",
]  # fmt: skip
ZH = [
    "后台登录不了", "订单无法处理", "报表能不能再加一列毛利", "运单查询页面打不开",
    "导出格式需要调整", "收到，谢谢", "上线计划确认", "支付页面报错", "短信验证码收不到",
    "希望增加批量导入",
]  # fmt: skip
BODY_EN = (
    "Hello team,\n\nsince this morning {t}. We tried it on Chrome and Safari, with two "
    "accounts, and it happens every time. Our customers are calling us about it.\n\n"
    "Could you have a look today? Screenshots are attached.\n\nBest regards,\nAnna"
)
BODY_ZH = (
    "你好，\n\n从今天上午开始{t}，我们用不同的浏览器和账号都试过了，每次都一样。"
    "客户已经打电话来问了，麻烦今天帮忙看一下，截图见附件。\n\n谢谢！\n王芳"
)


def config_for(url: str, folder: Path):  # type: ignore[no-untyped-def]
    data = {
        "mailbox": {"kind": "maildir", "path": str(folder / "mail")},
        "database": {"url": url},
        "site": {"name": "Agency", "address": "team@agency.example"},
        "projects": [
            {"key": key, "name": f"Project {key}", "client_domains": [f"{key.lower()}.example"]}
            for key in PROJECTS
        ],
        "web": {"secure_cookies": False},
    }
    return parse_config(data, base_dir=folder)


def fill(db, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Items and messages in bulk, then the search index, as filing would leave them."""
    statuses = {
        "issue": ["new", "acknowledged", "in_progress", "resolved", "closed"],
        "change_request": ["submitted", "under_review", "approved", "scheduled", "done"],
        "feedback": ["received", "noted"],
    }
    items, messages = [], []
    numbers = dict.fromkeys(PROJECTS, 0)
    for n in range(1, ITEMS + 1):
        project = PROJECTS[n % 3]
        numbers[project] += 1
        category = rng.choice(["issue", "issue", "change_request", "feedback"])
        chinese = project != "ACME"
        title = rng.choice(ZH if chinese else EN)
        created = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        items.append(
            {
                "id": n,
                "ref": f"{project}-{numbers[project]}",
                "project_key": project,
                "number": numbers[project],
                "category": category,
                "status": rng.choice(statuses[category]),
                "title": title,
                "client_email": f"client{n % 500}@{project.lower()}.example",
                "client_name": "王芳" if chinese else "Anna Keller",
                "language": "zh-Hans" if chinese else "en",
                "confidence": round(rng.random(), 2),
                "needs_review": rng.random() < 0.1,
                "escalate": rng.random() < 0.05,
                "first_response_at": None if rng.random() < 0.3 else created + timedelta(hours=1),
                "created_at": created,
                "updated_at": created,
            }
        )
        for m in range(MESSAGES_PER_ITEM):
            body = (BODY_ZH if chinese else BODY_EN).format(t=title)
            messages.append(
                {
                    "account": "bench",
                    "folder": "INBOX",
                    "uidvalidity": 1,
                    "uid": n * 10 + m,
                    "sha256": f"{n:032d}{m:032d}",
                    "message_id": f"bench-{n}-{m}@{project.lower()}.example",
                    "from_email": f"client{n % 500}@{project.lower()}.example",
                    "subject": title if m == 0 else f"Re: {title}",
                    "new_text": body,
                    "text": body,
                    "item_id": n,
                    "state": "answered",
                    "received_at": created + timedelta(hours=m),
                    "arrived_at": created + timedelta(hours=m),
                }
            )
    with db.session() as session:
        session.execute(insert(Item), items)
        counters = [{"project_key": k, "last_number": v} for k, v in numbers.items()]
        session.execute(insert(ProjectCounter), counters)
    blobs = [{"sha256": m["sha256"], "size": 10, "data": b"x"} for m in messages]
    with db.session() as session:
        for start in range(0, len(messages), 5000):
            session.execute(insert(Blob), blobs[start : start + 5000])
            session.execute(insert(StoredMessage), _known_columns(messages[start : start + 5000]))
    with db.session() as session:
        for start in range(1, ITEMS + 1, 1000):
            reindex_items(session, range(start, min(start + 1000, ITEMS + 1)))


def _known_columns(rows: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    columns = set(StoredMessage.__table__.columns.keys())
    return [{k: v for k, v in row.items() if k in columns} for row in rows]


def timed(fn: Callable[[], object], repeat: int = REPEAT) -> tuple[float, float]:
    fn()  # warm: the first call compiles templates and fills caches
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temp folder)")
    args = parser.parse_args()
    from starlette.testclient import TestClient

    from mailbot.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database or f"sqlite:///{folder / 'bench.sqlite3'}"
        config = config_for(url, folder)
        db = open_database(config.database_url)
        started = time.perf_counter()
        fill(db, random.Random(7))
        print(f"filled {ITEMS:,} items, {ITEMS * MESSAGES_PER_ITEM:,} messages "
              f"in {time.perf_counter() - started:.0f} s ({db.engine.dialect.name})")  # fmt: skip
        with db.session() as session:
            add_user(session, config, "bench", "correct horse battery", role="admin", actor="b")
            if db.engine.dialect.name == "postgresql":
                session.execute(text("ANALYZE"))
        app = create_app(config, db, clock=lambda: NOW)
        client = TestClient(app, base_url="http://testserver")
        login = client.get("/login").text
        csrf = login.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"name": "bench", "password": "correct horse battery",
                                    "csrf": csrf, "next": "/"})  # fmt: skip
        with db.session() as session:
            ref = session.scalar(select(Item.ref).where(Item.id == ITEMS // 2))
        pages = {
            "queue, first page": "/",
            "queue, project + category": "/?project=HX&category=issue",
            "queue, search 'checkout'": "/?q=checkout",
            "queue, search '登录'": "/?q=%E7%99%BB%E5%BD%95",
            "queue, overdue": "/?overdue=1",
            f"item page ({ref})": f"/items/{ref}",
        }
        cli = {
            "queue, first page": QueueFilter(),
            "queue, project + category": QueueFilter(project="HX", category="issue"),
            "queue, search 'checkout'": QueueFilter(search="checkout"),
            "queue, search '登录'": QueueFilter(search="登录"),
            "queue, overdue": QueueFilter(overdue=True),
        }
        print("\n| request | web p50 | web p95 | CLI (`queue list`) p50 | CLI p95 |")
        print("|---|---|---|---|---|")
        for name, path in pages.items():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            web50, web95 = timed(lambda p=path: client.get(p))
            row = f"| {name} | {web50:.0f} ms | {web95:.0f} ms |"
            if name in cli:

                def run_cli(f: QueueFilter = cli[name]) -> object:
                    with db.session() as s:
                        return list_items(s, config, f, NOW)

                c50, c95 = timed(run_cli, repeat=10)
                row += f" {c50:.0f} ms | {c95:.0f} ms |"
            else:
                row += " – | – |"
            print(row)
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
