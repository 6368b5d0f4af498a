"""Routing, step by step, with a fake item lookup (the DB lookup is tested with filing)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mailbot.config_types import ProjectConfig
from mailbot.parse import parse_bytes
from mailbot.pipeline.route import ItemRef, route_to_project

pytestmark = pytest.mark.no_database

ACME = ProjectConfig(
    key="ACME",
    name="ACME web shop",
    client_domains=("acme.example",),
    client_addresses=("acme.boss@gmail.com", "shared@qq.com"),
    alias="team+acme@agency.example",
    keywords=("web shop", "网店"),
)
HUAXIN = ProjectConfig(
    key="HX",
    name="Huaxin ERP",
    client_domains=("huaxin.example",),
    client_addresses=("shared@qq.com",),
    keywords=("ERP", "报表"),
)
PROJECTS = (ACME, HUAXIN)


class FakeLookup:
    def __init__(
        self, by_id: dict[str, ItemRef] | None = None, by_ref: dict[str, ItemRef] | None = None
    ) -> None:
        self.by_id, self.by_ref = by_id or {}, by_ref or {}

    def item_for_message_ids(self, message_ids: Sequence[str]) -> ItemRef | None:
        return next((self.by_id[i] for i in message_ids if i in self.by_id), None)

    def item_for_ref(self, ref: str) -> ItemRef | None:
        return self.by_ref.get(ref)


def mail(
    sender: str,
    subject: str = "Hello",
    body: str = "Some text.",
    to: str = "team@agency.example",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <m@x>\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def route(raw: bytes, lookup: FakeLookup | None = None):  # type: ignore[no-untyped-def]
    return route_to_project(parse_bytes(raw), PROJECTS, lookup or FakeLookup())


def test_thread_wins_over_everything() -> None:
    item = ItemRef(7, "HX-3", "HX", "someone@acme.example")  # the item's own client
    r = route(
        mail("someone@acme.example", extra="In-Reply-To: <old@x>\r\nReferences: <old@x>\r\n"),
        FakeLookup(by_id={"old@x": item}),
    )
    assert (r.project, r.item, r.step) == ("HX", item, "thread")


def test_ref_tag_in_subject() -> None:
    item = ItemRef(9, "ACME-42", "ACME", "x@unknown.example")
    r = route(
        mail("x@unknown.example", subject="Re: still broken [ACME-42]"),
        FakeLookup(by_ref={"ACME-42": item}),
    )
    assert (r.step, r.item) == ("ref_tag", item)
    unknown = route(mail("x@unknown.example", subject="about [ACME-999]"))
    assert unknown.step == "unassigned"
    assert any("ACME-999 in the subject is not a known item" in w for w in unknown.explanation)


def test_a_copied_tag_or_message_id_never_lets_an_outsider_into_a_thread() -> None:
    item = ItemRef(9, "ACME-42", "ACME", "anna@acme.example")
    lookup = FakeLookup(by_id={"old@x": item}, by_ref={"ACME-42": item})
    thread = "In-Reply-To: <old@x>\r\nReferences: <old@x>\r\n"
    for outsider in (
        mail("eve@evil.example", subject="[ACME-42] still broken"),
        mail("eve@evil.example", extra=thread),
    ):
        r = route(outsider, lookup)
        assert (r.project, r.item, r.step) == (None, None, "outsider")
        assert any("not its client nor one of us" in line for line in r.explanation)
    # Another person of the client, and one of us, may write in the thread.
    assert route(mail("bob@acme.example", extra=thread), lookup).item == item
    ours = route_to_project(
        parse_bytes(mail("lena@agency.example", extra=thread)),
        PROJECTS,
        lookup,
        is_own=lambda address: address.endswith("@agency.example"),
    )
    assert ours.item == item


def test_alias_then_address_then_domain() -> None:
    assert route(mail("x@unknown.example", to="team+acme@agency.example")).step == "alias"
    by_address = route(mail("Boss <ACME.Boss@gmail.com>"))
    assert (by_address.project, by_address.step) == ("ACME", "address")
    by_domain = route(mail("li@mail.huaxin.example"))  # subdomains count
    assert (by_domain.project, by_domain.step) == ("HX", "domain")


def test_sender_in_two_projects_is_told_apart_by_keywords_or_left_for_triage() -> None:
    told = route(mail("shared@qq.com", subject="月度报表导出失败"))
    assert (told.project, told.step) == ("HX", "address")
    unclear = route(mail("shared@qq.com", subject="你好"))
    assert (unclear.project, unclear.step) == (None, "unassigned")
    assert "client of ACME, HX" in unclear.explanation[-1]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("网店首页打不开", "ACME"), ("The ERP export", "HX"), ("web shop and ERP", None)],
)
def test_keywords_for_unknown_senders(subject: str, expected: str | None) -> None:
    r = route(mail("stranger@elsewhere.example", subject=subject))
    assert r.project == expected
    assert r.step == ("keywords" if expected else "unassigned")


def test_every_step_is_explained() -> None:
    r = route(mail("stranger@elsewhere.example"))
    steps = [line.split(":")[0] for line in r.explanation]
    assert steps == ["thread", "ref_tag", "alias", "address", "domain", "keywords", "unassigned"]
