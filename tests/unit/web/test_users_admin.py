"""The users page: admins add, change, disable, sign out and set passwords; nobody else may.

Every change records the admin's name; no password is ever shown or stored in the clear;
the last enabled admin cannot demote or disable themselves; a form without its CSRF
token changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from starlette.testclient import TestClient

from mailbot.accounts.passwords import password_matches
from mailbot.accounts.users import find_user, list_users
from mailbot.storage.models import Event, WebSession
from tests.support.queue_bot import Bot
from tests.unit.web.conftest import PASSWORD, page_csrf, sign_in

SignedIn = Callable[[str], TestClient]
NEW_PASSWORD = "another long passphrase"


def events(bot: Bot, kind: str) -> list[Event]:
    """The events of `kind` from the web (the fixture adds the people as "test")."""
    with bot.session() as s:
        query = select(Event).where(Event.kind == kind, Event.actor != "test")
        return list(s.scalars(query.order_by(Event.id)))


def people_of(bot: Bot) -> dict[str, tuple[str, tuple[str, ...], bool]]:
    with bot.session() as s:
        return {p.name: (p.role, p.projects, p.disabled) for p in list_users(s)}


def test_only_admins_see_the_users_page(signed_in: SignedIn) -> None:
    admin = signed_in("admin")
    page = admin.get("/users")
    assert page.status_code == 200
    assert all(f'data-user="{n}"' in page.text for n in ("admin", "lena", "wei"))
    assert 'value="TRIAGE"' in page.text and 'value="HX"' in page.text
    assert "$argon2" not in page.text
    assert 'href="/users"' in admin.get("/").text  # in the admin's menu
    lena = signed_in("lena")
    assert lena.get("/users").status_code == 403
    assert 'href="/users"' not in lena.get("/").text
    assert signed_in("wei").get("/users").status_code == 403


def test_an_admin_adds_a_user_who_can_then_sign_in(
    people: Bot, signed_in: SignedIn, web: TestClient
) -> None:
    admin = signed_in("admin")
    form = {
        "csrf": page_csrf(admin, "/users"),
        "name": "Mia",
        "display_name": "Mia Chen",
        "role": "pm",
        "projects": ["HX", "TRIAGE"],
        "language": "zh-Hans",
        "timezone": "Asia/Shanghai",
        "password": NEW_PASSWORD,
        "again": NEW_PASSWORD,
    }
    response = admin.post("/users/add", data=form)
    assert response.status_code == 303
    assert people_of(people)["mia"] == ("pm", ("HX", "TRIAGE"), False)
    with people.session() as s:
        user = find_user(s, "mia")
        assert (user.language, user.timezone) == ("zh-Hans", "Asia/Shanghai")
        assert NEW_PASSWORD not in user.password_hash
    [event] = events(people, "user_added")
    assert event.actor == "admin" and NEW_PASSWORD not in str(event.detail)
    page = admin.get(response.headers["location"]).text
    assert 'data-user="mia"' in page and NEW_PASSWORD not in page
    sign_in(web, "mia", NEW_PASSWORD)
    assert web.get("/spam").status_code == 200  # TRIAGE


def test_adding_is_refused_with_a_reason_and_keeps_nothing(
    people: Bot, signed_in: SignedIn
) -> None:
    admin = signed_in("admin")
    token = page_csrf(admin, "/users")
    base = {"csrf": token, "name": "mia", "role": "pm", "language": "en"}
    differ = admin.post("/users/add", data={**base, "password": NEW_PASSWORD, "again": "x"})
    assert differ.status_code == 400 and "differ" in differ.text
    short = admin.post("/users/add", data={**base, "password": "short", "again": "short"})
    assert short.status_code == 400 and "too short" in short.text
    nope = {**base, "projects": ["NOPE"], "password": NEW_PASSWORD, "again": NEW_PASSWORD}
    unknown = admin.post("/users/add", data=nope)
    assert unknown.status_code == 400 and "no project" in unknown.text
    assert "mia" not in people_of(people)
    assert events(people, "user_added") == []


def test_an_admin_changes_role_projects_language_and_time_zone(
    people: Bot, signed_in: SignedIn
) -> None:
    admin = signed_in("admin")
    form = {
        "csrf": page_csrf(admin, "/users"),
        "display_name": "Lena W.",
        "role": "viewer",
        "projects_shown": "1",
        "projects": ["ACME", "HX"],
        "language": "zh-Hans",
        "timezone": "Europe/Berlin",
    }
    assert admin.post("/users/lena/set", data=form).status_code == 303
    assert people_of(people)["lena"] == ("viewer", ("ACME", "HX"), False)
    with people.session() as s:
        user = find_user(s, "lena")
        assert (user.display_name, user.language, user.timezone) == (
            "Lena W.",
            "zh-Hans",
            "Europe/Berlin",
        )
    [event] = events(people, "user_changed")
    assert event.actor == "admin" and event.detail["role"] == "viewer"
    bad = admin.post("/users/lena/set", data={**form, "timezone": "Mars/Base"})
    assert bad.status_code == 400 and "unknown time zone" in bad.text
    assert admin.post("/users/nobody/set", data=form).status_code == 400
    # Every box unticked: no project left.
    cleared = {"csrf": form["csrf"], "projects_shown": "1", "role": "viewer"}
    assert admin.post("/users/lena/set", data=cleared).status_code == 303
    assert people_of(people)["lena"] == ("viewer", (), False)


def test_disable_enable_and_sign_out_everywhere(people: Bot, signed_in: SignedIn) -> None:
    lena = signed_in("lena")
    admin = signed_in("admin")
    token = page_csrf(admin, "/users")
    assert admin.post("/users/lena/disable", data={"csrf": token}).status_code == 303
    assert people_of(people)["lena"][2] is True
    assert lena.get("/").status_code == 303  # signed out at once
    [disabled] = events(people, "user_disabled")
    assert disabled.actor == "admin" and disabled.detail == {"user": "lena"}
    assert admin.post("/users/lena/enable", data={"csrf": token}).status_code == 303
    assert people_of(people)["lena"][2] is False
    assert events(people, "user_enabled")[0].actor == "admin"
    lena = signed_in("lena")
    assert lena.get("/").status_code == 200
    assert admin.post("/users/lena/logout", data={"csrf": token}).status_code == 303
    assert lena.get("/").status_code == 303
    [out] = events(people, "user_signed_out")
    assert out.actor == "admin" and out.detail == {"user": "lena", "sessions": 1}


def test_an_admin_sets_a_password_never_shown(
    people: Bot, signed_in: SignedIn, web: TestClient
) -> None:
    admin = signed_in("admin")
    form = {"csrf": page_csrf(admin, "/users"), "password": NEW_PASSWORD, "again": NEW_PASSWORD}
    response = admin.post("/users/wei/password", data=form)
    assert response.status_code == 303
    with people.session() as s:
        assert password_matches(find_user(s, "wei").password_hash, NEW_PASSWORD)
    [event] = events(people, "user_password_changed")
    assert event.actor == "admin" and NEW_PASSWORD not in str(event.detail)
    assert NEW_PASSWORD not in admin.get(response.headers["location"]).text
    sign_in(web, "wei", NEW_PASSWORD)


def test_the_last_admin_can_neither_step_down_nor_disable_themselves(
    people: Bot, signed_in: SignedIn
) -> None:
    admin = signed_in("admin")
    token = page_csrf(admin, "/users")
    form = {"csrf": token, "role": "pm", "projects": ["ACME"], "language": "en"}
    demote = admin.post("/users/admin/set", data=form)
    assert demote.status_code == 400 and "last enabled admin" in demote.text
    disable = admin.post("/users/admin/disable", data={"csrf": token})
    assert disable.status_code == 400 and "last enabled admin" in disable.text
    assert people_of(people)["admin"] == ("admin", (), False)
    assert events(people, "user_changed") == [] and events(people, "user_disabled") == []
    # With a second admin, stepping down works and leads out of the admin pages.
    promote = {"csrf": token, "role": "admin", "language": "en"}
    assert admin.post("/users/lena/set", data=promote).status_code == 303
    with people.session() as s:  # what the form did not carry stays as it was
        lena = find_user(s, "lena")
        assert (lena.role, lena.display_name) == ("admin", "Lena Wu")
    assert people_of(people)["lena"][1] == ("ACME",)
    response = admin.post("/users/admin/set", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert admin.get("/users").status_code == 403


def test_non_admins_and_forms_without_a_token_change_nothing(
    people: Bot, signed_in: SignedIn
) -> None:
    before = people_of(people)
    lena = signed_in("lena")
    token = page_csrf(lena)
    for path, form in (
        ("/users/add", {"name": "eve", "role": "admin", "password": PASSWORD, "again": PASSWORD}),
        ("/users/lena/set", {"role": "admin"}),
        ("/users/wei/disable", {}),
        ("/users/wei/logout", {}),
        ("/users/wei/password", {"password": PASSWORD + "x", "again": PASSWORD + "x"}),
    ):
        assert lena.post(path, data={**form, "csrf": token}).status_code == 403, path
        assert signed_in("admin").post(path, data=form).status_code == 403, path  # no token
    assert people_of(people) == before
    with people.session() as s:
        kinds = {e.kind for e in s.scalars(select(Event).where(Event.actor != "test"))}
        assert not kinds & {"user_added", "user_changed", "user_disabled", "user_signed_out"}
        assert not kinds & {"user_password_changed"}
        assert s.scalars(select(WebSession)).all()  # nobody was signed out
