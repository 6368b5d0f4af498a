"""The web workspace in English and Simplified Chinese, and times in each person's time zone.

The catalog checks read the strings the way `pybabel extract -F babel.cfg` does, so a string
added to a template or a page without its translation fails here, named with where it is.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from starlette.testclient import TestClient

from mailbot.accounts.users import ROLES, change_user
from mailbot.items.lifecycle import LIFECYCLES
from mailbot.items.sla import MERGED_STATUS
from mailbot.storage.models import Item, OutboxState
from mailbot.trust import sender, spam
from mailbot.web import i18n
from mailbot.web.app import create_app
from mailbot.web.pages import PAGES
from tests.support.queue_bot import Bot
from tests.unit.web.conftest import Clock, csrf_of

REPO = Path(__file__).resolve().parents[3]
PO = REPO / "mailbot" / "web" / "locale" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
PO_NAME = PO.relative_to(REPO).as_posix()
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")


def _extracted() -> dict[str, list[str]]:
    """msgid -> where it is used ("path:line"), as pybabel extract -F babel.cfg finds them."""
    with (REPO / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    # Walk only the top folders the patterns name (mailbot/), not tests or the corpus.
    tops = {REPO / pattern.split("/")[0] for pattern, _method in method_map}

    def wanted(path: str) -> bool:
        here = Path(path)
        return not here.name.startswith((".", "_")) and any(
            here == top or top in here.parents for top in tops
        )

    found: dict[str, list[str]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        REPO, method_map, options_map, directory_filter=wanted
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, []).append(f"{filename}:{line}")
    # The top menu's labels are plain strings in each page module's NAV, translated by ctx.menu().
    for module in PAGES:
        for _path, label, _admin in getattr(module, "NAV", []):
            found.setdefault(label, []).append(f"{module.__name__} NAV")
    return found


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """NAME = "text" (and A, B = "x", "y") at module level: the kind constants."""
    names: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = (
                zip(target.elts, node.value.elts, strict=False)
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                else [(target, node.value)]
            )
            for name, value in pairs:
                if (
                    isinstance(name, ast.Name)
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    names[name.id] = value.value
    return names


def _event_kinds() -> dict[str, str]:
    """Every kind of audit event mailbot writes (Event(kind=...), accounts' _audit) -> where."""
    kinds: dict[str, str] = {}
    for path in sorted((REPO / "mailbot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_strings(tree)
        where = path.relative_to(REPO).as_posix()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            values: list[ast.expr] = []
            if node.func.id == "Event":
                values = [k.value for k in node.keywords if k.arg == "kind"]
            elif node.func.id == "_audit" and len(node.args) > 1:
                values = [node.args[1]]
            for value in values:
                for part in ast.walk(value):  # kind="a" if ... else "b" too
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        kinds.setdefault(part.value, f"{where}:{node.lineno}")
                    elif isinstance(part, ast.Name) and part.id in constants:
                        kinds.setdefault(constants[part.id], f"{where}:{node.lineno}")
    return kinds


def _codes() -> dict[str, str]:
    """Codes the pages show through _(variable), which extraction cannot see -> their origin."""
    from mailbot.items.actions import STATUS_KIND
    from mailbot.items.change_control import APPROVAL_KIND
    from mailbot.outgoing.notice import PM_KINDS
    from mailbot.pipeline.answer import ACK_KIND
    from mailbot.pipeline.hooks.change_control import DECISION_KIND
    from mailbot.pipeline.stages import STAGE_BY_NAME
    from mailbot.reports import digest, summary
    from mailbot.web.pages.queue import QUICK_FILTERS, SORTS

    codes: dict[str, str] = {}

    def add(origin: str, *names: str) -> None:
        for name in names:
            codes.setdefault(name, origin)

    add("categories (mailbot/items/lifecycle.py)", *LIFECYCLES, "none")
    statuses = [s for states in LIFECYCLES.values() for s in states]
    add("statuses (mailbot/items/lifecycle.py)", *statuses, MERGED_STATUS)
    add("SLA states (mailbot/items/sla.py: sla_state)", "sla: met", "sla: due", "sla: breached")
    add("SLA states (mailbot/items/sla.py: sla_state)", "sla: closed", "sla: none")
    add("sort orders (mailbot/web/pages/queue.py: SORTS)", *(f"sort: {s}" for s in SORTS))
    add("quick filters (mailbot/web/pages/queue.py)", *QUICK_FILTERS)
    add("roles (mailbot/accounts/users.py)", *ROLES)
    add("outbox states (mailbot/storage/models.py)", *OutboxState.ALL)
    kinds = (ACK_KIND, STATUS_KIND, APPROVAL_KIND, DECISION_KIND, digest.KIND, summary.KIND)
    add("outbox kinds", *kinds, *sorted(PM_KINDS))
    add("sender statuses (mailbot/trust/sender.py)", *sender.STATUSES)
    add("spam statuses (mailbot/trust/spam.py)", *spam.STATUSES)
    # Who called a mail spam; spamd and rspamd are programs' names, shown as they are.
    add("spam sources (mailbot/trust/spam.py)", *(s for s in spam.SOURCES if "spamd" not in s))
    add("stages a mail fails in (mailbot/pipeline/stages.py)", *STAGE_BY_NAME)
    add("impact (mailbot/items/change_control.py)", "effort", "schedule", "cost", "notes")
    for kind, where in _event_kinds().items():
        add(f"event kind ({where})", kind)
    return codes


def _po_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _missing_message(missing: dict[str, str]) -> str:
    stubs = "\n".join(
        f'# {where}\nmsgid {_po_string(text)}\nmsgstr ""\n' for text, where in missing.items()
    )
    return (
        f"{len(missing)} string(s) shown on the web pages have no Simplified Chinese "
        f"translation. Append each, with its translation, to {PO_NAME} under a comment line "
        f"naming your page module (see the glossary at the top of that file):\n\n{stubs}"
    )


def test_every_string_of_the_pages_has_a_chinese_translation() -> None:
    table = i18n.translations("zh-Hans")
    found = _extracted()
    # The extraction itself works: templates, _() with values, ctx._() in Python, menu labels.
    assert {"Queue", "%(n)s items", "The current password is wrong."} <= set(found)
    assert any(place.endswith(" NAV") for places in found.values() for place in places)
    missing = {
        text: ", ".join(places) for text, places in found.items() if not table.get(text, "").strip()
    }
    assert not missing, _missing_message(missing)


def test_every_code_shown_on_the_pages_has_a_chinese_translation() -> None:
    table = i18n.translations("zh-Hans")
    codes = _codes()
    assert {"in_progress", "change_request", "merged_from", "sla: breached"} <= set(codes)
    missing = {code: origin for code, origin in codes.items() if not table.get(code, "").strip()}
    assert not missing, _missing_message(missing)


def test_translations_keep_the_placeholders_of_their_english() -> None:
    wrong = []
    for msgid, msgstr in i18n.translations("zh-Hans").items():
        wanted = Counter(PLACEHOLDER.findall(msgid))
        if Counter(PLACEHOLDER.findall(msgstr)) != wanted:
            wrong.append(f"{msgid!r} -> {msgstr!r}")
        elif wanted:
            try:
                msgstr % dict.fromkeys(wanted, 1)
            except (KeyError, ValueError, TypeError) as err:
                wrong.append(f"{msgid!r} -> {msgstr!r} ({err!r}; write a lone % as %%)")
    assert not wrong, f"{PO_NAME}: keep each %(name)s of the msgid:\n" + "\n".join(wrong)


def _msgids(text: str) -> Iterator[tuple[int, str]]:
    """(line, msgid) of every entry of a .po file, continuation lines joined."""
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.startswith("msgid "):
            continue
        parts = [line[len("msgid ") :]]
        for following in lines[number:]:
            if not following.startswith('"'):
                break
            parts.append(following)
        yield number, "".join(ast.literal_eval(part) for part in parts)


def test_no_msgid_is_in_the_catalog_twice() -> None:
    seen: dict[str, int] = {}
    twice = []
    for line, msgid in _msgids(PO.read_text(encoding="utf-8")):
        if msgid in seen:
            twice.append(f"{msgid!r} at lines {seen[msgid]} and {line}")
        seen.setdefault(msgid, line)
    assert len(seen) > 100
    assert not twice, f"{PO_NAME}: keep one entry of each, delete the other:\n" + "\n".join(twice)


def test_a_translation_that_does_not_fit_its_values_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(i18n, "_table", lambda language: {"%(n)s items": "共 %(m)s 个事项"})
    _ = i18n.gettext_for("zh-Hans")
    assert _("%(n)s items", n=3) == "3 items"
    assert _("Queue") == "Queue"  # not in the catalog: English


def test_pages_are_in_the_persons_language(signed_in: Callable[[str], TestClient]) -> None:
    wei = signed_in("wei").get("/").text
    assert "<h1>队列</h1>" in wei and "<td>问题</td>" in wei  # HX-1, an issue
    assert all(f">{word}</option>" in wei for word in ("问题", "变更请求", "反馈"))
    assert "Queue" not in wei and ">issue<" not in wei
    lena = signed_in("lena").get("/").text
    assert (
        "<h1>Queue</h1>" in lena and "<td>issue</td>" in lena and "<td>change_request</td>" in lena
    )
    assert "队列" not in lena and "问题" not in lena
    item = signed_in("wei").get("/items/HX-1").text
    assert "邮件往来" in item and "历史记录" in item and ">已确认</span>" in item  # acknowledged


def test_the_sign_in_page_follows_lang_and_otherwise_the_config(
    web: TestClient, people: Bot, clock: Clock
) -> None:
    assert "<h1>" in web.get("/login").text and ">Sign in</button>" in web.get("/login").text
    chinese = web.get("/login?lang=zh-Hans").text
    assert ">登录</button>" in chinese and "用户名" in chinese and "Password" not in chinese
    refused = web.post(
        "/login?lang=zh-Hans", data={"name": "lena", "password": "wrong", "csrf": csrf_of(chinese)}
    )
    assert refused.status_code == 401 and "用户名或密码不正确。" in refused.text

    config = replace(people.config, web=replace(people.config.web, language="zh-Hans"))
    app = create_app(config, people.db, clock=clock)
    with TestClient(app, base_url="https://testserver") as client:
        assert ">登录</button>" in client.get("/login").text
        assert ">登录</button>" in client.get("/login?lang=fr").text  # unknown: the config's
        assert ">Sign in</button>" in client.get("/login?lang=en").text


def test_times_are_in_the_persons_time_zone_and_language(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    with people.session() as session:
        change_user(session, people.config, "wei", actor="admin", timezone="Asia/Shanghai")
        change_user(session, people.config, "lena", actor="admin", timezone="America/New_York")
        hx = session.query(Item).filter_by(ref="HX-1").one().created_at
        acme = session.query(Item).filter_by(ref="ACME-1").one().created_at

    shanghai = hx.astimezone(ZoneInfo("Asia/Shanghai"))
    page = signed_in("wei").get("/items/HX-1").text
    expected = f"{shanghai.year}年{shanghai.month}月{shanghai.day}日 {shanghai:%H:%M}"
    assert f"<dt>创建时间</dt><dd>{expected}</dd>" in page
    utc = f"{hx.year}年{hx.month}月{hx.day}日 {hx:%H:%M}"
    assert utc not in page  # Shanghai is 8 hours ahead: not the stored UTC time
    assert f'title="{expected}"' in signed_in("wei").get("/").text  # the queue's age column

    york = acme.astimezone(ZoneInfo("America/New_York"))
    hour = york.hour % 12 or 12
    english = rf"{york:%b} {york.day}, {york.year}, {hour}:{york:%M}\s{york:%p}"
    assert re.search(
        rf"<dt>Created</dt><dd>{english}</dd>", signed_in("lena").get("/items/ACME-1").text
    )
