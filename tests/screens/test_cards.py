"""交付窓口 screens: find a resident, issue / suspend / lift / reissue a card, change a 個人番号,
record a 法定代理人; and the attacks on them (another role, another municipality's resident, a
forged form, a one-time secret looked for again)."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from stdnum.jp import in_
from tests.screens.conftest import log_in_on_screen
from tests.web.test_residents_api import RESIDENT

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.jpki import service as jpki
from fukaiji.jpki.states import CardStatus
from fukaiji.portal.models import ProxyGrant
from fukaiji.registry import service as registry
from fukaiji.staff.roles import StaffRole

CARDS = "/staff/cards"
PINS = {"auth_pin": "4821", "sign_pin": "HIBARI48"}
CARD_TOKEN = re.compile(r'id="card-token">([^<]+)<')
NEW_NUMBER = re.compile(r'id="new-my-number">(\d{12})<')


def _window(screens: TestClient, make_staff, name: str = "window", code: str = "131016") -> str:
    return log_in_on_screen(screens, make_staff(name, StaffRole.CARD_WINDOW, institution_code=code))


def _resident(client: TestClient, token: str, code: str = "131016", **changes: str) -> dict:
    """A resident registered through the API by the logged-in window (its role may register)."""
    created = client.post(
        f"/api/v1/institutions/{code}/residents",
        json=RESIDENT | changes,
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.text
    return {"id": created.json()["resident"]["id"], "my_number": created.json()["my_number"]}


def _live_card(engine: Engine, person_id: str):
    with transaction(engine) as session:
        return jpki.find_card_for_person(session, uuid.UUID(person_id))


def _issue(screens: TestClient, token: str, person_id: str) -> str:
    issued = screens.post(f"{CARDS}/{person_id}/issue", data=PINS | {"csrf_token": token})
    assert issued.status_code == 200, issued.text
    return CARD_TOKEN.search(issued.text).group(1)


def test_the_window_finds_a_resident_and_issues_suspends_lifts_and_reissues(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _window(screens, make_staff)
    resident = _resident(screens, token)
    assert 'id="field-my_number"' in screens.get(CARDS).text

    found = screens.post(
        f"{CARDS}/lookup", data={"my_number": resident["my_number"], "csrf_token": token}
    )
    assert (found.status_code, found.headers["location"]) == (303, f"{CARDS}/{resident['id']}")
    page = screens.get(found.headers["location"])
    assert "山田 花子" in page.text and "有効なカードはありません" in page.text
    assert resident["my_number"] not in page.text  # the number is not shown on the page

    card_token = _issue(screens, token, resident["id"])
    with transaction(engine) as session:  # the token shown is the card: it signs
        jpki.card_signature(session, card_token=card_token, pin="4821", challenge=b"hello")
    page = screens.get(f"{CARDS}/{resident['id']}")
    assert card_token not in page.text
    assert "有効" in page.text and "利用者証明用" in page.text

    suspended = screens.post(
        f"{CARDS}/{resident['id']}/suspend", data={"channel": "phone", "csrf_token": token}
    )
    assert suspended.headers["location"] == f"{CARDS}/{resident['id']}?done=suspended"
    page = screens.get(suspended.headers["location"])
    assert "一時停止中" in page.text and 'role="status"' in page.text
    assert "電話 (フリーダイヤル)" in page.text
    assert _live_card(engine, resident["id"]).status == CardStatus.SUSPENDED

    lifted = screens.post(f"{CARDS}/{resident['id']}/lift-suspension", data={"csrf_token": token})
    assert lifted.status_code == 303
    assert _live_card(engine, resident["id"]).status == CardStatus.ACTIVE

    reissued = screens.post(f"{CARDS}/{resident['id']}/reissue", data=PINS | {"csrf_token": token})
    assert reissued.status_code == 200, reissued.text
    new_token = CARD_TOKEN.search(reissued.text).group(1)
    assert new_token != card_token and "以前のカードは廃止" in reissued.text
    later = screens.get(f"{CARDS}/{resident['id']}").text
    assert card_token not in later and new_token not in later
    with transaction(engine) as session:
        logged = " ".join(session.scalars(select(AuditEntry.details)).all())
    assert card_token not in logged and new_token not in logged
    assert PINS["sign_pin"] not in logged


def test_a_changed_number_is_shown_once_and_the_old_one_finds_no_one(
    screens: TestClient, make_staff
) -> None:
    token = _window(screens, make_staff)
    resident = _resident(screens, token)
    changed = screens.post(
        f"{CARDS}/{resident['id']}/my-number-change",
        data={"reason": "DV 加害者に番号を知られているため", "csrf_token": token},
    )
    assert changed.status_code == 200, changed.text
    new_number = NEW_NUMBER.search(changed.text).group(1)
    assert in_.is_valid(new_number) and new_number != resident["my_number"]
    assert new_number not in screens.get(f"{CARDS}/{resident['id']}").text

    old = screens.post(
        f"{CARDS}/lookup", data={"my_number": resident["my_number"], "csrf_token": token}
    )
    assert old.status_code == 422 and "廃止" in old.text
    assert resident["my_number"] not in old.text  # a 個人番号 is not echoed, not even refused
    new = screens.post(f"{CARDS}/lookup", data={"my_number": new_number, "csrf_token": token})
    assert new.headers["location"] == f"{CARDS}/{resident['id']}"


def test_a_legal_representative_is_recorded_and_ended(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _window(screens, make_staff)
    child = _resident(screens, token, given_name="一郎", birth_date="2015-05-05")
    parent = _resident(screens, token, given_name="太郎", family_name_kana="ヤマダ")
    recorded = screens.post(
        f"{CARDS}/{child['id']}/legal-representatives",
        data={
            "my_number": parent["my_number"],
            "representation": "parental_authority",
            "csrf_token": token,
        },
    )
    assert recorded.status_code == 303, recorded.text
    page = screens.get(recorded.headers["location"])
    assert "法定代理人を登録しました" in page.text
    assert "山田 太郎" in page.text and "親権者" in page.text
    assert parent["my_number"] not in page.text
    grant_id = re.search(r"/legal-representatives/(\d+)/end", page.text).group(1)
    end_page = f"{CARDS}/{child['id']}/legal-representatives/{grant_id}/end"

    # The confirmation page: what is ended, the grounds that fit a 親権者, and a check box.
    confirm = screens.get(end_page)
    assert confirm.status_code == 200
    assert "終了すると元に戻せません" in confirm.text and "山田 太郎" in confirm.text
    assert 'id="field-ground"' in confirm.text and 'id="field-reference"' in confirm.text
    assert 'id="field-confirm"' in confirm.text
    assert 'value="parental_authority_lost"' in confirm.text
    assert 'value="came_of_age"' in confirm.text
    assert 'value="guardianship_revoked"' not in confirm.text  # not a ground for a parent

    # Nothing chosen, nothing confirmed: every fault shown next to its field, nothing ended.
    refused = screens.post(end_page, data={"csrf_token": token, "reference": "第1号" * 30})
    assert refused.status_code == 422
    for field in ("ground", "reference", "confirm"):
        assert f'id="error-{field}"' in refused.text, field
    assert "終了の根拠が選ばれていません" in refused.text and "64 文字以内" in refused.text
    assert "山田 太郎 さんの法定代理を終了" in screens.get(f"{CARDS}/{child['id']}").text

    ended = screens.post(
        end_page,
        data={
            "csrf_token": token,
            "ground": "parental_authority_lost",
            "reference": "令和8年（家）第1234号",
            "confirm": "on",
        },
    )
    assert ended.status_code == 303, ended.text
    page = screens.get(ended.headers["location"])
    assert "終了の根拠を記録しました" in page.text
    assert "登録されている法定代理人はいません" in page.text
    assert screens.get(end_page).status_code == 404  # ended: nothing left to end
    with transaction(engine) as session:
        grant = session.get(ProxyGrant, int(grant_id))
        assert (grant.end_ground, grant.end_reference) == (
            "parental_authority_lost",
            "令和8年(家)第1234号",
        )


def test_a_ground_that_does_not_fit_the_representation_is_refused_on_the_window(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _window(screens, make_staff)
    adult = _resident(screens, token, given_name="花子")
    guardian = _resident(screens, token, given_name="太郎", family_name_kana="ヤマダ")
    screens.post(
        f"{CARDS}/{adult['id']}/legal-representatives",
        data={
            "my_number": guardian["my_number"],
            "representation": "adult_guardian",
            "csrf_token": token,
        },
    )
    page = screens.get(f"{CARDS}/{adult['id']}")
    grant_id = re.search(r"/legal-representatives/(\d+)/end", page.text).group(1)
    end_page = f"{CARDS}/{adult['id']}/legal-representatives/{grant_id}/end"

    came_of_age = screens.post(
        end_page, data={"csrf_token": token, "ground": "came_of_age", "confirm": "on"}
    )
    assert came_of_age.status_code == 422 and 'id="error-ground"' in came_of_age.text
    assert "成年後見人の法定代理を終了させる根拠ではありません" in came_of_age.text
    with transaction(engine) as session:
        assert session.get(ProxyGrant, int(grant_id)).is_live


def test_refused_input_is_shown_next_to_its_field_and_changes_nothing(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _window(screens, make_staff)
    resident = _resident(screens, token)
    person = resident["id"]

    bad_pins = screens.post(
        f"{CARDS}/{person}/issue",
        data={"auth_pin": "12", "sign_pin": "secret", "csrf_token": token},
    )
    assert bad_pins.status_code == 422
    assert 'id="error-auth_pin"' in bad_pins.text and 'aria-invalid="true"' in bad_pins.text
    assert 'value="12"' not in bad_pins.text and "secret" not in bad_pins.text
    assert _live_card(engine, person) is None

    bad_number = screens.post(
        f"{CARDS}/lookup", data={"my_number": "123456789012", "csrf_token": token}
    )
    assert bad_number.status_code == 422
    assert 'id="error-my_number"' in bad_number.text and "検査用数字" in bad_number.text

    no_reason = screens.post(
        f"{CARDS}/{person}/my-number-change", data={"reason": " ", "csrf_token": token}
    )
    assert no_reason.status_code == 422 and 'id="error-reason"' in no_reason.text
    with transaction(engine) as session:
        assert str(registry.current_my_number(session, uuid.UUID(person))) == resident["my_number"]

    _issue(screens, token, person)
    odd_channel = screens.post(
        f"{CARDS}/{person}/suspend", data={"channel": "carrier-pigeon", "csrf_token": token}
    )
    assert odd_channel.status_code == 422 and 'id="error-channel"' in odd_channel.text
    assert _live_card(engine, person).status == CardStatus.ACTIVE

    oneself = screens.post(
        f"{CARDS}/{person}/legal-representatives",
        data={
            "my_number": resident["my_number"],
            "representation": "adult_guardian",
            "csrf_token": token,
        },
    )
    assert oneself.status_code == 422 and 'id="error-my_number"' in oneself.text
    assert "登録されている法定代理人はいません" in oneself.text


def test_another_role_is_refused_every_card_screen(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _window(screens, make_staff)
    person = _resident(screens, token)["id"]
    desk = make_staff("business", StaffRole.BUSINESS_DESK, StaffRole.NOTICE_SENDER)
    with TestClient(screens.app, follow_redirects=False) as other:
        desk_token = log_in_on_screen(other, desk)
        assert other.get(CARDS).status_code == 403
        assert other.get(f"{CARDS}/{person}").status_code == 403
        refused = other.post(f"{CARDS}/{person}/issue", data=PINS | {"csrf_token": desk_token})
        assert refused.status_code == 403 and "交付窓口" in refused.text
        assert 'href="/staff/cards"' not in other.get("/staff").text
    assert _live_card(engine, person) is None
    with transaction(engine) as session:
        refusals = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "access.refused")
        ).all()
    assert sum("role_missing" in details for details in refusals) == 3


def test_a_resident_of_another_municipality_cannot_be_reached(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _window(screens, make_staff)
    resident = _resident(screens, token)
    person = resident["id"]
    _issue(screens, token, person)
    yokohama = make_staff("yokohama_window", StaffRole.CARD_WINDOW, institution_code="141003")
    with TestClient(screens.app, follow_redirects=False) as other:
        other_token = log_in_on_screen(other, yokohama)
        assert other.get(f"{CARDS}/{person}").status_code == 404
        for action, data in [
            ("suspend", {"channel": "window"}),
            ("reissue", PINS),
            ("my-number-change", {"reason": "なりすまし"}),
        ]:
            refused = other.post(
                f"{CARDS}/{person}/{action}", data=data | {"csrf_token": other_token}
            )
            assert refused.status_code == 404, action
            assert "該当する住民がいません" in refused.text
        lookup = other.post(
            f"{CARDS}/lookup", data={"my_number": resident["my_number"], "csrf_token": other_token}
        )
        assert lookup.status_code == 422 and "該当する住民がいません" in lookup.text
        assert "山田" not in lookup.text
        assert resident["my_number"] not in lookup.text
    card = _live_card(engine, person)
    assert card.status == CardStatus.ACTIVE
    with transaction(engine) as session:
        assert str(registry.current_my_number(session, uuid.UUID(person))) == resident["my_number"]


def test_a_forged_form_is_refused_and_changes_nothing(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _window(screens, make_staff)
    person = _resident(screens, token)["id"]
    for forged in ({"csrf_token": "forged"}, {}):
        refused = screens.post(f"{CARDS}/{person}/issue", data=PINS | forged)
        assert refused.status_code == 403 and "<h1>" in refused.text
        assert CARD_TOKEN.search(refused.text) is None
    assert _live_card(engine, person) is None


def test_another_municipality_cannot_tell_her_number_from_one_never_issued(
    screens: TestClient, make_staff
) -> None:
    """A card window elsewhere (the perpetrator's clerk) typing her number learns nothing: not
    that the number exists, nor that it was retired by a change of number."""
    token = _window(screens, make_staff)
    resident = _resident(screens, token)
    changed = screens.post(
        f"{CARDS}/{resident['id']}/my-number-change",
        data={"reason": "DV 加害者に番号を知られているため", "csrf_token": token},
    )
    assert changed.status_code == 200
    current = NEW_NUMBER.search(changed.text).group(1)
    screens.cookies.clear()
    other = _window(screens, make_staff, "osaka_window", "271004")

    def answer(number: str) -> str:
        page = screens.post(f"{CARDS}/lookup", data={"my_number": number, "csrf_token": other})
        assert page.status_code == 422
        return page.text.split('id="main"', 1)[-1]

    never_issued = answer("123456789018")
    assert answer(current) == never_issued
    assert answer(resident["my_number"]) == never_issued
