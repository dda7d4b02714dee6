"""The second attacker: the staff of another institution (the perpetrator's home municipality, a
deceived or colluding clerk, a stolen key), trying to learn where a protected person is.

花子 fled from 千代田区 to a shelter in 大阪市 without moving her 住民票: 大阪市 deals with her as a
住登外者, and its DV相談窓口 registered her protection (region: 大阪市).
Each test replays one way issue 14 found to give the shelter away and checks that it no longer
does, that the refusal is audited, and that 大阪市's desk is told.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.portal.conftest import PortalWorld, Resident, build_portal_world
from tests.screens.conftest import log_in_on_screen
from tests.web.conftest import TEST_SETTINGS, AsStaff, StaffLogin

from fukaiji.audit.models import AuditEntry
from fukaiji.identifiers import MyNumber
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.protection.models import DeskMessage
from fukaiji.registry import moves
from fukaiji.registry.errors import MoveInRefused
from fukaiji.staff.roles import StaffRole

API = "/api/v1"
CHILD_ALLOWANCE = "JM01000000000010"
LOCAL_TAX = "TM02000000000001"
RESIDENT_RECORD = "TM01000000000001"
SHELTER_MARKERS = ("大阪", "271004", "270008", "オオサカ", "ｵｵｻｶ")


@pytest.fixture
def world(engine: Engine) -> Iterator[PortalWorld]:
    with Session(engine, expire_on_commit=False) as session:
        built = build_portal_world(session)
        built.network_key = TEST_SETTINGS.derive_key(NETWORK_KEY_PURPOSE)
        session.commit()  # an open read would hold SQLite's lock against the app
        yield built


@pytest.fixture
def osaka_desk(make_staff) -> StaffLogin:
    return make_staff(
        "osaka_desk",
        StaffRole.CONSULTATION_DESK,
        institution_code="271004",
        department="DV相談窓口",
    )


@pytest.fixture
def hanako(world: PortalWorld, client: TestClient, as_staff: AsStaff, osaka_desk) -> Resident:
    """花子, protected at 大阪市, with the records her life at the shelter left behind."""
    victim = world.resident()
    # Enrols her at 大阪市 (a query 大阪市 → 千代田区, a 副本 naming 大阪市北区), not yet flagged.
    world.fled_to_osaka(victim, flagged=False)
    response = client.post(
        f"{API}/protections",
        json={
            "person_id": str(victim.id),
            "facts": {
                "own_procedures": True,
                "card_left_behind": True,
                "perpetrator_is_proxy": False,
                "perpetrator_is_legal_representative": False,
            },
            "region_codes": ["271004"],
            "requested_by": "person",
        },
        headers=as_staff(osaka_desk),
    )
    assert response.status_code == 201, response.text
    return victim


def osaka_messages(world: PortalWorld) -> list[tuple[str, str]]:
    world.session.expire_all()
    found = [
        (message.kind, message.body)
        for message in world.session.scalars(select(DeskMessage).order_by(DeskMessage.id))
    ]
    world.session.commit()  # an open read would hold SQLite's lock against the app
    return found


def audited(world: PortalWorld, action: str) -> list[dict]:
    world.session.expire_all()
    found = [
        json.loads(entry.details)
        for entry in world.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
    ]
    world.session.commit()
    return found


def assert_no_shelter_marker(text: str) -> None:
    for marker in SHELTER_MARKERS:
        assert marker not in text, marker


# ---- attack 2: a desk registers anyone and reads the exposure check as a map -----------------


def test_a_desk_cannot_register_someone_it_has_nothing_to_do_with(
    world: PortalWorld, client: TestClient, as_staff: AsStaff, make_staff, hanako: Resident
) -> None:
    sapporo_desk = make_staff(
        "sapporo_desk",
        StaffRole.CONSULTATION_DESK,
        institution_code="011002",
        department="DV相談窓口",
    )
    refused = client.post(
        f"{API}/protections",
        json={
            "person_id": str(hanako.id),
            "facts": {
                "own_procedures": False,
                "card_left_behind": False,
                "perpetrator_is_proxy": False,
                "perpetrator_is_legal_representative": False,
            },
            "region_codes": ["270008"],
            "requested_by": "person",
        },
        headers=as_staff(sapporo_desk),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "person"
    assert_no_shelter_marker(refused.text)
    assert audited(world, "protection.register_refused") == [{"reason": "not_own_person"}]
    alerts = [body for kind, body in osaka_messages(world) if kind == "alert"]
    assert any("札幌市" in body and "拒否" in body for body in alerts)


def test_a_desk_outside_the_region_gets_the_same_answer_whatever_region_it_tries(
    world: PortalWorld, client: TestClient, as_staff: AsStaff, make_staff, hanako: Resident
) -> None:
    """千代田区 still holds her (she is its resident on paper): it may register her, but setting
    the region to each prefecture in turn must not tell it where her portal shows something."""
    chiyoda_desk = make_staff(
        "chiyoda_desk",
        StaffRole.CONSULTATION_DESK,
        institution_code="131016",
        department="DV相談窓口",
    )
    headers = as_staff(chiyoda_desk)
    created = client.post(
        f"{API}/protections",
        json={
            "person_id": str(hanako.id),
            "facts": {
                "own_procedures": False,
                "card_left_behind": True,
                "perpetrator_is_proxy": False,
                "perpetrator_is_legal_representative": False,
            },
            "region_codes": ["130001"],
            "requested_by": "person",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    protection_id = created.json()["id"]
    answers = []
    for region in (["270008"], ["010006"], ["271004", "130001"], ["280003"]):
        changed = client.patch(
            f"{API}/protections/{protection_id}", json={"region_codes": region}, headers=headers
        )
        assert changed.status_code == 200, changed.text
        report = client.get(f"{API}/protections/{protection_id}/exposure", headers=headers)
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["details_withheld"] is True
        assert body["items"] == body["held_back"] == [] and body["exposed"] is True
        answers.append((body["exposed"], body["paths"], body["items"], body["held_back"]))
    assert all(answer == answers[0] for answer in answers)
    # Its own prefecture as the region: 東京都's items in full (held back from the card left
    # behind from the moment it registered her), but an item shared with an institution outside
    # the region (大阪市's query to 千代田区) does not name that institution.
    client.patch(
        f"{API}/protections/{protection_id}", json={"region_codes": ["130001"]}, headers=headers
    )
    own_prefecture = client.get(f"{API}/protections/{protection_id}/exposure", headers=headers)
    assert own_prefecture.json()["details_withheld"] is False
    assert own_prefecture.json()["held_back"] and own_prefecture.json()["items"] == []
    assert_no_shelter_marker(json.dumps(own_prefecture.json(), ensure_ascii=False))
    kinds = [kind for kind, _ in osaka_messages(world)]
    assert "alert" in kinds  # 千代田区 registered her: 大阪市's desk is told
    assert kinds.count("region_changed") == 5


def test_the_shelter_desk_sees_every_item_held_back(
    world: PortalWorld, client: TestClient, as_staff: AsStaff, osaka_desk, hanako: Resident
) -> None:
    headers = as_staff(osaka_desk)
    (protection,) = client.get(f"{API}/protections", headers=headers).json()
    body = client.get(f"{API}/protections/{protection['id']}/exposure", headers=headers).json()
    assert body["details_withheld"] is False
    assert body["exposed"] is False and body["items"] == [] and body["held_back"]


# ---- attack 3: the other side's 不開示 flag ----------------------------------------------------


def test_the_other_party_never_sees_the_shelters_flag(
    world: PortalWorld, client: TestClient, as_staff: AsStaff, make_staff, hanako: Resident
) -> None:
    clerk = make_staff("chiyoda_clerk", StaffRole.BUSINESS_DESK, institution_code="131016")
    at_chiyoda = world.enrol(hanako, world.chiyoda)
    world.flag(world.osaka, world.enrol(hanako, world.osaka))  # she asked 大阪市 for 不開示
    world.session.commit()
    records = client.get(
        f"{API}/institutions/131016/addressees/{at_chiyoda}/records", headers=as_staff(clerk)
    )
    assert records.status_code == 200
    for record in records.json():
        assert set(record) >= {"side", "undisclosed"}
        assert "provider_undisclosed" not in record and "requester_undisclosed" not in record
        # 千代田区 answered 大阪市's query: its own (provider) side is not flagged, and nothing
        # says that 大阪市 flagged its side.
        assert (record["side"], record["undisclosed"]) == ("provider", False)

    screen = TestClient(client.app)
    log_in_on_screen(
        screen, make_staff("chiyoda_screen", StaffRole.BUSINESS_DESK, institution_code="131016")
    )
    page = screen.get(f"/staff/residents/{at_chiyoda}")
    assert page.status_code == 200
    assert "提供側の不開示" not in page.text and "照会側／提供側" not in page.text
    screen.close()


# ---- attack 4: query answers as an oracle ------------------------------------------------------


def test_queries_at_each_municipality_answer_alike_and_the_desk_is_told(
    world: PortalWorld, client: TestClient, as_staff: AsStaff, make_staff, hanako: Resident
) -> None:
    clerk = make_staff("chiyoda_clerk", StaffRole.BUSINESS_DESK, institution_code="131016")
    michiko = world.resident("道子")  # known at 大阪市, but 大阪市 holds nothing current for her
    world.enrol(michiko, world.osaka)
    at_chiyoda = world.enrol(michiko, world.chiyoda)
    world.session.commit()
    headers = as_staff(clerk)

    def ask(provider: str | None, item: str = LOCAL_TAX) -> dict:
        body = {"addressee_number": at_chiyoda, "affair_code": CHILD_ALLOWANCE, "item_code": item}
        if provider is not None:
            body["provider_code"] = provider
        response = client.post(f"{API}/institutions/131016/queries", json=body, headers=headers)
        return {"http": response.status_code, **response.json()}

    unknown_at_yokohama, known_at_osaka = ask("141003"), ask("271004")
    assert unknown_at_yokohama["http"] == known_at_osaka["http"] == 201
    assert unknown_at_yokohama["status"] == known_at_osaka["status"] == "no_data"
    assert unknown_at_yokohama["status_label"] == known_at_osaka["status_label"]
    assert "provider_undisclosed" not in known_at_osaka

    # 住民票関係情報 goes where she lives; naming a municipality is refused, and audited.
    for municipality in ("141003", "271004", "011002"):
        refused = ask(municipality, RESIDENT_RECORD)
        assert refused["http"] == 422
        assert refused["type"].endswith("/provider-is-routed")
    reasons = [entry.get("reason") for entry in audited(world, "linkage.query_refused")]
    assert reasons == ["provider_named_for_routed_query"] * 3
    routed = ask(None, RESIDENT_RECORD)  # she lives in 千代田区 on paper: a query to oneself
    assert routed["http"] == 422
    assert_no_shelter_marker(json.dumps(routed, ensure_ascii=False))


def test_every_query_about_her_from_outside_is_told_to_her_desk(
    world: PortalWorld, client: TestClient, as_staff: AsStaff, make_staff, hanako: Resident
) -> None:
    clerk = make_staff("chiyoda_clerk", StaffRole.BUSINESS_DESK, institution_code="131016")
    at_chiyoda = world.enrol(hanako, world.chiyoda)
    world.session.commit()
    headers = as_staff(clerk)
    for provider in ("141003", "271004", "141003"):
        response = client.post(
            f"{API}/institutions/131016/queries",
            json={
                "addressee_number": at_chiyoda,
                "provider_code": provider,
                "affair_code": CHILD_ALLOWANCE,
                "item_code": LOCAL_TAX,
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
    told = osaka_messages(world)
    queries = [body for kind, body in told if kind == "query"]
    assert len(queries) == 3
    assert all("千代田区" in body and "児童手当" in body for body in queries)
    # Three in a week from outside: an alert as well.
    assert any(kind == "alert" and "3 回" in body for kind, body in told)


def test_an_addressee_number_given_her_elsewhere_alerts_her_desk(
    world: PortalWorld, client: TestClient, as_staff: AsStaff, make_staff, hanako: Resident
) -> None:
    """Enrolling her is the step before a desk may register her: her desk hears of it at once."""
    clerk = make_staff("sapporo_clerk", StaffRole.BUSINESS_DESK, institution_code="011002")
    her_number = world.my_number(hanako)
    world.session.commit()
    enrolled = client.post(
        f"{API}/institutions/011002/addressees",
        json={"my_number": her_number},
        headers=as_staff(clerk),
    )
    assert enrolled.status_code in (200, 201), enrolled.text
    assert_no_shelter_marker(enrolled.text)
    alerts = [body for kind, body in osaka_messages(world) if kind == "alert"]
    assert any("札幌市" in body and "宛名番号" in body for body in alerts)


def test_the_desk_reads_what_was_told_on_its_screen(
    world: PortalWorld, client: TestClient, as_staff: AsStaff, make_staff, hanako: Resident
) -> None:
    clerk = make_staff("chiyoda_clerk", StaffRole.BUSINESS_DESK, institution_code="131016")
    at_chiyoda = world.enrol(hanako, world.chiyoda)
    world.session.commit()
    client.post(
        f"{API}/institutions/131016/queries",
        json={
            "addressee_number": at_chiyoda,
            "provider_code": "141003",
            "affair_code": CHILD_ALLOWANCE,
            "item_code": LOCAL_TAX,
        },
        headers=as_staff(clerk),
    )
    screen = TestClient(client.app)
    log_in_on_screen(
        screen,
        make_staff(
            "osaka_desk_screen",
            StaffRole.CONSULTATION_DESK,
            institution_code="271004",
            department="DV相談窓口",
        ),
    )
    page = screen.get("/staff/protections")
    assert page.status_code == 200, page.text
    assert "情報照会" in page.text and "東京都千代田区から情報照会がありました" in page.text
    screen.close()


def test_a_move_out_filed_with_her_card_cannot_hand_the_shelter_to_a_colluding_clerk(
    world: PortalWorld, client: TestClient, as_staff: AsStaff, hanako: Resident
) -> None:
    """Whoever holds her left-behind card can file a 転出届 on the portal naming a municipality
    whose clerk colludes; that clerk's 転入 would receive her address as the 前住所. While a
    perpetrator path is open the 転入 is refused as if there were no 転出届; her desk is told."""
    today = date.today()
    moves.record_move_out(
        world.session,
        person_id=hanako.id,
        destination_code="011002",
        planned_on=today,
        actor="portal:card-holder",
        municipality_code=None,
    )
    world.session.commit()
    number = MyNumber(world.my_number(hanako))
    with pytest.raises(MoveInRefused) as refused:
        moves.complete_move_in(
            world.session,
            municipality_code="011002",
            my_number=number,
            address_line="北一条西一丁目",
            moved_on=today,
            actor="staff:sapporo",
        )
    world.session.commit()
    with pytest.raises(MoveInRefused) as no_move_out:
        moves.complete_move_in(
            world.session,
            municipality_code="141003",
            my_number=number,
            address_line="一丁目",
            moved_on=today,
            actor="staff:yokohama",
        )
    world.session.commit()
    assert refused.value.message == no_move_out.value.message  # nothing to tell them apart
    reasons = [entry["reason"] for entry in audited(world, "registry.move_in_refused")]
    assert reasons == ["no_move_out", "no_move_out"]
    held = [body for kind, body in osaka_messages(world) if kind == "alert"]
    assert any("札幌市" in body and "マイナポータルで出された転出届" in body for body in held)
