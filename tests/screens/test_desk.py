"""相談窓口 screens. 花子 fled from 千代田区 to a shelter in 大阪市; 太郎 is the perpetrator. The
DV相談窓口 of 大阪市 registers her through the forms and follows the usage-stop procedures on the
protection's page; other departments of 大阪市 see only that she is to be watched; 千代田区 sees
nothing; a card window is not let in at all. Every read, allowed or refused, is audited."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.portal.conftest import PortalWorld, build_portal_world
from tests.portal.test_perpetrator import delete
from tests.screens.conftest import log_in_on_screen
from tests.web.conftest import TEST_SETTINGS, StaffLogin

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.staff.roles import StaffRole

Browser = Callable[[StaffLogin], tuple[TestClient, str]]
PAGE = re.compile(r"^/staff/protections/([0-9a-f-]{36})\?done=registered$")


@pytest.fixture
def world(engine: Engine) -> Iterator[PortalWorld]:
    # Every helper commits: on SQLite an open transaction would hold the lock the app needs.
    with Session(engine, expire_on_commit=False) as session:
        world = build_portal_world(session)
        world.network_key = TEST_SETTINGS.derive_key(NETWORK_KEY_PURPOSE)
        yield world


@pytest.fixture
def browser(screens: TestClient) -> Iterator[Browser]:
    """A browser of their own for each staff member, logged in through the login form."""
    opened: list[TestClient] = []

    def open_as(staff: StaffLogin) -> tuple[TestClient, str]:
        client = TestClient(screens.app, follow_redirects=False)
        opened.append(client)
        return client, log_in_on_screen(client, staff)

    yield open_as
    for client in opened:
        client.close()


@pytest.fixture
def desk(make_staff) -> StaffLogin:
    return make_staff(
        "osaka_desk",
        StaffRole.CONSULTATION_DESK,
        institution_code="271004",
        department="DV相談窓口",
    )


def audit_entries(engine: Engine, action: str) -> list[AuditEntry]:
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )


def details(entry: AuditEntry) -> dict:
    return json.loads(entry.details)


def main_of(html: str) -> str:
    """The page's own content: the header names the staff member's institution (大阪府大阪市)."""
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def registration(csrf: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "own_procedures": "on",
        "requested_by": "person",
        "region_codes": "271004",
    } | fields


def register(client: TestClient, csrf: str, **fields: str) -> str:
    """Register through the form; returns the protection's page."""
    response = client.post("/staff/protections/new", data=registration(csrf, **fields))
    assert response.status_code == 303, response.text
    match = PAGE.match(response.headers["location"])
    assert match, response.headers["location"]
    return f"/staff/protections/{match.group(1)}"


def test_case_two_walked_on_the_desk_screens_until_nothing_is_exposed(
    browser: Browser, desk: StaffLogin, world: PortalWorld
) -> None:
    victim, perpetrator = world.resident(), world.resident("太郎")
    world.appoint(victim, perpetrator)  # 花子's folder, with 太郎 as her proxy
    world.fled_to_osaka(victim, flagged=False)
    at_osaka = world.enrol(victim, world.osaka)
    numbers = (world.my_number(victim), world.my_number(perpetrator))
    world.session.commit()
    client, csrf = browser(desk)

    form = client.get("/staff/protections/new")
    assert form.status_code == 200
    for field in ("addressee_number", "card_left_behind", "perpetrator_is_proxy", "region_codes"):
        assert f'<label for="field-{field}">' in form.text
    response = client.post(
        "/staff/protections/new",
        data=registration(
            csrf,
            addressee_number=at_osaka,
            card_left_behind="on",
            perpetrator_is_proxy="on",
            perpetrator_my_number=numbers[1],
        ),
    )
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    path = page.url.path

    assert page.status_code == 200
    assert "保護対象者を登録しました" in page.text
    # Masked from registration: nothing is shown, both paths are still open, 大阪 is held back.
    assert '<p class="verdict held">保護地域が分かる項目は隠していますが、' in page.text
    assert "経路: 置いてきたカード" in page.text and "経路: 代理人設定（山田 太郎）" in page.text
    assert "隠している項目（" in page.text and "保護地域内の機関" in page.text
    assert "大阪府大阪市" in page.text and "山田 太郎" in page.text  # the desk sees it all
    assert "0120-95-0178" in page.text and '<span class="status-todo">未完了</span>' in page.text
    assert "停止するだけでは" in page.text  # the card step explains the proxy's own card
    assert not any(number in page.text for number in numbers)

    fragment = client.get(f"{path}/exposure", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="exposure"' in fragment.text and "verdict held" in fragment.text
    plain = client.get(f"{path}/exposure")  # without htmx: the whole page
    assert plain.status_code == 303 and plain.headers["location"] == f"{path}#exposure"

    world.suspend(victim)
    world.reissue(victim)
    delete(world, world.login(victim.card_token), victim.card_token)

    after = client.get(path)
    assert '<p class="verdict clear">加害者から見える情報はありません</p>' in after.text
    assert "経路:" not in after.text
    assert '<span class="status-done">完了</span>' in after.text
    listing = client.get("/staff/protections")
    assert "山田 花子" in listing.text and "除外を解除済み" in listing.text
    assert "除外の解除" in listing.text and "（新着）" in listing.text
    assert "（新着）" not in client.get("/staff/protections").text  # read once, then not new


def test_a_refused_registration_shows_why_next_to_the_field_and_changes_nothing(
    browser: Browser, desk: StaffLogin, world: PortalWorld, engine: Engine
) -> None:
    victim, perpetrator = world.resident(), world.resident("太郎")
    at_osaka = world.enrol(victim, world.osaka)
    perpetrator_number = world.my_number(perpetrator)
    world.session.commit()
    client, csrf = browser(desk)

    refused = client.post(
        "/staff/protections/new",
        data=registration(
            csrf,
            addressee_number=at_osaka,
            card_left_behind="on",
            perpetrator_my_number=perpetrator_number,
            region_codes="271004、27100 271005",
        ),
    )
    assert refused.status_code == 422
    assert 'id="error-region_codes"' in refused.text
    assert "27100: 6 桁のはずですが 5 桁です" in refused.text
    assert "271005: 検査用数字は 4 のはずです" in refused.text  # every bad code at once
    assert f'value="{at_osaka}"' in refused.text  # what was typed stays
    assert 'value="271004、27100 271005"' in refused.text
    assert perpetrator_number not in refused.text  # a 個人番号 is never shown again

    supporter = client.post(
        "/staff/protections/new",
        data=registration(
            csrf, addressee_number=at_osaka, requested_by="supporter", supporter_body="支援団体"
        ),
    )
    assert supporter.status_code == 422 and 'id="error-supporter_reason"' in supporter.text
    future = (date.today() + timedelta(days=2)).isoformat()
    flight = client.post(
        "/staff/protections/new",
        data=registration(csrf, addressee_number=at_osaka, fled_on=future),
    )
    assert flight.status_code == 422 and 'id="error-fled_on"' in flight.text
    unknown = client.post(
        "/staff/protections/new", data=registration(csrf, addressee_number="123456789012345")
    )
    assert unknown.status_code == 404 and 'id="error-addressee_number"' in unknown.text

    assert "登録した保護対象者はいません" in client.get("/staff/protections").text
    assert audit_entries(engine, "protection.registered") == []
    register(client, csrf, addressee_number=at_osaka)
    twice = client.post(
        "/staff/protections/new", data=registration(csrf, addressee_number=at_osaka)
    )
    assert twice.status_code == 409 and 'id="error-addressee_number"' in twice.text


def test_other_departments_see_only_the_flag_other_institutions_nothing_all_audited(
    browser: Browser, desk: StaffLogin, make_staff, world: PortalWorld, engine: Engine
) -> None:
    victim, perpetrator = world.resident(), world.resident("太郎")
    at_osaka = world.enrol(victim, world.osaka)
    perpetrator_number = world.my_number(perpetrator)
    world.session.commit()
    client, csrf = browser(desk)
    path = register(client, csrf, addressee_number=at_osaka, card_left_behind="on")
    secrets = ("山田", "大阪府", "271004")  # the person, the region
    concepts = ("ケース", "保護地域", "加害者から見える")  # not even what is recorded

    tax = make_staff(
        "osaka_tax", StaffRole.BUSINESS_DESK, institution_code="271004", department="税務課"
    )
    tax_client, _ = browser(tax)
    watch = tax_client.get(path)
    assert watch.status_code == 200 and "留意すべき対象者" in watch.text
    assert not any(secret in main_of(watch.text) for secret in secrets + concepts), watch.text
    assert tax_client.get("/staff/protections").status_code == 403  # not a consultation desk
    reads = audit_entries(engine, "protection.read")
    [read] = [entry for entry in reads if details(entry)["view"] != "full"]
    assert (details(read)["view"], read.actor) == ("watch_only", f"staff:{tax.staff_id}")
    assert "大阪" not in read.details  # no region in the log either

    welfare = make_staff(
        "osaka_welfare", StaffRole.CONSULTATION_DESK, institution_code="271004", department="福祉課"
    )
    welfare_client, welfare_csrf = browser(welfare)
    assert "留意すべき対象者" in welfare_client.get(path).text
    for refused in (
        welfare_client.get(f"{path}/edit"),
        welfare_client.get(f"{path}/exposure", headers={"HX-Request": "true"}),
        welfare_client.post(
            f"{path}/edit",
            data={
                "csrf_token": welfare_csrf,
                "region_codes": "131016",
                "perpetrator_my_number": perpetrator_number,
            },
        ),
    ):
        assert refused.status_code == 403, refused.text
        assert "登録した窓口の職員だけ" in refused.text
        assert not any(secret in main_of(refused.text) for secret in secrets)
    assert "登録した保護対象者はいません" in welfare_client.get("/staff/protections").text
    assert "東京都千代田区" not in client.get(path).text  # the correction attempt changed nothing

    outsider = make_staff("chiyoda_desk", StaffRole.CONSULTATION_DESK, department="DV相談窓口")
    outsider_client, _ = browser(outsider)
    stranger = outsider_client.get(path)
    assert stranger.status_code == 404 and "見つかりません" in stranger.text
    refusals = audit_entries(engine, "protection.read_refused")
    assert {details(entry)["reason"] for entry in refusals} == {
        "not_registering_desk",
        "not_found_at_institution",
    }

    window = make_staff("osaka_window", StaffRole.CARD_WINDOW, institution_code="271004")
    window_client, _ = browser(window)
    for denied in (window_client.get("/staff/protections"), window_client.get(path)):
        assert denied.status_code == 403 and "<h1>" in denied.text
    refused_paths = [entry.subject for entry in audit_entries(engine, "access.refused")]
    assert "/staff/protections" in refused_paths and path in refused_paths


def test_the_desk_corrects_the_case_records_the_request_and_consents(
    browser: Browser, desk: StaffLogin, world: PortalWorld, engine: Engine
) -> None:
    victim = world.resident()
    at_osaka = world.enrol(victim, world.osaka)
    world.session.commit()
    client, csrf = browser(desk)
    path = register(client, csrf, addressee_number=at_osaka)

    edit = client.get(f"{path}/edit")
    assert edit.status_code == 200 and 'value="271004"' in edit.text
    assert re.search(r'id="field-own_procedures"[^>]*checked', edit.text)
    future = (date.today() + timedelta(days=2)).isoformat()
    refused = client.post(
        f"{path}/edit",
        data={"csrf_token": csrf, "region_codes": "131016", "fled_on": future},
    )
    assert refused.status_code == 422 and 'id="error-fled_on"' in refused.text
    assert "東京都千代田区" not in main_of(client.get(path).text)
    changed = client.post(
        f"{path}/edit",
        data={"csrf_token": csrf, "region_codes": "271004 131016", "card_left_behind": "on"},
    )
    assert changed.status_code == 303
    page = client.get(changed.headers["location"])
    assert "事案の内容を訂正しました" in page.text and "東京都千代田区" in page.text
    assert "置いてきたカードの一時停止を連絡する" in page.text  # the guidance follows the facts

    anonymous_supporter = client.post(
        f"{path}/nondisclosure-request", data={"csrf_token": csrf, "requested_by": "supporter"}
    )
    assert anonymous_supporter.status_code == 422
    assert 'id="error-supporter_body"' in anonymous_supporter.text
    assert "不開示フラグ未設定" in anonymous_supporter.text
    requested = client.post(
        f"{path}/nondisclosure-request", data={"csrf_token": csrf, "requested_by": "person"}
    )
    assert requested.status_code == 303
    page = client.get(requested.headers["location"])
    assert "不開示フラグを設定しました" in page.text and "不開示フラグ設定済み" in page.text

    today = date.today().isoformat()
    consent = {"csrf_token": csrf, "category": "tax", "given_on": today, "channel": "window"}
    late = client.post(f"{path}/consents", data=consent | {"given_on": future})
    assert late.status_code == 422 and 'id="error-given_on"' in late.text
    assert "記録した同意はありません" in late.text
    recorded = client.post(f"{path}/consents", data=consent)
    assert recorded.status_code == 303
    page = client.get(recorded.headers["location"])
    assert "種別「税」のお知らせすべて" in page.text and "同意を記録しました" in page.text
    [entry] = audit_entries(engine, "protection.consent_recorded")
    withdraw = re.search(r'action="([^"]+/withdraw)"', page.text)
    assert withdraw
    assert client.post(withdraw.group(1), data={"csrf_token": csrf}).status_code == 303
    assert "取消し済み" in client.get(path).text
    assert details(entry)["channel"] == "window"
    forged = client.post(f"{path}/consents", data=consent | {"csrf_token": "forged"})
    assert forged.status_code == 403
    assert len(audit_entries(engine, "protection.consent_recorded")) == 1
