"""職員ログイン・ホーム: the login form, the role menus, logout, and the attacks on them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.screens.conftest import log_in_on_screen

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.staff.roles import StaffRole


def test_a_screen_without_login_sends_the_browser_to_the_login_form(screens: TestClient) -> None:
    response = screens.get("/staff")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=/staff"
    form = screens.get("/staff/login")
    assert form.status_code == 200
    assert '<label for="field-username">' in form.text
    assert 'autocomplete="one-time-code"' in form.text


def test_login_opens_the_home_page_of_each_role_held(screens: TestClient, make_staff) -> None:
    staff = make_staff("desk1", StaffRole.CONSULTATION_DESK, StaffRole.NOTICE_SENDER)
    log_in_on_screen(screens, staff)
    home = screens.get("/staff")
    assert "相談窓口" in home.text and "お知らせ送信担当" in home.text
    assert 'href="/staff/protections"' in home.text and 'href="/staff/notices"' in home.text
    assert 'href="/staff/cards"' not in home.text  # not a card window: no such menu
    assert "desk1 職員" in home.text


def test_a_wrong_code_is_refused_without_saying_which_part_was_wrong(
    screens: TestClient, make_staff
) -> None:
    staff = make_staff("desk2", StaffRole.CARD_WINDOW)
    response = screens.post(
        "/staff/login",
        data={"username": staff.username, "password": staff.password, "totp": "000000"},
    )
    assert response.status_code == 401
    assert 'role="alert"' in response.text and "ロック" in response.text
    assert staff.password not in response.text  # the password is never echoed back
    assert "fukaiji_session" not in response.headers.get("set-cookie", "")


def test_login_never_redirects_off_site(screens: TestClient, make_staff) -> None:
    staff = make_staff("desk3", StaffRole.CARD_WINDOW)
    response = screens.post(
        "/staff/login",
        data={
            "username": staff.username, "password": staff.password, "totp": staff.code(),
            "next": "//evil.example/phish",
        },
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"


def test_a_form_posted_from_elsewhere_is_refused_and_audited(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    staff = make_staff("desk4", StaffRole.CARD_WINDOW)
    log_in_on_screen(screens, staff)
    forged = screens.post("/staff/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert "<h1>" in forged.text  # a page, not JSON
    assert screens.get("/staff").status_code == 200  # still logged in
    with transaction(engine) as session:
        details = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "access.refused")
        ).all()
    assert any("csrf_token_missing" in str(entry) for entry in details)


def test_logout_ends_the_session(screens: TestClient, make_staff) -> None:
    staff = make_staff("desk5", StaffRole.ADMINISTRATOR)
    token = log_in_on_screen(screens, staff)
    response = screens.post("/staff/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert screens.get("/staff").status_code == 303


def test_an_api_key_opens_no_screen(screens: TestClient, make_staff, engine: Engine) -> None:
    from fukaiji.network.institutions import get_institution
    from fukaiji.staff import service as staff_service

    with transaction(engine) as session:
        _, key = staff_service.create_api_key(
            session, institution_id=get_institution(session, "131016").id, name="k",
            roles=list(StaffRole), actor="test",
        )  # fmt: skip
    response = screens.get("/staff", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 303


def test_pages_use_only_the_packaged_css_and_script(screens: TestClient) -> None:
    page = screens.get("/staff/login").text
    assert '<link rel="stylesheet" href="/static/fukaiji.css">' in page
    assert '<script src="/static/htmx.min.js" defer></script>' in page
    assert "http://" not in page and "https://" not in page  # no CDN
    css = screens.get("/static/fukaiji.css")
    assert css.status_code == 200 and "--color-primitive-blue-900" in css.text
    assert screens.get("/static/htmx.min.js").status_code == 200


def test_the_built_css_is_up_to_date_with_its_source() -> None:
    """frontend/build.mjs appends frontend/fukaiji.css to the tokens; an edit to the source
    without a rebuild would ship stale styles."""
    from pathlib import Path

    root = Path(__file__).parents[2]
    built = (root / "src/fukaiji/web/static/fukaiji.css").read_text(encoding="utf-8")
    source = (root / "frontend/fukaiji.css").read_text(encoding="utf-8")
    assert built.endswith(source)
    assert "@digital-go-jp/design-tokens 1.1.9" in built.splitlines()[0]
