"""Who may see and touch which item, checked on the server for every request.

An item of a project the person does not work on is "not found" (404), so a guessed URL
tells nothing; a viewer who may see an item but not change it gets 403.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from mailbot.accounts.users import Person
from mailbot.items.actions import lookup_item
from mailbot.storage.models import Item
from mailbot.web.context import Denied


def visible_projects(me: Person) -> tuple[str, ...] | None:
    """None: every project (an admin)."""
    return None if me.is_admin else me.projects


def item_for(db: Session, me: Person, ref: str, *, act: bool = False) -> Item:
    item = lookup_item(db, ref)
    if item is None or not me.sees(item.project_key):
        raise Denied(404)
    if act and not me.can_act:
        raise Denied(403)
    return item


def project_for(me: Person, key: str, *, act: bool = False) -> str:
    key = key.strip().upper()
    if not me.sees(key):
        raise Denied(404)
    if act and not me.can_act:
        raise Denied(403)
    return key
