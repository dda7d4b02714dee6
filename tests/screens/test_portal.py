"""マイナポータル on screen: the simulated card reader, the views, proxies, settings, deletion —
and the perpetrator, who logs in with the victim's card or as her proxy and scrapes every page.

The world (residents with cards, records, 副本, お知らせ, proxies) is built through the services by
the portal tests' helpers; the resident drives the screens like a browser, forms and all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.portal.conftest import PortalWorld, Resident
from tests.protection.conftest import Desk
from tests.protection.conftest import desk as desk  # the fixture
from tests.screens.conftest import csrf_of, log_in_on_screen
from tests.web.conftest import TEST_SETTINGS
from tests.web.test_portal_api import world as world  # the fixture: on the app's network key

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.portal import deliver_to_inbox
from fukaiji.portal.public_ids import IdKind, public_id
from fukaiji.protection import requests
from fukaiji.protection.service import Requester, protected_region
from fukaiji.registry import moves
from fukaiji.registry import service as registry
from fukaiji.staff.roles import StaffRole

PORTAL_PAGES = (
    "/portal",
    "/portal/records",
    "/portal/self-info",
    "/portal/inbox",
    "/portal/history",
    "/portal/proxies",
    "/portal/settings",
    "/portal/moves",
    "/portal/delete",
)
INVITATION_CODE = re.compile(r'<p class="mono"><strong>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</strong>')


@pytest.fixture
def browser(screens: TestClient) -> Iterator[TestClient]:
    """A second browser on the same app (the proxy's, or the perpetrator's)."""
    with TestClient(screens.app, follow_redirects=False) as client:
        yield client


def card_login(client: TestClient, card_token: str, pin: str = "7395") -> str:
    """Put the card on the simulated reader, type the PIN; returns the CSRF token of the pages."""
    response = client.post("/portal/login", data={"card_token": card_token, "pin": pin})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal"
    home = client.get("/portal")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


def post(client: TestClient, path: str, token: str, **fields: str):
    return client.post(path, data={"csrf_token": token, **fields})


def audit_entries(engine: Engine, action: str) -> list[AuditEntry]:
    with transaction(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def tell(world: PortalWorld, resident: Resident, title: str) -> None:
    """An お知らせ from 千代田区 in the resident's folder."""
    assert deliver_to_inbox(
        world.session,
        person_id=resident.id,
        institution_id=world.chiyoda.id,
        title=title,
        body="令和8年度の住民税額が決定しました。\nマイナポータルでご確認ください。",
        category="tax",
        actor="test:sender",
    )
    world.session.commit()


# ---- login ----------------------------------------------------------------------------------


def test_login_through_the_simulated_card_reader(screens: TestClient, world) -> None:
    hanako = world.resident()
    anonymous = screens.get("/portal/records")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/portal/login?next=/portal/records"

    form = screens.get("/portal/login?next=/portal/records")
    assert "カードリーダーを模擬" in form.text
    assert '<label for="field-card_token">' in form.text and '<label for="field-pin">' in form.text
    assert 'name="next" value="/portal/records"' in form.text

    response = screens.post(
        "/portal/login",
        data={"card_token": hanako.card_token, "pin": world.auth_pin, "next": "/portal/records"},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal/records"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("fukaiji_portal=") and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    home = screens.get("/portal")
    assert "山田 花子 さん" in home.text and "（あなた）の利用者フォルダ" in home.text
    assert 'action="/portal/logout"' in home.text
    assert screens.get("/staff").status_code == 303  # a portal cookie opens no staff screen


def test_login_never_leaves_the_portal(screens: TestClient, world) -> None:
    hanako = world.resident()
    for target in ("/staff", "//evil.example/phish", "/portalx"):
        response = screens.post(
            "/portal/login",
            data={"card_token": hanako.card_token, "pin": world.auth_pin, "next": target},
        )
        assert response.headers["location"] == "/portal", target


def test_wrong_pins_are_refused_counted_and_never_echoed(
    screens: TestClient, world, engine: Engine
) -> None:
    hanako = world.resident()

    def attempt(pin: str, card_token: str = hanako.card_token):
        response = screens.post("/portal/login", data={"card_token": card_token, "pin": pin})
        assert pin not in response.text and card_token not in response.text
        assert "fukaiji_portal" not in response.headers.get("set-cookie", "")
        return response

    malformed = attempt("12a")  # refused before the chip: not counted
    assert malformed.status_code == 422
    assert 'id="error-pin"' in malformed.text and 'aria-invalid="true"' in malformed.text
    first = attempt("1111")
    assert first.status_code == 401 and 'role="alert"' in first.text
    assert "あと 2 回" in first.text
    assert "あと 1 回" in attempt("2222").text
    unknown = attempt("1111", card_token="not-a-card-token-at-all")
    assert unknown.status_code == 401 and "カードを読み取れないか、暗証番号" in unknown.text
    assert "ロックしました" in attempt("3333").text
    locked = attempt(world.auth_pin)  # the right PIN, too late
    assert locked.status_code == 401 and "ロックされています" in locked.text
    assert screens.get("/portal").status_code == 303
    reasons = [entry.details for entry in audit_entries(engine, "jpki.card.refused")]
    assert sum('"wrong_pin"' in reason for reason in reasons) == 3
    assert sum('"pin_locked"' in reason for reason in reasons) == 1


def test_logout_ends_the_session(screens: TestClient, world) -> None:
    token = card_login(screens, world.resident().card_token)
    response = post(screens, "/portal/logout", token)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/login?done=logged_out"
    assert 'fukaiji_portal=""' in response.headers["set-cookie"]
    assert "ログアウトしました" in screens.get(response.headers["location"]).text
    assert screens.get("/portal").status_code == 303


# ---- the sections ---------------------------------------------------------------------------


def test_each_section_shows_what_the_folder_view_returns(screens: TestClient, world) -> None:
    hanako = world.resident()
    world.fled_to_osaka(hanako)  # flagged at Osaka: only the Yokohama–Chiyoda history shows
    token = card_login(screens, hanako.card_token)
    tell(world, hanako, "住民税の決定通知")

    records = screens.get("/portal/records").text
    assert "<caption>情報提供等記録（このページの 1 件）</caption>" in records
    assert "神奈川県横浜市" in records and "東京都千代田区" in records
    self_info = screens.get("/portal/self-info").text
    assert "所得割額" in self_info and "123400" in self_info and "東京都千代田区" in self_info
    inbox = screens.get("/portal/inbox").text
    assert "住民税の決定通知" in inbox and "<p>マイナポータルでご確認ください。</p>" in inbox
    for page in (records, self_info, inbox):
        assert "大阪" not in page and "271004" not in page
    history = screens.get("/portal/history").text
    for label in ("ログイン", "やりとり履歴の表示", "自己情報の表示", "お知らせの表示"):
        assert label in history
    assert "<td>本人</td>" in history

    refused = post(screens, "/portal/settings", token, notification_email="hanako@")
    assert refused.status_code == 422
    assert 'id="error-notification_email"' in refused.text and 'value="hanako@"' in refused.text
    assert "最終更新" not in refused.text  # nothing was saved
    saved = post(screens, "/portal/settings", token, notification_email="hanako@example.jp")
    assert saved.status_code == 303
    page = screens.get(saved.headers["location"]).text
    assert "設定を保存しました" in page and 'value="hanako@example.jp"' in page


def test_a_proxy_is_invited_enters_the_folder_and_is_cancelled(
    screens: TestClient, browser: TestClient, world, engine: Engine
) -> None:
    hanako, taro = world.resident("花子"), world.resident("太郎")
    token = card_login(screens, hanako.card_token)
    issued = post(screens, "/portal/proxy-invitations", token)
    assert issued.status_code == 200 and "この画面でだけ" in issued.text
    code = INVITATION_CODE.search(issued.text).group(1)
    assert code not in screens.get("/portal/proxies").text  # shown once

    proxy_token = card_login(browser, taro.card_token)
    wrong = post(browser, "/portal/proxy-invitations/accept", proxy_token, code="ABCD-EFGH")
    assert wrong.status_code == 422
    assert 'id="error-code"' in wrong.text and "招待コード: 無効です" in wrong.text
    assert "あなたが代理人になっているフォルダはありません" in wrong.text  # nothing changed
    accepted = post(browser, "/portal/proxy-invitations/accept", proxy_token, code=code)
    assert accepted.status_code == 303
    folders = browser.get(accepted.headers["location"]).text
    assert "代理人になりました" in folders and '<th scope="row">山田 花子</th>' in folders
    account_id = re.search(r'name="account_id" value="([0-9a-f]{32})"', folders).group(1)

    entered = post(browser, "/portal/folder/switch", proxy_token, account_id=account_id)
    assert entered.status_code == 303 and entered.headers["location"] == "/portal"
    for path in ("/portal", "/portal/records", "/portal/inbox"):
        page = browser.get(path)
        assert page.status_code == 200
        assert "代理人として山田 花子さんのフォルダを表示中" in page.text
        assert 'href="/portal/history"' not in page.text  # not in a proxy's menu
    assert browser.get("/portal/history").status_code == 403  # the person's only
    assert browser.get("/portal/settings").status_code == 403

    home = screens.get("/portal").text
    assert "あなたのフォルダには代理人が設定されています" in home and "山田 太郎" in home
    assert "<td>代理人（山田 太郎）</td>" in screens.get("/portal/history").text
    grant_form = re.search(
        r'action="(/portal/proxies/[0-9a-f]{32}/cancel)"', screens.get("/portal/proxies").text
    )
    cancelled = post(screens, grant_form.group(1), token)
    assert cancelled.status_code == 303
    assert "代理人設定を解除しました" in screens.get(cancelled.headers["location"]).text
    assert "代理人が設定されています" not in screens.get("/portal").text

    assert browser.get("/portal/records").status_code == 303  # ended with the grant
    again = card_login(browser, taro.card_token)
    refused = post(browser, "/portal/folder/switch", again, account_id=account_id)
    assert refused.status_code == 403 and "<h1>" in refused.text
    assert audit_entries(engine, "portal.switch_refused")


# ---- 引越し手続 -------------------------------------------------------------------------------


def test_she_files_her_move_out_with_her_card_and_the_destination_completes_it(
    screens: TestClient, world, engine: Engine
) -> None:
    hanako = world.resident()
    token = card_login(screens, hanako.card_token)
    assert 'href="/portal/moves"' in screens.get("/portal").text
    form = screens.get("/portal/moves")
    assert form.status_code == 200 and '<label for="field-destination">' in form.text
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()

    ambiguous = post(screens, "/portal/moves", token, destination="府中市", planned_on="")
    assert ambiguous.status_code == 422 and 'id="error-planned_on"' in ambiguous.text
    ambiguous = post(
        screens, "/portal/moves", token, destination="府中市", planned_on=today.isoformat()
    )
    assert ambiguous.status_code == 422
    assert (
        "東京都府中市、広島県府中市" in ambiguous.text
        and 'id="error-destination"' in ambiguous.text
    )
    too_far = post(
        screens,
        "/portal/moves",
        token,
        destination="横浜市",
        planned_on=(today + timedelta(days=30)).isoformat(),
    )
    assert too_far.status_code == 422 and 'id="error-planned_on"' in too_far.text

    filed = post(
        screens, "/portal/moves", token, destination="横浜市", planned_on=today.isoformat()
    )
    assert (
        filed.status_code == 303
        and filed.headers["location"] == "/portal/moves?done=move_out_filed"
    )
    page = screens.get(filed.headers["location"]).text
    assert "転出届を受け付けました" in page and "転出届を受け付けています" in page
    assert f"{today.year}年{today.month}月{today.day}日" in page
    assert "横浜" not in page and "千代田" not in page  # neither where to nor where from
    assert "転出届の提出（引越し手続）" in screens.get("/portal/history").text

    moved = moves.complete_move_in(
        world.session,
        municipality_code="141003",
        my_number=registry.current_my_number(world.session, hanako.id),
        address_line="中区1番",
        moved_on=today,
        actor="test:yokohama",
    )
    world.session.commit()
    assert moved.current_residence.municipality_code == "141003"
    assert "転出届を受け付けています" not in screens.get("/portal/moves").text


def test_she_cancels_a_move_out_she_did_not_make(screens: TestClient, world) -> None:
    hanako = world.resident()
    token = card_login(screens, hanako.card_token)
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    post(screens, "/portal/moves", token, destination="141003", planned_on=today.isoformat())
    cancelled = post(screens, "/portal/moves/cancel", token)
    assert cancelled.status_code == 303
    assert "転出届を取り消しました" in screens.get(cancelled.headers["location"]).text
    assert moves.open_move_out(world.session, hanako.id) is None
    world.session.rollback()


def test_a_proxy_cannot_file_her_move_out(
    screens: TestClient, browser: TestClient, world, engine: Engine
) -> None:
    hanako, taro = world.resident("花子"), world.resident("太郎")
    grant = world.appoint(hanako, taro)
    token = card_login(browser, taro.card_token)
    post(
        browser,
        "/portal/folder/switch",
        token,
        account_id=public_id(IdKind.ACCOUNT, grant.account_id),
    )
    assert 'href="/portal/moves"' not in browser.get("/portal").text
    assert browser.get("/portal/moves").status_code == 403
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    refused = post(browser, "/portal/moves", token, destination="横浜市", planned_on=today)
    assert refused.status_code == 403 and "代理人はできません" in refused.text
    assert moves.open_move_out(world.session, hanako.id) is None
    world.session.rollback()  # on SQLite, an open transaction would hold the write lock
    entries = audit_entries(engine, "portal.access_refused")
    assert sum("own_folder_only" in entry.details for entry in entries) == 2


# ---- the perpetrator ------------------------------------------------------------------------


@pytest.mark.parametrize("way_in", ["victims_card", "as_proxy"])
def test_the_perpetrator_never_sees_the_protected_region_on_any_portal_screen(
    screens: TestClient,
    browser: TestClient,
    desk: Desk,
    way_in: str,
) -> None:
    """花子 fled from 千代田区 to 大阪市, leaving her card and PIN with 太郎, whom she had also
    made her proxy. Her procedures in Osaka are under 不開示: no portal page, whichever way 太郎
    comes in, may name the prefecture or municipality, or carry their codes."""
    world = desk.world
    world.network_key = TEST_SETTINGS.derive_key(NETWORK_KEY_PURPOSE)  # the app's key
    victim, perpetrator = world.resident("花子"), world.resident("太郎")
    grant = world.appoint(victim, perpetrator)  # her folder, and his way into it
    tell(world, victim, "住民税の決定通知")
    at_chiyoda = world.enrol(victim, world.chiyoda)
    world.register(world.chiyoda, at_chiyoda)
    world.query(world.yokohama, world.enrol(victim, world.yokohama), world.chiyoda)
    world.session.commit()
    protection = desk.register(victim, card_left_behind=True, proxy=True, perpetrator=perpetrator)
    requests.request_nondisclosure(
        world.session,
        institution=world.osaka,
        person_id=victim.id,
        requester=Requester.checked("person", None, None),
        network_key=world.network_key,
        actor=desk.desk.actor,
    )
    at_osaka = world.enrol(victim, world.osaka)
    world.query(world.osaka, at_osaka, world.chiyoda)
    world.query(world.chiyoda, at_chiyoda, world.osaka)
    world.register(world.osaka, at_osaka, 住所="大阪府大阪市北区梅田1-1")
    region = protected_region(protection)
    forbidden = {"大阪", "梅田", *region.names, *region.codes, *region.prefecture_codes}
    world.session.commit()

    if way_in == "victims_card":
        token = card_login(browser, victim.card_token)
    else:
        token = card_login(browser, perpetrator.card_token)
        entered = post(
            browser,
            "/portal/folder/switch",
            token,
            account_id=public_id(IdKind.ACCOUNT, grant.account_id),
        )
        assert entered.status_code == 303
    pages = {path: browser.get(path) for path in PORTAL_PAGES}
    pages["invitation"] = post(browser, "/portal/proxy-invitations", token)
    pages["login"] = browser.get("/portal/login")

    # He is in her folder, and the harmless history is there: the pages were really built.
    assert "神奈川県横浜市" in pages["/portal/records"].text
    assert "所得割額" in pages["/portal/self-info"].text
    assert "住民税の決定通知" in pages["/portal/inbox"].text
    for name, page in pages.items():
        for secret in forbidden:
            assert secret not in page.text, (way_in, name, secret)

    # The control: the same pages do name Osaka when nothing hides it (another resident).
    other = world.resident("次郎")
    world.fled_to_osaka(other, flagged=False)
    with TestClient(screens.app, follow_redirects=False) as third:
        card_login(third, other.card_token)
        assert "大阪府大阪市" in third.get("/portal/records").text


# ---- attacks on the frame -------------------------------------------------------------------


def test_a_staff_cookie_opens_no_portal_screen(screens: TestClient, make_staff) -> None:
    staff = make_staff("window1", StaffRole.CARD_WINDOW)
    staff_token = log_in_on_screen(screens, staff)
    for path in PORTAL_PAGES:
        response = screens.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/portal/login?next=")
    logout = post(screens, "/portal/logout", staff_token)
    assert logout.headers["location"] == "/portal/login?next=/portal"
    assert screens.get("/staff").status_code == 200  # and the staff session is untouched


def test_a_forged_csrf_field_is_refused_and_audited(
    screens: TestClient, world, engine: Engine
) -> None:
    card_login(screens, world.resident().card_token)
    forged = post(screens, "/portal/proxy-invitations", "forged")
    assert forged.status_code == 403 and "<h1>" in forged.text
    missing = screens.post("/portal/logout")
    assert missing.status_code == 403
    assert screens.get("/portal").status_code == 200  # still logged in
    assert "未使用の招待コード" not in screens.get("/portal/proxies").text  # nothing made
    refused = audit_entries(engine, "portal.access_refused")
    assert sum("csrf_token_missing" in entry.details for entry in refused) == 2
    assert any('"path":"/portal/logout"' in entry.details for entry in refused)


def test_deleting_needs_the_card_again_and_ends_every_proxy_grant(
    screens: TestClient, browser: TestClient, world
) -> None:
    hanako, taro = world.resident("花子"), world.resident("太郎")
    grant = world.appoint(hanako, taro)
    proxy_token = card_login(browser, taro.card_token)
    post(
        browser,
        "/portal/folder/switch",
        proxy_token,
        account_id=public_id(IdKind.ACCOUNT, grant.account_id),
    )
    assert "本人だけ" in browser.get("/portal/delete").text
    as_proxy = post(
        browser, "/portal/delete", proxy_token,
        card_token=taro.card_token, pin=world.auth_pin, confirm="on",
    )  # fmt: skip
    assert as_proxy.status_code == 403

    token = card_login(screens, hanako.card_token)
    warning = screens.get("/portal/delete").text
    assert "すべての代理人設定" in warning and "元に戻せません" in warning
    unconfirmed = post(
        screens, "/portal/delete", token, card_token=hanako.card_token, pin=world.auth_pin
    )
    assert unconfirmed.status_code == 422 and 'id="error-confirm"' in unconfirmed.text
    malformed = post(
        screens, "/portal/delete", token, card_token=hanako.card_token, pin="12", confirm="on"
    )
    assert malformed.status_code == 422 and 'id="error-pin"' in malformed.text
    with_proxys_card = post(
        screens, "/portal/delete", token,
        card_token=taro.card_token, pin=world.auth_pin, confirm="on",
    )  # fmt: skip
    assert with_proxys_card.status_code == 403
    assert "代理人のカードでは削除できません" in with_proxys_card.text
    wrong_pin = post(
        screens, "/portal/delete", token, card_token=hanako.card_token, pin="0000", confirm="on"
    )
    assert wrong_pin.status_code == 403 and "あと 2 回" in wrong_pin.text
    assert "0000" not in wrong_pin.text and hanako.card_token not in wrong_pin.text
    assert browser.get("/portal/records").status_code == 200  # nothing deleted yet

    deleted = post(
        screens, "/portal/delete", token,
        card_token=hanako.card_token, pin=world.auth_pin, confirm="on",
    )  # fmt: skip
    assert deleted.status_code == 200, deleted.text
    assert (
        "利用者フォルダを削除しました" in deleted.text
        and "終了した代理人設定: 1 件" in deleted.text
    )
    assert 'fukaiji_portal=""' in deleted.headers["set-cookie"]
    assert screens.get("/portal").status_code == 303
    ended = browser.get("/portal/records")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/portal/login")


def test_a_suspended_cards_session_ends_on_the_next_page_load(
    screens: TestClient, world, engine: Engine
) -> None:
    hanako = world.resident()
    card_login(screens, hanako.card_token)
    world.suspend(hanako)  # マイナンバー総合フリーダイヤル 0120-95-0178
    response = screens.get("/portal/records")
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/login?next=/portal/records"
    [ended] = audit_entries(engine, "portal.session_ended")
    assert '"card_unusable"' in ended.details
    again = screens.post("/portal/login", data={"card_token": hanako.card_token, "pin": "7395"})
    assert again.status_code == 401 and "このカードは使えません" in again.text
