"""Need-to-know between institutions (issue 14): the staff of another institution — the
perpetrator's home municipality, a deceived or colluding clerk, a stolen API key — learn nothing
of where a person lives beyond what their own institution holds.

Attack 1, 転入 by anyone: any municipality recorded a 転入 for any person by 個人番号, without a
転出届, even dated in the future; the answer listed every earlier address (the shelter's too), and
its card window could then reach her card. Each test below is one way of trying it; the first
fails on the code before 転出→転入 existed (it answered 200 with the shelter's address).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.web.conftest import (  # noqa: F401  the fixtures
    AsStaff,
    StaffLogin,
    app_client,
    as_staff,
    client,
    make_staff,
)

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.registry import service as registry
from fukaiji.staff.roles import StaffRole

API = "/api/v1/institutions"
TODAY = datetime.now(ZoneInfo("Asia/Tokyo")).date()
CHIYODA, SHINJUKU, YOKOHAMA, OSAKA, SAKAI = "131016", "131041", "141003", "271004", "271403"
SHELTER_ADDRESS = "中央区本町二丁目3番4号"
# What gives the shelter (大阪市, in 大阪府) away: names, readings, codes, the address.
REGION_MARKERS = ("大阪", "ｵｵｻｶ", "オオサカ", OSAKA, "270008", "本町", SHELTER_ADDRESS)
HANAKO = {
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
    "birth_date": "1990-04-01",
    "moved_in_on": "2020-04-01",
}
PINS = {"auth_pin": "7395", "sign_pin": "HIBARI48"}


StaffOf = Callable[..., dict[str, str]]


@pytest.fixture
def staff_of(make_staff, as_staff: AsStaff) -> StaffOf:  # noqa: F811
    """``client`` acts as a staff member of the municipality ``code`` with ``role`` (made once
    per test); returns the headers of that session."""
    made: dict[tuple[str, StaffRole], StaffLogin] = {}

    def switch(code: str, role: StaffRole = StaffRole.BUSINESS_DESK) -> dict[str, str]:
        if (code, role) not in made:
            made[code, role] = make_staff(f"staff-{code}-{role.value}", role, institution_code=code)
        return as_staff(made[code, role])

    return switch


def _register(client: TestClient, headers: dict[str, str], code: str, address: str) -> dict:  # noqa: F811
    response = client.post(
        f"{API}/{code}/residents", json={**HANAKO, "address_line": address}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def _move_in(
    client: TestClient,  # noqa: F811
    headers: dict[str, str],
    code: str,
    my_number: str,
    address: str,
    moved_on: str = TODAY.isoformat(),
) -> httpx.Response:
    return client.post(
        f"{API}/{code}/residents/move-in",
        json={"my_number": my_number, "address_line": address, "moved_on": moved_on},
        headers=headers,
    )


def _move_out(
    client: TestClient,  # noqa: F811
    headers: dict[str, str],
    code: str,
    person_id: str,
    destination: str,
) -> httpx.Response:
    return client.post(
        f"{API}/{code}/residents/{person_id}/move-out",
        json={"destination_code": destination, "planned_on": TODAY.isoformat()},
        headers=headers,
    )


def _gives_nothing_away(response: httpx.Response) -> None:
    text = response.text + "".join(f"{k}: {v}" for k, v in response.headers.items())
    for marker in REGION_MARKERS:
        assert marker not in text, marker


def _refusals(engine: Engine) -> list[AuditEntry]:
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == "registry.move_in_refused")
            )
        )


def _lives_in(engine: Engine, person_id: str) -> str:
    with transaction(engine) as session:
        person = registry.get_person(session, uuid.UUID(person_id))
        return person.current_residence.municipality_code


def test_attack1_a_move_in_without_a_move_out_is_refused_and_gives_nothing_away(
    client: TestClient,  # noqa: F811
    staff_of: StaffOf,
    engine: Engine,
) -> None:
    """花子 lives at the shelter in 大阪市. 新宿区 (a colluding clerk, or a key stolen from it)
    records a 転入 for her by 個人番号: refused, audited, nothing changed, nothing said."""
    osaka = staff_of(OSAKA)
    hanako = _register(client, osaka, OSAKA, SHELTER_ADDRESS)
    person_id, number = hanako["resident"]["id"], hanako["my_number"]

    shinjuku = staff_of(SHINJUKU)
    attempt = _move_in(client, shinjuku, SHINJUKU, number, "西新宿二丁目8番1号")

    assert attempt.status_code in (409, 422), attempt.text
    _gives_nothing_away(attempt)
    assert "転出届" in attempt.json()["detail"]
    assert _lives_in(engine, person_id) == OSAKA
    [refusal] = _refusals(engine)  # committed although the request failed
    assert refusal.institution == SHINJUKU
    # Dated in the future: refused too.
    future = (TODAY + timedelta(days=365)).isoformat()
    later = _move_in(client, shinjuku, SHINJUKU, number, "西新宿二丁目8番1号", future)
    assert later.status_code == 422 and "未来" in later.json()["detail"]
    _gives_nothing_away(later)
    assert _lives_in(engine, person_id) == OSAKA


def test_attack1_a_move_out_to_elsewhere_is_answered_as_no_move_out(
    client: TestClient,  # noqa: F811
    staff_of: StaffOf,
    engine: Engine,
) -> None:
    """Whether she has no 転出届 or one to another municipality, the answer to 新宿区 is the same:
    it cannot probe where she is going, nor whether a number exists."""
    osaka = staff_of(OSAKA)
    hanako = _register(client, osaka, OSAKA, SHELTER_ADDRESS)
    shinjuku = staff_of(SHINJUKU)
    without = _move_in(client, shinjuku, SHINJUKU, hanako["my_number"], "西新宿1番")

    osaka = staff_of(OSAKA)
    assert _move_out(client, osaka, OSAKA, hanako["resident"]["id"], SAKAI).status_code == 201
    shinjuku = staff_of(SHINJUKU)
    elsewhere = _move_in(client, shinjuku, SHINJUKU, hanako["my_number"], "西新宿1番")
    nobody = _move_in(client, shinjuku, SHINJUKU, "123456789018", "西新宿1番")

    assert without.status_code == elsewhere.status_code == nobody.status_code == 422
    assert without.json() == elsewhere.json() == nobody.json()
    _gives_nothing_away(elsewhere)
    assert "堺" not in elsewhere.text and SAKAI not in elsewhere.text
    assert len({entry.details for entry in _refusals(engine)}) == 1  # nor does its audit log


def test_attack1_the_receiving_municipality_sees_only_the_previous_address(
    client: TestClient,  # noqa: F811
    staff_of: StaffOf,
) -> None:
    """千代田区 → 大阪市 (the shelter) → 堺市. 堺市 receives 大阪市's address as 前住所 and nothing
    older; 千代田区 and a colluding 新宿区 see nothing of her at all."""
    chiyoda = staff_of(CHIYODA)
    hanako = _register(client, chiyoda, CHIYODA, "千代田一丁目1番1号")
    person_id, number = hanako["resident"]["id"], hanako["my_number"]
    assert _move_out(client, chiyoda, CHIYODA, person_id, OSAKA).status_code == 201
    osaka = staff_of(OSAKA)
    to_shelter = _move_in(client, osaka, OSAKA, number, SHELTER_ADDRESS)
    assert to_shelter.status_code == 200, to_shelter.text
    assert [r["municipality_code"] for r in to_shelter.json()["residences"]] == [CHIYODA, OSAKA]
    assert _move_out(client, osaka, OSAKA, person_id, SAKAI).status_code == 201

    sakai = staff_of(SAKAI)
    arrived = _move_in(client, sakai, SAKAI, number, "堺区南瓦町3番1号")
    assert arrived.status_code == 200, arrived.text
    for answer in (arrived, client.get(f"{API}/{SAKAI}/residents/{person_id}")):
        residences = answer.json()["residences"]
        assert [(r["municipality_code"], r["address_line"]) for r in residences] == [
            (OSAKA, SHELTER_ADDRESS),
            (SAKAI, "堺区南瓦町3番1号"),
        ]
        assert "千代田" not in answer.text and CHIYODA not in answer.text

    for code in (SHINJUKU, CHIYODA):
        headers = staff_of(code)
        shown = client.get(f"{API}/{code}/residents/{person_id}")
        found = client.post(
            f"{API}/{code}/residents/lookup", json={"my_number": number}, headers=headers
        )
        assert shown.status_code == found.status_code == 404
        _gives_nothing_away(shown)
        _gives_nothing_away(found)
        assert "堺" not in shown.text + found.text


def test_attack1_another_municipality_cannot_record_her_move_out(
    client: TestClient,  # noqa: F811
    staff_of: StaffOf,
    engine: Engine,
) -> None:
    """新宿区 cannot make the 転出届 that would let it (or an accomplice) complete a 転入."""
    osaka = staff_of(OSAKA)
    hanako = _register(client, osaka, OSAKA, SHELTER_ADDRESS)
    shinjuku = staff_of(SHINJUKU)
    refused = _move_out(client, shinjuku, SHINJUKU, hanako["resident"]["id"], SHINJUKU)
    unknown = _move_out(client, shinjuku, SHINJUKU, str(uuid.uuid4()), SHINJUKU)
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["detail"] == unknown.json()["detail"]
    _gives_nothing_away(refused)
    assert _move_in(client, shinjuku, SHINJUKU, hanako["my_number"], "西新宿1番").status_code == 422
    assert _lives_in(engine, hanako["resident"]["id"]) == OSAKA
    with transaction(engine) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert "registry.move_out_refused" in actions


def test_attack1_the_card_window_of_another_municipality_cannot_reach_her_card(
    client: TestClient,  # noqa: F811
    staff_of: StaffOf,
) -> None:
    """The card window of 新宿区 can neither look her up, see her card, suspend it nor reissue
    it (which would hand it a working card for her portal folder)."""
    window = staff_of(OSAKA, StaffRole.CARD_WINDOW)
    hanako = _register(client, window, OSAKA, SHELTER_ADDRESS)
    person_id = hanako["resident"]["id"]
    issued = client.post(f"{API}/{OSAKA}/residents/{person_id}/card", json=PINS, headers=window)
    assert issued.status_code == 201, issued.text

    other = staff_of(SHINJUKU, StaffRole.CARD_WINDOW)
    card = f"{API}/{SHINJUKU}/residents/{person_id}/card"
    attempts = [
        client.get(card),
        client.post(f"{card}/reissue", json=PINS, headers=other),
        client.post(f"{card}/suspend", json={}, headers=other),
        client.post(
            f"{API}/{SHINJUKU}/residents/lookup",
            json={"my_number": hanako["my_number"]},
            headers=other,
        ),
    ]
    for attempt in attempts:
        assert attempt.status_code == 404, attempt.text
        _gives_nothing_away(attempt)
    assert _move_in(client, other, SHINJUKU, hanako["my_number"], "西新宿1番").status_code == 422
    assert client.get(card).status_code == 404  # and no 転入 opened the way
