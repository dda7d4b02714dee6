"""不開示措置 through the API. 花子 fled from 千代田区 to a shelter in 大阪市; 太郎 is the
perpetrator. The DV相談窓口 of 大阪市 registers her and follows the usage-stop procedures to the
end; the 税務課 of the same city learns only that she is to be watched; 千代田区 learns nothing,
not even that she is registered; notice departments read the exclusion list, record consents and
import their paper ledger. Every attempt, allowed or refused, leaves an audit entry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.portal.conftest import PortalWorld, Resident, build_portal_world
from tests.portal.test_perpetrator import delete
from tests.web.conftest import TEST_SETTINGS, AsStaff, StaffLogin

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.institutions import get_institution
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole

API = "/api/v1"
OSAKA = f"{API}/institutions/271004"
HEADER = "団体内統合宛名番号"


@pytest.fixture
def world(engine: Engine) -> Iterator[PortalWorld]:
    # Every helper commits: on SQLite an open transaction would hold the lock the app needs.
    with Session(engine, expire_on_commit=False) as session:
        world = build_portal_world(session)
        world.network_key = TEST_SETTINGS.derive_key(NETWORK_KEY_PURPOSE)
        yield world


@pytest.fixture
def desk(make_staff) -> StaffLogin:
    return make_staff(
        "osaka_desk",
        StaffRole.CONSULTATION_DESK,
        institution_code="271004",
        department="DV相談窓口",
    )


@pytest.fixture
def tax(make_staff) -> StaffLogin:
    return make_staff(
        "osaka_tax", StaffRole.BUSINESS_DESK, institution_code="271004", department="税務課"
    )


@pytest.fixture
def sender(make_staff) -> StaffLogin:
    return make_staff(
        "osaka_sender", StaffRole.NOTICE_SENDER, institution_code="271004", department="福祉課"
    )


@pytest.fixture
def outsider(make_staff) -> StaffLogin:
    return make_staff("chiyoda_desk", StaffRole.CONSULTATION_DESK, department="DV相談窓口")


def facts(**overrides: object) -> dict[str, object]:
    return {
        "own_procedures": True,
        "card_left_behind": False,
        "perpetrator_is_proxy": False,
        "perpetrator_is_legal_representative": False,
    } | overrides


def registration(victim: Resident, **overrides: object) -> dict[str, object]:
    return {
        "person_id": str(victim.id),
        "facts": facts(),
        "region_codes": ["271004"],
        "requested_by": "person",
    } | overrides


def shelter_resident(world: PortalWorld, given_name: str = "花子") -> Resident:
    """A resident of 千代田区 whom 大阪市 deals with at the shelter (住登外者): it has given her
    an addressee number, so its desk may register her."""
    resident = world.resident(given_name)
    world.enrol(resident, world.osaka)
    world.session.commit()
    return resident


def register(client: TestClient, headers: dict[str, str], body: dict[str, object]) -> dict:
    response = client.post(f"{API}/protections", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def audit_entries(engine: Engine, action: str) -> list[AuditEntry]:
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )


def kinds(view: dict) -> list[str]:
    return [step["kind"] for step in view["steps"]]


def test_case_two_is_exposed_until_suspension_reissue_and_deletion_are_done(
    client: TestClient, as_staff: AsStaff, desk: StaffLogin, world: PortalWorld
) -> None:
    victim, perpetrator = world.resident(), world.resident("太郎")
    grant = world.appoint(victim, perpetrator)  # 花子's folder, with 太郎 as her proxy
    world.fled_to_osaka(victim, flagged=False)
    numbers = (world.my_number(victim), world.my_number(perpetrator))
    world.session.commit()  # on SQLite, even a read holds the lock until it ends
    headers = as_staff(desk)

    body = registration(victim, facts=facts(card_left_behind=True, perpetrator_is_proxy=True))
    del body["person_id"]
    body["my_number"] = numbers[0]
    body["facts"]["perpetrator_my_number"] = numbers[1]  # type: ignore[index]
    registered = client.post(f"{API}/protections", json=body, headers=headers)
    assert registered.status_code == 201, registered.text
    assert not any(number in registered.text for number in numbers)
    view = registered.json()
    assert view["view"] == "full"
    assert view["person"] == {"person_id": str(victim.id), "name": "山田 花子"}
    assert view["perpetrator"] == {"person_id": str(perpetrator.id), "name": "山田 太郎"}
    assert view["region"] == {
        "codes": ["271004"],
        "names": ["大阪府大阪市"],
        "prefecture_codes": ["270008"],
    }
    assert (view["usage_stop"]["complete"], view["excluded"]) == (False, True)
    assert kinds(view)[:5] == [
        "non_disclosure_request",
        "suspend_card",
        "reissue_card",
        "change_my_number",
        "delete_account",
    ]
    assert "停止するだけでは" in view["steps"][1]["reason"]

    exposed = client.get(f"{API}/protections/{view['id']}/exposure").json()
    # Both paths are open, and masked: nothing is shown, everything of 大阪 is held back.
    assert (exposed["exposed"], exposed["verdict"]) == (False, "露出なし")
    assert [(path["kind"], path["grant_id"]) for path in exposed["paths"]] == [
        ("card", None),
        ("proxy", grant.id),
    ]
    assert exposed["items"] == []
    assert {item["path_kind"] for item in exposed["held_back"]} == {"card", "proxy"}
    for item in exposed["held_back"]:
        assert "271004" in {institution["code"] for institution in item["institutions"]}
        assert item["reasons"] and len(item["measures"]) == 2

    world.suspend(victim)
    world.reissue(victim)
    delete(world, world.login(victim.card_token), victim.card_token)

    after = client.get(f"{API}/protections/{view['id']}/exposure").json()
    assert (after["exposed"], after["verdict"], after["paths"]) == (False, "露出なし", [])
    final = client.get(f"{API}/protections/{view['id']}").json()
    assert final["usage_stop"] == {"complete": True, "open_paths": []}
    assert final["excluded"] is False
    [summary] = client.get(f"{API}/protections").json()
    assert (summary["name"], summary["usage_stop_complete"], summary["excluded"]) == (
        "山田 花子",
        True,
        False,
    )
    [message] = client.get(f"{API}/protections/messages", params={"unread_only": True}).json()
    assert (message["kind"], message["protection_id"]) == ("exclusion_lifted", view["id"])
    assert client.get(f"{API}/protections/messages", params={"unread_only": True}).json() == []


def test_another_department_sees_only_a_flag_and_another_institution_nothing_all_audited(
    client: TestClient,
    as_staff: AsStaff,
    desk: StaffLogin,
    tax: StaffLogin,
    outsider: StaffLogin,
    world: PortalWorld,
    engine: Engine,
) -> None:
    victim = shelter_resident(world)
    protection_id = register(client, as_staff(desk), registration(victim))["id"]
    # An unknown 個人番号 in the body: refused for who is asking, before anyone is looked up.
    change = {"region_codes": ["131016"], "facts": facts(perpetrator_my_number="123456789018")}

    headers = as_staff(tax)
    shown = client.get(f"{API}/protections/{protection_id}")
    assert shown.status_code == 200
    assert shown.json() == {"id": protection_id, "to_be_watched": True, "view": "watch_only"}
    patched = client.patch(f"{API}/protections/{protection_id}", json=change, headers=headers)
    assert patched.status_code == 403
    assert patched.json()["type"] == "/problems/not-registering-desk"
    assert client.get(f"{API}/protections/{protection_id}/exposure").status_code == 403
    assert client.get(f"{API}/protections").json() == []

    headers = as_staff(outsider)
    foreign = client.get(f"{API}/protections/{protection_id}")
    unknown = client.get(f"{API}/protections/{uuid.uuid4()}")
    assert foreign.status_code == unknown.status_code == 404
    assert without_instance(foreign.json()) == without_instance(unknown.json())
    assert "大阪" not in foreign.text
    foreign_patch = client.patch(f"{API}/protections/{protection_id}", json=change, headers=headers)
    assert foreign_patch.status_code == 404
    assert without_instance(foreign_patch.json()) == without_instance(unknown.json())

    refused = audit_entries(engine, "protection.read_refused")
    by_tax = [entry for entry in refused if entry.actor == f"staff:{tax.staff_id}"]
    by_outsider = [entry for entry in refused if entry.actor == f"staff:{outsider.staff_id}"]
    assert len(by_tax) == 2 and all("not_registering_desk" in e.details for e in by_tax)
    assert len(by_outsider) == 3
    assert all("not_found_at_institution" in entry.details for entry in by_outsider)
    assert f"protection:{protection_id}" in {entry.subject for entry in by_outsider}
    reads = audit_entries(engine, "protection.read")
    assert any(e.actor == f"staff:{tax.staff_id}" and "watch_only" in e.details for e in reads)
    for entry in refused + reads:  # no entry carries the region or the facts
        assert "大阪" not in entry.details
        assert not {"region", "保護地域", "own_procedures"} & set(json.loads(entry.details))

    headers = as_staff(desk)
    perpetrator = world.resident("太郎")
    fixed = client.patch(
        f"{API}/protections/{protection_id}",
        json={
            "region_codes": ["270008"],
            "fled_on": "2026-01-05",
            "facts": facts(perpetrator_is_proxy=True, perpetrator_person_id=str(perpetrator.id)),
        },
        headers=headers,
    )
    assert fixed.status_code == 200, fixed.text
    changed = fixed.json()
    assert (changed["region"]["names"], changed["fled_on"]) == (["大阪府"], "2026-01-05")
    assert changed["perpetrator"] == {"person_id": str(perpetrator.id), "name": "山田 太郎"}
    assert changed["facts"]["perpetrator_is_proxy"] is True
    assert len(audit_entries(engine, "protection.updated")) == 1


def without_instance(problem: dict) -> dict:
    return {key: value for key, value in problem.items() if key != "instance"}


def test_an_api_key_cannot_register_and_the_refusal_is_audited(
    client: TestClient, world: PortalWorld, engine: Engine
) -> None:
    victim = world.resident()
    with transaction(engine) as session:
        _, key = staff_service.create_api_key(
            session,
            institution_id=get_institution(session, "271004").id,
            name="相談システム",
            roles=[StaffRole.CONSULTATION_DESK],
            actor="test",
        )
    response = client.post(
        f"{API}/protections",
        json=registration(victim),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 403
    assert "API キー" in response.json()["detail"]
    [entry] = audit_entries(engine, "access.refused")
    assert "no_department" in entry.details


def test_any_department_asks_whether_a_person_is_to_be_watched(
    client: TestClient,
    as_staff: AsStaff,
    desk: StaffLogin,
    make_staff,
    world: PortalWorld,
    engine: Engine,
) -> None:
    victim, other = shelter_resident(world), world.resident("次郎")
    number = register(client, as_staff(desk), registration(victim))["addressee_number"]
    unwatched = world.enrol(other, world.osaka)
    world.session.commit()

    as_staff(make_staff("osaka_window", StaffRole.CARD_WINDOW, institution_code="271004"))
    assert client.get(f"{OSAKA}/watch/{number}").json() == {
        "addressee_number": number,
        "to_be_watched": True,
    }
    assert client.get(f"{OSAKA}/watch/{unwatched}").json()["to_be_watched"] is False
    assert client.get(f"{OSAKA}/watch/12345").status_code == 422
    assert client.get(f"{API}/institutions/131016/watch/{number}").status_code == 403
    subjects = [entry.subject for entry in audit_entries(engine, "protection.watch_read")]
    assert subjects == [f"addressee:271004:{number}", f"addressee:271004:{unwatched}"]


def test_the_exclusion_list_names_numbers_and_sources_only(
    client: TestClient,
    as_staff: AsStaff,
    desk: StaffLogin,
    sender: StaffLogin,
    make_staff,
    world: PortalWorld,
    engine: Engine,
) -> None:
    hanako, ume = shelter_resident(world), shelter_resident(world, "梅子")
    kiku = world.resident("菊子")
    headers = as_staff(desk)
    left = registration(hanako, facts=facts(card_left_behind=True))
    at_risk = register(client, headers, left)["addressee_number"]
    safe = register(client, headers, registration(ume))["addressee_number"]  # ケース① only
    flagged = client.post(
        f"{API}/nondisclosure-requests",
        json={"person_id": str(kiku.id), "requested_by": "person"},
        headers=headers,
    ).json()["addressee_number"]

    as_staff(sender)
    listed = client.get(f"{OSAKA}/exclusions")
    assert listed.status_code == 200
    rows = {row["addressee_number"]: row for row in listed.json()}
    assert set(rows) == {at_risk, flagged}  # ume's usage stop is complete: nothing to close
    assert rows[at_risk]["sources"] == ["protection"]
    assert rows[flagged]["sources"] == ["nondisclosure_flag"]
    assert all(set(row) == {"addressee_number", "sources"} for row in listed.json())
    for secret in ("大阪", "card_left_behind", "region", "fled_on", "山田"):
        assert secret not in listed.text
    assert client.get(f"{OSAKA}/watch/{safe}").json()["to_be_watched"] is True
    [entry] = audit_entries(engine, "protection.exclusions_read")
    assert json.loads(entry.details) == {"count": 2}

    as_staff(make_staff("osaka_window", StaffRole.CARD_WINDOW, institution_code="271004"))
    assert client.get(f"{OSAKA}/exclusions").status_code == 403


def test_consent_is_recorded_listed_and_withdrawn(
    client: TestClient, as_staff: AsStaff, desk: StaffLogin, sender: StaffLogin, world
) -> None:
    victim = shelter_resident(world)
    number = register(client, as_staff(desk), registration(victim))["addressee_number"]
    headers = as_staff(sender)
    body = {
        "addressee_number": number,
        "category": "tax",
        "given_on": str(date.today()),
        "channel": "window",
        "note": "窓口で意向を確認",
    }
    recorded = client.post(f"{OSAKA}/consents", json=body, headers=headers)
    assert recorded.status_code == 201, recorded.text
    consent = recorded.json()
    assert (consent["category"], consent["channel_label"]) == ("tax", "窓口")

    listed = client.get(f"{OSAKA}/consents", params={"addressee_number": number}).json()
    assert [row["id"] for row in listed] == [consent["id"]]
    withdrawn = client.post(f"{OSAKA}/consents/{consent['id']}/withdraw", headers=headers)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["withdrawn_at"] is not None

    both = body | {"notice_id": str(uuid.uuid4())}
    refused = client.post(f"{OSAKA}/consents", json=both, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "notice_id"
    assert client.post(f"{OSAKA}/consents/999999/withdraw", headers=headers).status_code == 404


def ledger_csv(*numbers: str) -> str:
    return "\r\n".join([f"{HEADER},氏名", *(f"{number},大阪 花子" for number in numbers)]) + "\r\n"


def post_ledger(client: TestClient, headers: dict[str, str], data: bytes, **params: str) -> object:
    return client.post(
        f"{OSAKA}/ledger",
        content=data,
        params=params,
        headers=headers | {"Content-Type": "text/csv"},
    )


def test_the_paper_ledger_is_imported_all_or_nothing(
    client: TestClient, as_staff: AsStaff, sender: StaffLogin, world: PortalWorld
) -> None:
    first, second, third = (world.resident(name) for name in ("一子", "二子", "三子"))
    numbers = [world.enrol(resident, world.osaka) for resident in (first, second, third)]
    world.session.commit()
    headers = as_staff(sender)

    bad = ledger_csv(numbers[0], "12345", "000000000000001", numbers[0]).encode()
    rejected = post_ledger(client, headers, bad)
    assert rejected.status_code == 422
    errors = rejected.json()["errors"]
    assert [error["field"] for error in errors] == ["紙台帳.3", "紙台帳.4", "紙台帳.5"]
    assert "15 桁ではありません" in errors[0]["message"]
    assert "付番した宛名番号ではありません" in errors[1]["message"]
    assert "2 行目と重複" in errors[2]["message"]
    assert client.get(f"{OSAKA}/ledger").json() == []

    good = post_ledger(client, headers, ledger_csv(*numbers[:2]).encode(), filename="台帳.csv")
    assert good.status_code == 201, good.text
    assert {key: good.json()[key] for key in ("rows", "added", "encoding")} == {
        "rows": 2,
        "added": 2,
        "encoding": "utf-8",
    }
    cp932 = post_ledger(client, headers, ledger_csv(*numbers[1:]).encode("cp932"))
    assert cp932.status_code == 201, cp932.text
    assert (cp932.json()["encoding"], cp932.json()["added"], cp932.json()["already_listed"]) == (
        "cp932",
        1,
        1,
    )
    listed = client.get(f"{OSAKA}/ledger").json()
    assert [entry["addressee_number"] for entry in listed] == sorted(numbers)
    exclusions = client.get(f"{OSAKA}/exclusions").json()
    assert all(row["sources"] == ["paper_ledger"] for row in exclusions)

    removed = client.delete(f"{OSAKA}/ledger/{numbers[0]}", headers=headers)
    assert removed.status_code == 200 and removed.json()["withdrawn_at"] is not None
    assert client.delete(f"{OSAKA}/ledger/{numbers[0]}", headers=headers).status_code == 404
    assert post_ledger(client, headers, b"", encoding="utf-16").status_code == 422
    too_large = post_ledger(client, headers, b"0" * (16 * 1024 * 1024 + 1))
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"


def test_a_nondisclosure_request_reports_what_it_flagged_earlier(
    client: TestClient, as_staff: AsStaff, tax: StaffLogin, world: PortalWorld
) -> None:
    victim = world.resident()
    number = world.enrol(victim, world.osaka)
    world.query(world.osaka, number, world.chiyoda)  # her first procedure at the shelter
    world.register(world.osaka, number, 住所="大阪市北区")
    world.session.commit()
    headers = as_staff(tax)

    body = {
        "addressee_number": number,
        "requested_by": "supporter",
        "supporter_body": "大阪市配偶者暴力相談支援センター",
        "supporter_reason": "入院中のため",
    }
    first = client.post(f"{API}/nondisclosure-requests", json=body, headers=headers)
    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["records_flagged"], report["items_flagged"]) == (1, 1)
    assert (report["earlier_items_flagged"], report["newly_set"]) == (2, True)
    assert report["requested_by"] == "supporter"
    my_number = world.my_number(victim)
    world.session.commit()
    again = client.post(
        f"{API}/nondisclosure-requests",
        json={"my_number": my_number, "requested_by": "person"},
        headers=headers,
    )
    assert again.status_code == 201
    assert (again.json()["addressee_number"], again.json()["newly_set"]) == (number, False)
    assert my_number not in again.text


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"my_number": "123456789018"}, ["body.my_number", "body.person_id"]),
        ({"person_id": None, "my_number": "123456789012"}, ["body.my_number"]),
        ({"person_id": None}, ["body.my_number", "body.addressee_number", "body.person_id"]),
        ({"region_codes": ["999997"]}, ["保護地域"]),
        ({"region_codes": []}, ["body.region_codes"]),
        ({"requested_by": "supporter", "supporter_body": "支援センター"}, ["supporter_reason"]),
        ({"requested_by": "neighbour"}, ["body.requested_by"]),
        ({"fled_on": str(date.today() + timedelta(days=2))}, ["fled_on"]),
        (
            {
                "facts": facts(
                    perpetrator_my_number="123456789018",
                    perpetrator_person_id=str(uuid.uuid4()),
                )
            },
            ["body.facts.perpetrator_my_number", "body.facts.perpetrator_person_id"],
        ),
        ({"facts": {"own_procedures": True}}, ["body.facts.card_left_behind"]),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    client: TestClient,
    as_staff: AsStaff,
    desk: StaffLogin,
    world: PortalWorld,
    change: dict[str, object],
    fields: list[str],
) -> None:
    victim = world.resident()
    body = {k: v for k, v in (registration(victim) | change).items() if v is not None}
    response = client.post(f"{API}/protections", json=body, headers=as_staff(desk))
    assert response.status_code == 422, response.text
    named = [error["field"] for error in response.json()["errors"]]
    assert all(any(name.startswith(field) for name in named) for field in fields), named
    assert "123456789012" not in response.text
    assert client.get(f"{API}/protections").json() == []


def test_a_person_is_registered_once_per_institution(
    client: TestClient, as_staff: AsStaff, desk: StaffLogin, world: PortalWorld
) -> None:
    victim = world.resident()
    number = world.enrol(victim, world.osaka)
    world.session.commit()
    headers = as_staff(desk)
    first = registration(victim) | {"person_id": None, "addressee_number": number}
    assert register(client, headers, first)["person"]["person_id"] == str(victim.id)
    again = client.post(f"{API}/protections", json=registration(victim), headers=headers)
    assert again.status_code == 409
    assert "既に登録" in again.json()["detail"]
