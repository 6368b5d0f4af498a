"""How a mail to a client is signed: by the PM and the team, or by the team once."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import select

from mailbot.config_types import ProjectConfig, SiteConfig
from mailbot.outgoing.send import Audience, shared_context
from mailbot.outgoing.templates import TemplateLibrary
from mailbot.storage.models import Item, OutboxMail
from tests.support.queue_bot import Bot
from tests.support.queue_fixtures import bot, filed, filed_once  # noqa: F401

TEAM = "Northwind Digital project team"
NAMELESS = ProjectConfig(key="ACME", name="ACME web shop", client_domains=("acme.example",))


def test_without_a_pm_the_team_signs_once(bot: Bot) -> None:  # noqa: F811
    site = SiteConfig(name=TEAM, address="team@agency.example")
    config = dataclasses.replace(bot.config, site=site)
    item = Item(ref="ACME-7", project_key="ACME", status="new", title="T", client_name="Anna")
    values = shared_context(config, item=item, project=NAMELESS, audience=Audience.CLIENT)
    assert (values["pm_name"], values["team_signature"]) == (TEAM, "")
    # A signature line of its own still follows the team's name; a PM still signs above it.
    signed = dataclasses.replace(site, signatures=(("en", "The ACME team at Northwind"),))
    config = dataclasses.replace(bot.config, site=signed)
    values = shared_context(config, item=item, project=NAMELESS, audience=Audience.CLIENT)
    assert (values["pm_name"], values["team_signature"]) == (TEAM, "The ACME team at Northwind")
    with_pm = dataclasses.replace(NAMELESS, pm_name="Lena Wu")
    values = shared_context(config, item=item, project=with_pm, audience=Audience.CLIENT)
    assert (values["pm_name"], values["team_signature"]) == (
        "Lena Wu",
        "The ACME team at Northwind",
    )


def test_an_empty_last_line_is_left_out_of_text_and_html() -> None:
    library = TemplateLibrary()
    values = {
        "ref": "ACME-7",
        "project": {"name": "ACME web shop", "key": "ACME"},
        "client_name": "Anna",
        "subject": "Checkout fails",
        "status": "closed",
        "pm_name": TEAM,
        "team_signature": "",
    }
    rendered = library.render("status", "closed", "en", values)
    assert rendered.text.endswith(f"\n{TEAM}\n"), rendered.text[-80:]
    assert rendered.text.count(TEAM) == 1
    assert rendered.html is not None and f"{TEAM}</p>" in rendered.html
    assert "<br></p>" not in rendered.html


def ack_for(filed: Bot, ref: str) -> EmailMessage:  # noqa: F811
    """The acknowledgement queued for `ref`."""
    with filed.session() as s:
        raws = [o.raw for o in s.scalars(select(OutboxMail)) if ref.encode() in o.raw]
    assert len(raws) == 1, raws
    mail = message_from_bytes(raws[0], policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def plain_text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n").rstrip()


def test_an_acknowledgement_for_a_project_without_a_pm_name(filed: Bot) -> None:  # noqa: F811
    # HX has a PM address but no pm_name: the team "Agency" signs, once.
    mail = ack_for(filed, "HX-1")
    for kind in ("plain", "html"):
        part = mail.get_body((kind,))
        assert part is not None
        body = part.get_content()
        assert body.count("Agency") == 1, body[-200:]
    assert plain_text(mail).endswith("顺祝商祺！\nAgency")
    # ACME has Lena Wu: she signs, the team's name below her.
    assert plain_text(ack_for(filed, "ACME-1")).endswith("Kind regards,\nLena Wu\nAgency")
