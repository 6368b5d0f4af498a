"""Where a project stands: milestones (config, then the PM's changes), the overall status
(derived, or the PM's word), items' target dates and what waits on the client."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import select

from mailbot.config_types import MilestoneConfig
from mailbot.items import progress
from mailbot.items.actions import ActionError
from mailbot.storage.models import Event, Item
from tests.support.queue_bot import Bot

TODAY = date(2026, 12, 1)
PLAN = (
    MilestoneConfig("Design sign-off", date(2026, 11, 13), "done"),
    MilestoneConfig("UAT", date(2026, 12, 4), "in_progress"),
    MilestoneConfig("Go-live", date(2026, 12, 18)),
)


@pytest.fixture
def planned(filed: Bot) -> Bot:
    acme = dataclasses.replace(filed.config.projects[0], milestones=PLAN)
    filed.config = dataclasses.replace(filed.config, projects=(acme, *filed.config.projects[1:]))
    return filed


def names_and_states(bot: Bot) -> list[tuple[str, str, str]]:
    with bot.db.session() as s:
        views = progress.milestones(s, bot.config.projects[0])
        return [(m.name, m.status, m.state(TODAY)) for m in views]


def test_milestones_start_from_the_config_and_the_pm_moves_them_on(planned: Bot) -> None:
    assert names_and_states(planned) == [
        ("Design sign-off", "done", "done"),
        ("UAT", "in_progress", "due_soon"),
        ("Go-live", "planned", "on_track"),
    ]
    with planned.db.session() as s:
        progress.set_milestone(
            s, planned.config, "ACME", "UAT", status="done", actor="lena", today=TODAY
        )
        progress.set_milestone(
            s, planned.config, "ACME", "Training", due=date(2026, 11, 30), actor="lena"
        )
        progress.set_milestone(
            s, planned.config, "ACME", "Go-live", due=date(2027, 1, 8), actor="lena"
        )
    assert names_and_states(planned) == [
        ("Design sign-off", "done", "done"),
        ("Training", "planned", "late"),  # the PM's own, past its date
        ("UAT", "done", "done"),
        ("Go-live", "planned", "on_track"),
    ]
    with planned.db.session() as s:
        views = {m.name: m for m in progress.milestones(s, planned.config.projects[0])}
        assert views["UAT"].done_on == TODAY and views["Go-live"].due == date(2027, 1, 8)
        progress.set_milestone(s, planned.config, "ACME", "Training", status="cancelled", actor="x")
        events = s.scalars(select(Event).where(Event.kind == "milestone")).all()
        assert [e.actor for e in events] == ["lena", "lena", "lena", "x"]
    assert "Training" not in [name for name, _s, _st in names_and_states(planned)]


def test_a_new_milestone_needs_a_date_and_a_known_status(planned: Bot) -> None:
    with planned.db.session() as s, pytest.raises(ActionError, match="no milestone 'Beta'"):
        progress.set_milestone(s, planned.config, "ACME", "Beta", actor="lena")
    with planned.db.session() as s, pytest.raises(ActionError, match="not a milestone status"):
        progress.set_milestone(s, planned.config, "ACME", "UAT", status="finished", actor="x")
    with planned.db.session() as s, pytest.raises(ActionError, match="no project 'NOPE'"):
        progress.set_milestone(s, planned.config, "NOPE", "UAT", actor="x")


def test_the_status_follows_the_facts_until_the_pm_says_otherwise(planned: Bot) -> None:
    project = planned.config.projects[0]
    with planned.db.session() as s:
        assert progress.standing(s, project, TODAY).status == "on_track"
        # An urgent issue: at risk.
        s.execute(select(Item).where(Item.ref == "ACME-1")).scalar_one().escalate = True
        found = progress.standing(s, project, TODAY)
        assert found.status == "at_risk" and ("urgent_issue", "ACME-1") in found.reasons
        # UAT passes its date undone: delayed.
        late = progress.standing(s, project, date(2026, 12, 7))
        assert late.status == "delayed" and ("milestone_late", "UAT") in late.reasons
        # The PM knows better, and says why; "auto" gives it back to the facts.
        progress.set_project_status(
            s, planned.config, "ACME", "on_track", note="UAT moved by the client", actor="lena"
        )
        said = progress.standing(s, project, date(2026, 12, 7))
        assert (said.status, said.by_pm, said.note) == ("on_track", True, "UAT moved by the client")
        assert ("milestone_late", "UAT") in said.reasons  # the facts are still there
        progress.set_project_status(s, planned.config, "ACME", "auto", actor="lena")
        assert progress.standing(s, project, date(2026, 12, 7)).status == "delayed"
        with pytest.raises(ActionError, match="not a project status"):
            progress.set_project_status(s, planned.config, "ACME", "fine", actor="lena")


def test_a_target_date_past_makes_the_project_at_risk(planned: Bot) -> None:
    project = planned.config.projects[0]
    with planned.db.session() as s:
        progress.set_target(s, "ACME-1", date(2026, 11, 30), actor="lena")
        found = progress.standing(s, project, TODAY)
        assert found.status == "at_risk" and ("past_target", "ACME-1") in found.reasons
        progress.set_target(s, "ACME-1", None, actor="lena")
        assert progress.standing(s, project, TODAY).status == "on_track"


def test_waiting_on_the_client_ends_when_the_client_writes_back(filed: Bot) -> None:
    with filed.db.session() as s:
        item = progress.set_waiting(
            s, "ACME-1", "the PayPal sandbox login", needed_by=date(2026, 12, 2), actor="lena"
        )
        assert item.waiting_since is not None and item.needed_by == date(2026, 12, 2)
        with pytest.raises(ActionError, match="say what the client is asked for"):
            progress.set_waiting(s, "ACME-2", "  ", actor="lena")
    with filed.db.session() as s:
        first = s.scalars(select(Item).where(Item.ref == "ACME-1")).one()
        message_id = first.ref  # the thread is found by the tag in the subject
    filed.deliver("Anna <anna@acme.example>", f"Re: [{message_id}] Checkout fails", "Login: demo")
    filed.run()
    with filed.db.session() as s:
        item = s.scalars(select(Item).where(Item.ref == "ACME-1")).one()
        assert item.waiting_since is None and item.waiting_note is None
        ended = s.scalars(select(Event).where(Event.kind == "waiting_ended")).one()
        assert ended.actor == "mailbot" and "the client answered" in ended.detail["why"]
