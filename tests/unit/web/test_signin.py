"""Signing in and out: cookies, the sign-in form's CSRF, throttling, expiry, sign-out everywhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from starlette.testclient import TestClient

from mailbot.accounts.users import set_disabled, set_password
from tests.support.queue_bot import Bot
from tests.unit.web.conftest import PASSWORD, Clock, csrf_of, page_csrf, sign_in


def test_pages_need_a_signed_in_person(web: TestClient) -> None:
    response = web.get("/items/ACME-1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fitems%2FACME-1"
    assert web.get("/queue/rows", headers={"HX-Request": "true"}).status_code == 401


def test_the_session_cookie_is_secure_httponly_and_samesite(web: TestClient) -> None:
    form = web.get("/login")
    response = web.post(
        "/login", data={"name": "lena", "password": PASSWORD, "csrf": csrf_of(form.text)}
    )
    assert response.status_code == 303
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("mailbot_session=")
    )
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    assert web.get("/").status_code == 200


def test_sign_in_refuses_a_form_without_its_token(web: TestClient) -> None:
    web.get("/login")
    response = web.post("/login", data={"name": "lena", "password": PASSWORD, "csrf": "forged"})
    assert response.status_code == 403
    assert "mailbot_session" not in web.cookies


def test_wrong_passwords_are_throttled_per_name(web: TestClient, clock: Clock) -> None:
    for _ in range(5):
        form = web.get("/login")
        wrong = web.post(
            "/login", data={"name": "lena", "password": "nope", "csrf": csrf_of(form.text)}
        )
        assert wrong.status_code == 401
        assert "The name or the password is wrong." in wrong.text
    form = web.get("/login")
    right = web.post(
        "/login", data={"name": "lena", "password": PASSWORD, "csrf": csrf_of(form.text)}
    )
    assert right.status_code == 429  # even the right password waits
    assert "Wait 15 minutes" in right.text
    clock.now += timedelta(minutes=16)
    sign_in(web, "lena")
    assert web.get("/").status_code == 200


def test_an_unknown_name_and_a_wrong_password_read_the_same(web: TestClient) -> None:
    def attempt(name: str) -> str:
        form = web.get("/login")
        return web.post(
            "/login", data={"name": name, "password": "x", "csrf": csrf_of(form.text)}
        ).text

    assert "The name or the password is wrong." in attempt("nobody")
    assert "The name or the password is wrong." in attempt("lena")


def test_next_never_leaves_the_site(web: TestClient) -> None:
    form = web.get("/login?next=//evil.example/x")
    response = web.post(
        "/login",
        data={
            "name": "lena",
            "password": PASSWORD,
            "csrf": csrf_of(form.text),
            "next": "https://evil.example/",
        },
    )
    assert response.headers["location"] == "/"


def test_a_session_ends_when_idle_or_old(
    signed_in: Callable[[str], TestClient], clock: Clock
) -> None:
    client = signed_in("lena")
    clock.now += timedelta(minutes=119)
    assert client.get("/").status_code == 200  # seen: the idle clock starts again
    clock.now += timedelta(minutes=121)
    assert client.get("/").status_code == 303  # idle for more than two hours
    client = signed_in("lena")
    for _ in range(13):
        clock.now += timedelta(hours=1)
        client.get("/")
    assert client.get("/").status_code == 303  # twelve hours at most, however busy


def test_sign_out_everywhere(signed_in: Callable[[str], TestClient], people: Bot) -> None:
    laptop, phone = signed_in("lena"), signed_in("lena")
    other = signed_in("admin")
    response = laptop.post("/logout/everywhere", data={"csrf": page_csrf(laptop)})
    assert response.status_code == 303
    assert laptop.get("/").status_code == 303
    assert phone.get("/").status_code == 303
    assert other.get("/").status_code == 200


def test_sign_out_needs_the_csrf_token(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("lena")
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/").status_code == 200


def test_disabling_or_a_new_password_ends_sessions(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    lena, wei = signed_in("lena"), signed_in("wei")
    with people.session() as session:
        set_disabled(session, "lena", True, actor="admin")
        set_password(session, "wei", "another long password", actor="admin")
    assert lena.get("/").status_code == 303
    assert wei.get("/").status_code == 303
    form = lena.get("/login")
    refused = lena.post(
        "/login", data={"name": "lena", "password": PASSWORD, "csrf": csrf_of(form.text)}
    )
    assert refused.status_code == 401


def test_security_headers_on_every_page(web: TestClient) -> None:
    for response in (web.get("/login"), web.get("/static/app.css"), web.get("/")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_sign_in_page_says_its_language(web: TestClient) -> None:
    assert '<html lang="en">' in web.get("/login").text
    chinese = web.get("/login?lang=zh-Hans").text
    assert '<html lang="zh-Hans">' in chinese and "登录" in chinese
