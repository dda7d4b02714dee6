"""住民基本台帳 through the API: only the municipality where a person lives can reach them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from stdnum.jp import in_
from tests.web.conftest import StaffLogin, login

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.staff.roles import StaffRole

TODAY = datetime.now(ZoneInfo("Asia/Tokyo")).date()
RESIDENT = {
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
    "birth_date": "1990-04-01",
    "address_line": "千代田一丁目1番1号",
    "moved_in_on": "2020-04-01",
}


def _desk(client: TestClient, staff: StaffLogin) -> dict[str, str]:
    return {"X-CSRF-Token": login(client, staff)}


def _register(client: TestClient, headers: dict[str, str], code: str = "131016") -> dict:
    response = client.post(f"/api/v1/institutions/{code}/residents", json=RESIDENT, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_the_business_desk_registers_a_resident_and_tells_them_their_number(
    app_client: TestClient, make_staff, engine: Engine
) -> None:
    headers = _desk(app_client, make_staff("desk", StaffRole.BUSINESS_DESK))
    created = _register(app_client, headers)
    assert in_.is_valid(created["my_number"])
    assert created["resident"]["residences"][0]["municipality_code"] == "131016"
    with transaction(engine) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "registry.registered" in actions
    shown = app_client.get(f"/api/v1/institutions/131016/residents/{created['resident']['id']}")
    assert shown.status_code == 200
    assert "my_number" not in shown.json()


def test_a_consultation_desk_cannot_register(app_client: TestClient, make_staff) -> None:
    headers = _desk(app_client, make_staff("soudan", StaffRole.CONSULTATION_DESK))
    refused = app_client.post(
        "/api/v1/institutions/131016/residents", json=RESIDENT, headers=headers
    )
    assert refused.status_code == 403


def test_a_resident_is_reachable_only_where_they_live_and_moves_take_them_along(
    app_client: TestClient, make_staff
) -> None:
    chiyoda = _desk(app_client, make_staff("chiyoda", StaffRole.BUSINESS_DESK))
    created = _register(app_client, chiyoda)
    person = created["resident"]["id"]
    recorded = app_client.post(
        f"/api/v1/institutions/131016/residents/{person}/move-out",
        json={"destination_code": "141003", "planned_on": TODAY.isoformat()},
        headers=chiyoda,
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["destination_name"] == "神奈川県横浜市"
    shown = app_client.get(f"/api/v1/institutions/131016/residents/{person}").json()
    assert shown["move_out"]["destination_code"] == "141003"
    yokohama_staff: StaffLogin = make_staff(
        "yokohama", StaffRole.BUSINESS_DESK, institution_code="141003"
    )
    with TestClient(app_client.app) as yokohama:
        headers = _desk(yokohama, yokohama_staff)
        assert yokohama.get(f"/api/v1/institutions/141003/residents/{person}").status_code == 404
        moved = yokohama.post(
            "/api/v1/institutions/141003/residents/move-in",
            json={
                "my_number": created["my_number"],
                "address_line": "中区1番",
                "moved_on": TODAY.isoformat(),
            },
            headers=headers,
        )
        assert moved.status_code == 200, moved.text
        assert [r["municipality_code"] for r in moved.json()["residences"]] == ["131016", "141003"]
        assert moved.json()["move_out"] is None
        assert yokohama.get(f"/api/v1/institutions/141003/residents/{person}").status_code == 200
    # The former municipality can no longer follow the person.
    assert app_client.get(f"/api/v1/institutions/131016/residents/{person}").status_code == 404
    lookup = app_client.post(
        "/api/v1/institutions/131016/residents/lookup",
        json={"my_number": created["my_number"]},
        headers=chiyoda,
    )
    assert lookup.status_code == 404


def test_a_move_in_without_a_move_out_is_refused_in_japanese_and_the_refusal_is_kept(
    app_client: TestClient, make_staff, engine: Engine
) -> None:
    created = _register(
        app_client, _desk(app_client, make_staff("chiyoda", StaffRole.BUSINESS_DESK))
    )
    with TestClient(app_client.app) as yokohama:
        headers = _desk(
            yokohama, make_staff("yokohama", StaffRole.CARD_WINDOW, institution_code="141003")
        )
        refused = yokohama.post(
            "/api/v1/institutions/141003/residents/move-in",
            json={
                "my_number": created["my_number"],
                "address_line": "中区1番",
                "moved_on": TODAY.isoformat(),
            },
            headers=headers,
        )
        future = yokohama.post(
            "/api/v1/institutions/141003/residents/move-in",
            json={
                "my_number": created["my_number"],
                "address_line": "中区1番",
                # A week ahead, not tomorrow: TODAY is read when the module loads, and a run
                # that crosses midnight in Japan made "tomorrow" today (CI, 2026-12-04 00:23 JST).
                "moved_on": (TODAY + timedelta(days=7)).isoformat(),
            },
            headers=headers,
        )
    assert refused.status_code == 422
    body = refused.json()
    assert "転出届" in body["detail"] and "(" not in body["detail"]
    assert body["errors"][0]["field"] == "個人番号"
    assert future.status_code == 422 and "未来" in future.json()["detail"]
    assert future.json()["errors"][0]["field"] == "異動日"
    with transaction(engine) as session:
        reasons = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "registry.move_in_refused")
        ).all()
    assert len(reasons) == 2  # committed although the requests failed


def test_only_the_municipality_of_residence_records_or_cancels_a_move_out(
    app_client: TestClient, make_staff
) -> None:
    chiyoda = _desk(app_client, make_staff("chiyoda", StaffRole.BUSINESS_DESK))
    person = _register(app_client, chiyoda)["resident"]["id"]
    with TestClient(app_client.app) as osaka:
        headers = _desk(
            osaka, make_staff("osaka", StaffRole.BUSINESS_DESK, institution_code="271004")
        )
        refused = osaka.post(
            f"/api/v1/institutions/271004/residents/{person}/move-out",
            json={"destination_code": "271004", "planned_on": TODAY.isoformat()},
            headers=headers,
        )
        unknown = osaka.post(
            f"/api/v1/institutions/271004/residents/{uuid.uuid4()}/move-out",
            json={"destination_code": "271004", "planned_on": TODAY.isoformat()},
            headers=headers,
        )
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["detail"] == unknown.json()["detail"]
    bad = app_client.post(
        f"/api/v1/institutions/131016/residents/{person}/move-out",
        json={"destination_code": "270008", "planned_on": TODAY.isoformat()},  # 大阪府
        headers=chiyoda,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "転出先"
    path = f"/api/v1/institutions/131016/residents/{person}/move-out"
    body = {"destination_code": "271004", "planned_on": TODAY.isoformat()}
    assert app_client.post(path, json=body, headers=chiyoda).status_code == 201
    assert app_client.post(f"{path}/cancel", headers=chiyoda).status_code == 204
    assert app_client.post(f"{path}/cancel", headers=chiyoda).status_code == 422
    shown = app_client.get(f"/api/v1/institutions/131016/residents/{person}")
    assert shown.json()["move_out"] is None


def test_a_changed_number_finds_no_one_and_a_bad_one_names_its_fault(
    app_client: TestClient, make_staff
) -> None:
    headers = _desk(app_client, make_staff("bango", StaffRole.BUSINESS_DESK))
    created = _register(app_client, headers)
    person = created["resident"]["id"]
    changed = app_client.post(
        f"/api/v1/institutions/131016/residents/{person}/my-number-change",
        json={"reason": "番号が漏えいし不正に用いられるおそれ"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["my_number"] != created["my_number"]
    old = app_client.post(
        "/api/v1/institutions/131016/residents/lookup",
        json={"my_number": created["my_number"]},
        headers=headers,
    )
    assert old.status_code == 404
    assert "廃止" in old.json()["detail"]
    assert created["my_number"] not in old.text
    bad = app_client.post(
        "/api/v1/institutions/131016/residents/lookup",
        json={"my_number": "123456789012"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {
            "field": "body.my_number",
            "message": "検査用数字は 8 のはずです (check digit should be 8)",
        }
    ]


def test_a_relocation_within_the_municipality_is_recorded(
    app_client: TestClient, make_staff
) -> None:
    headers = _desk(app_client, make_staff("tenkyo", StaffRole.BUSINESS_DESK))
    person = _register(app_client, headers)["resident"]["id"]
    moved = app_client.post(
        f"/api/v1/institutions/131016/residents/{person}/relocate",
        json={"address_line": "千代田二丁目", "moved_on": "2024-02-02"},
        headers=headers,
    )
    assert moved.status_code == 200
    assert [r["kind"] for r in moved.json()["residences"]] == ["registration", "relocation"]
