"""情報連携 through the API: a desk enrols, queries and registers for its own institution only;
a refusal names the missing permission and stays in the audit log; the 不開示フラグ reports what it
flagged retroactively."""

from __future__ import annotations

from datetime import date

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, select
from tests.web.conftest import TEST_SETTINGS, AsStaff

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.network.institutions import get_institution
from fukaiji.registry import service as registry
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole
from fukaiji.web import create_app

# Schemathesis gives up on a request after 10 s; CI shares two cores, so a slow answer is
# waited for, never failed on (no test depends on how fast the machine is).
NO_CLOCK = 600

CHILD_ALLOWANCE = "JM01000000000010"
LOCAL_TAX = "TM02000000000001"
PENSION_BENEFIT = "TM04000000000001"
RESIDENT = {
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
    "birth_date": "1990-04-01",
    "address_line": "千代田一丁目1番1号",
    "moved_in_on": "2020-04-01",
}


def _person(engine: Engine) -> tuple[str, str]:
    """A resident of 千代田区: (person id, 個人番号)."""
    with transaction(engine) as session:
        person = registry.register_resident(
            session,
            municipality_code="131016",
            family_name="山田",
            given_name="花子",
            family_name_kana="ヤマダ",
            given_name_kana="ハナコ",
            birth_date=date(1990, 4, 1),
            address_line="千代田一丁目1番1号",
            moved_in_on=date(2020, 4, 1),
            my_number_key=b"m" * 32,
            actor="test",
        )
        return str(person.id), str(registry.current_my_number(session, person.id))


def test_a_desk_enrols_queries_another_municipality_and_a_flag_hides_it(
    client: TestClient, as_staff: AsStaff, make_staff, engine: Engine
) -> None:
    person_id, my_number = _person(engine)
    chiyoda = make_staff("chiyoda", StaffRole.BUSINESS_DESK)
    yokohama = make_staff("yokohama", StaffRole.BUSINESS_DESK, institution_code="141003")
    soudan = make_staff("soudan", StaffRole.CONSULTATION_DESK, department="DV相談窓口")

    headers = as_staff(yokohama)
    enrolled = client.post(
        "/api/v1/institutions/141003/addressees", json={"my_number": my_number}, headers=headers
    )
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["created"] is True
    at_yokohama = enrolled.json()["addressee_number"]
    assert my_number not in enrolled.text
    registered = client.post(
        f"/api/v1/institutions/141003/addressees/{at_yokohama}/self-info",
        json={
            "item_code": LOCAL_TAX,
            "content": {"所得割額": 120000},
            "publish_from": "2026-04-01",
        },
        headers=headers,
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["version"] == 1

    headers = as_staff(chiyoda)
    at_chiyoda = client.post(
        "/api/v1/institutions/131016/addressees", json={"person_id": person_id}, headers=headers
    ).json()["addressee_number"]
    answered = client.post(
        "/api/v1/institutions/131016/queries",
        json={
            "addressee_number": at_chiyoda,
            "provider_code": "141003",
            "affair_code": CHILD_ALLOWANCE,
            "item_code": LOCAL_TAX,
        },
        headers=headers,
    )
    assert answered.status_code == 201, answered.text
    body = answered.json()
    assert (body["status"], body["content"], body["provider"]["code"]) == (
        "provided",
        {"所得割額": 120000},
        "141003",
    )
    assert body["requester_undisclosed"] is False

    # The consultation desk sets the flag; it cannot query.
    headers = as_staff(soudan)
    refused = client.post(
        "/api/v1/institutions/131016/queries",
        json={
            "addressee_number": at_chiyoda,
            "provider_code": "141003",
            "affair_code": CHILD_ALLOWANCE,
            "item_code": LOCAL_TAX,
        },
        headers=headers,
    )
    assert refused.status_code == 403
    flagged = client.put(
        f"/api/v1/institutions/131016/addressees/{at_chiyoda}/nondisclosure-flag",
        json={"requested_by": "supporter"},
        headers=headers,
    )
    assert flagged.status_code == 200, flagged.text
    assert flagged.json()["records_flagged"] == 1
    assert flagged.json()["newly_set"] is True
    shown = client.get(f"/api/v1/institutions/131016/addressees/{at_chiyoda}")
    assert shown.json()["nondisclosure_flag"]["requested_by"] == "supporter"

    headers = as_staff(chiyoda)
    records = client.get(f"/api/v1/institutions/131016/addressees/{at_chiyoda}/records")
    assert records.status_code == 200
    (record,) = records.json()
    # Each party sees its own side and its own flag, never the other party's.
    assert (record["side"], record["undisclosed"]) == ("requester", True)
    assert "provider_undisclosed" not in record and "requester_undisclosed" not in record


def test_a_query_without_legal_basis_is_refused_and_the_refusal_is_kept(
    client: TestClient, as_staff: AsStaff, make_staff, engine: Engine
) -> None:
    person_id, _ = _person(engine)
    headers = as_staff(make_staff("desk", StaffRole.BUSINESS_DESK))
    number = client.post(
        "/api/v1/institutions/131016/addressees", json={"person_id": person_id}, headers=headers
    ).json()["addressee_number"]
    refused = client.post(
        "/api/v1/institutions/131016/queries",
        json={
            "addressee_number": number,
            "provider_code": "141003",
            "affair_code": CHILD_ALLOWANCE,
            "item_code": PENSION_BENEFIT,
        },
        headers=headers,
    )
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["type"] == "/problems/query-not-permitted"
    assert problem["detail"].startswith("照会は許可されていません")
    assert CHILD_ALLOWANCE in problem["detail"] and PENSION_BENEFIT in problem["detail"]
    with transaction(engine) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "linkage.query_refused" in actions


def test_a_desk_reaches_only_its_own_institution_and_bad_input_names_the_field(
    client: TestClient, as_staff: AsStaff, make_staff, engine: Engine
) -> None:
    person_id, _ = _person(engine)
    headers = as_staff(make_staff("desk", StaffRole.BUSINESS_DESK))
    other = client.post(
        "/api/v1/institutions/141003/addressees", json={"person_id": person_id}, headers=headers
    )
    assert other.status_code == 403
    both = client.post(
        "/api/v1/institutions/131016/addressees",
        json={"person_id": person_id, "my_number": "123456789018"},
        headers=headers,
    )
    assert both.status_code == 422
    bad_number = client.post(
        "/api/v1/institutions/131016/addressees",
        json={"my_number": "123456789012"},
        headers=headers,
    )
    assert bad_number.status_code == 422
    assert "検査用数字" in bad_number.json()["detail"]
    unknown = client.get("/api/v1/institutions/131016/addressees/000000000000001/records")
    assert unknown.status_code == 404
    malformed = client.get("/api/v1/institutions/131016/addressees/12345/self-info")
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "団体内統合宛名番号"
    assert client.get("/api/v1/linkage/legal-basis").json()[0]["entry"] == 1


def test_items_and_records_are_flagged_by_hand(
    client: TestClient, as_staff: AsStaff, make_staff, engine: Engine
) -> None:
    person_id, _ = _person(engine)
    headers = as_staff(make_staff("desk", StaffRole.BUSINESS_DESK))
    number = client.post(
        "/api/v1/institutions/131016/addressees", json={"person_id": person_id}, headers=headers
    ).json()["addressee_number"]
    item = client.post(
        f"/api/v1/institutions/131016/addressees/{number}/self-info",
        json={"item_code": LOCAL_TAX, "content": {"a": 1}, "publish_from": "2026-04-01"},
        headers=headers,
    ).json()
    flagged = client.post(
        f"/api/v1/institutions/131016/self-info/{item['id']}/undisclose", headers=headers
    )
    assert flagged.status_code == 200 and flagged.json()["undisclosed"] is True
    query = client.post(
        "/api/v1/institutions/131016/queries",
        json={
            "addressee_number": number,
            "provider_code": "271004",
            "affair_code": CHILD_ALLOWANCE,
            "item_code": LOCAL_TAX,
        },
        headers=headers,
    ).json()
    assert query["status"] == "no_data"  # "unknown person" would be an oracle
    record = client.post(
        f"/api/v1/institutions/131016/records/{query['record_id']}/undisclose", headers=headers
    )
    assert record.json() == {
        "record_id": query["record_id"],
        "side": "requester",
        "undisclosed": True,
    }
    assert (
        client.post("/api/v1/institutions/131016/records/999999/undisclose", headers=headers)
    ).status_code == 404


def test_the_linkage_routes_survive_schemathesis(engine: Engine) -> None:
    """The routes under random input: no server error, no response outside the schema. (The
    whole-API fuzz test covers them too once they are registered in ``api_router``.)"""
    with transaction(engine) as session:
        _, key = staff_service.create_api_key(
            session,
            institution_id=get_institution(session, "131016").id,
            name="schemathesis",
            roles=list(StaffRole),
            actor="test",
        )
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(TEST_SETTINGS, engine), timeout=NO_CLOCK
    )
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if "linkage" in (operation.definition.raw.get("tags") or [])
    ]
    assert len(operations) == 10
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    for operation in operations:

        @given(case=operation.as_strategy(), code=st.sampled_from(["131016", "141003", None]))
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: schemathesis.Case, code: str | None) -> None:
            if code is not None and "code" in (case.path_parameters or {}):
                case.path_parameters["code"] = code
            case.call_and_validate(
                headers={"Authorization": f"Bearer {key}"}, checks=checks, timeout=NO_CLOCK
            )

        call()
