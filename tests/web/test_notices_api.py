"""お知らせ through the API. The 福祉課 of 大阪市 (the shelter's city) writes a notice for its
residents; 花子, who fled there, is registered by the DV相談窓口 while 太郎, the perpetrator, is
still her proxy. Whether or not the 福祉課 screens its destination file, the gate stops the
notice at 花子's folder and lets it through to 次郎's; the removed rows are shown to the 福祉課
only, and never with a reason beyond 要確認. Another institution is told "not found"."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.portal.conftest import PortalWorld, Resident
from tests.web.conftest import AsStaff, StaffLogin
from tests.web.test_protection_api import (
    audit_entries,
    facts,
    register,
    registration,
    without_instance,
)
from tests.web.test_protection_api import desk as desk
from tests.web.test_protection_api import world as world

from fukaiji.db import transaction
from fukaiji.network.institutions import get_institution
from fukaiji.notices import jobs
from fukaiji.portal.models import InboxMessage, PortalAccount
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole

API = "/api/v1"
NOTICES = f"{API}/notices"
HEADER = "団体内統合宛名番号"
TITLE = "給付金のお知らせ"
REVIEW = "要確認 (留意すべき対象者)"
MY_NUMBER = "123456789018"  # a valid 個人番号, typed into the wrong column


@pytest.fixture
def sender(make_staff) -> StaffLogin:
    return make_staff(
        "osaka_welfare", StaffRole.NOTICE_SENDER, institution_code="271004", department="福祉課"
    )


@pytest.fixture
def tax_sender(make_staff) -> StaffLogin:
    """A notice sender of another department of the same city."""
    return make_staff(
        "osaka_tax_sender", StaffRole.NOTICE_SENDER, institution_code="271004", department="税務課"
    )


@pytest.fixture
def outsider(make_staff) -> StaffLogin:
    return make_staff("chiyoda_welfare", StaffRole.NOTICE_SENDER, department="福祉課")


def csv_text(*numbers: str) -> str:
    rows = [
        f"{HEADER},氏名,住所",
        *(f"{number},大阪 太郎,大阪市北区梅田一丁目" for number in numbers),
    ]
    return "\r\n".join(rows) + "\r\n"


def new_notice(client: TestClient, headers: dict[str, str], **overrides: str) -> dict:
    body = {"title": TITLE, "body": "申請を受け付けています。", "category": "benefit"} | overrides
    response = client.post(NOTICES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def upload(
    client: TestClient, headers: dict[str, str], notice_id: str, data: bytes, **params: object
):
    return client.put(
        f"{NOTICES}/{notice_id}/destination",
        content=data,
        params=params,
        headers=headers | {"Content-Type": "text/csv"},
    )


def inbox_titles(engine: Engine, resident: Resident) -> list[str]:
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(InboxMessage.title)
                .join(PortalAccount, PortalAccount.id == InboxMessage.account_id)
                .where(PortalAccount.person_id == resident.id, PortalAccount.deleted_at.is_(None))
            )
        )


def protected_victim(
    client: TestClient, as_staff: AsStaff, desk: StaffLogin, world: PortalWorld
) -> tuple[Resident, str]:
    """花子, registered at the desk while 太郎 is still her proxy: a perpetrator path is open."""
    victim, perpetrator = world.resident(), world.resident("太郎")
    world.appoint(victim, perpetrator)  # also opens her folder
    world.enrol(victim, world.osaka)  # 大阪市 deals with her at the shelter (住登外者)
    world.session.commit()
    body = registration(
        victim, facts=facts(perpetrator_is_proxy=True, perpetrator_person_id=str(perpetrator.id))
    )
    view = register(client, as_staff(desk), body)
    assert (view["excluded"], view["usage_stop"]["complete"]) == (True, False)
    return victim, view["addressee_number"]


def neighbour(world: PortalWorld, name: str = "次郎") -> tuple[Resident, str]:
    """A resident of Osaka with a portal folder of their own."""
    resident = world.resident(name)
    world.login(resident.card_token)
    number = world.enrol(resident, world.osaka)
    world.session.commit()
    return resident, number


def test_an_unscreened_file_is_stopped_at_the_gate_for_the_protected_person_only(
    client: TestClient,
    as_staff: AsStaff,
    desk: StaffLogin,
    sender: StaffLogin,
    world: PortalWorld,
    engine: Engine,
) -> None:
    victim, victim_number = protected_victim(client, as_staff, desk, world)
    jiro, jiro_number = neighbour(world)
    headers = as_staff(sender)

    notice = new_notice(client, headers)
    assert (notice["department"], notice["category"], notice["category_label"]) == (
        "福祉課",
        "benefit",
        "給付",
    )
    not_started = client.get(f"{NOTICES}/{notice['id']}/delivery")
    assert not_started.status_code == 200
    assert (not_started.json()["state"], not_started.json()["total"]) == ("not_started", 0)

    data = csv_text(victim_number, jiro_number).encode()
    uploaded = upload(client, headers, notice["id"], data, filename="宛先.csv")
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {
        "rows": 2,
        "faults": 0,
        "encoding": "utf-8",
        "encoding_label": "UTF-8",
    }

    queued = client.post(f"{NOTICES}/{notice['id']}/send", headers=headers)
    assert queued.status_code == 202, queued.text
    assert (queued.json()["state"], queued.json()["total"]) == ("queued", 2)
    assert queued.json()["notice_id"] == notice["id"]
    assert jobs.work(engine, once=True) == 1

    delivery = client.get(f"{NOTICES}/{notice['id']}/delivery").json()
    assert {key: delivery[key] for key in ("state", "total", "done", "sent", "blocked")} == {
        "state": "done",
        "total": 2,
        "done": 2,
        "sent": 1,
        "blocked": 1,
    }
    assert (delivery["removed_by_screening"], delivery["no_account"]) == (0, 0)
    assert inbox_titles(engine, victim) == []
    assert inbox_titles(engine, jiro) == [TITLE]

    detail = client.get(f"{NOTICES}/{notice['id']}").json()
    assert detail["destination"]["filename"] == "宛先.csv"
    assert (detail["destination"]["rows"], detail["destination"]["bad_rows"]) == (2, 0)
    assert detail["screening"] is None
    assert detail["delivery"]["blocked"] == 1
    [summary] = client.get(NOTICES).json()
    assert (summary["destination_attached"], summary["screened"], summary["delivery_state"]) == (
        True,
        False,
        "done",
    )

    # Sending has started: the notice and its file can no longer change, nor be sent again.
    again = client.post(f"{NOTICES}/{notice['id']}/send", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    replaced = upload(client, headers, notice["id"], csv_text(jiro_number).encode())
    assert replaced.status_code == 409
    assert client.post(f"{NOTICES}/{notice['id']}/screening", headers=headers).status_code == 409
    assert client.get(f"{NOTICES}/{notice['id']}").json()["destination"]["rows"] == 2


def test_the_screening_report_shows_removed_rows_to_the_sending_department_only(
    client: TestClient,
    as_staff: AsStaff,
    desk: StaffLogin,
    sender: StaffLogin,
    tax_sender: StaffLogin,
    world: PortalWorld,
    engine: Engine,
) -> None:
    victim, victim_number = protected_victim(client, as_staff, desk, world)
    jiro, jiro_number = neighbour(world)
    headers = as_staff(sender)
    notice_id = new_notice(client, headers)["id"]
    data = csv_text(jiro_number, victim_number).encode()  # 花子 on row 3
    assert upload(client, headers, notice_id, data).status_code == 200

    screened = client.post(f"{NOTICES}/{notice_id}/screening", headers=headers)
    assert screened.status_code == 200, screened.text
    report = screened.json()
    assert (report["rows"], report["kept"], report["removed"]) == (2, 1, 1)
    assert (report["removed_rows"], report["reason"], report["screened"]) == ([3], REVIEW, True)
    assert client.get(f"{NOTICES}/{notice_id}/screening").json()["removed_rows"] == [3]
    assert client.get(f"{NOTICES}/{notice_id}").json()["screening"]["removed_rows"] == [3]

    tax_headers = as_staff(tax_sender)
    shown = client.get(f"{NOTICES}/{notice_id}/screening")
    assert shown.status_code == 200
    assert shown.json() | {"screened_at": None} == report | {
        "removed_rows": None,
        "screened_at": None,
    }
    detail = client.get(f"{NOTICES}/{notice_id}")
    assert detail.json()["screening"]["removed_rows"] is None
    for response in (screened, shown, detail):  # nothing beyond 要確認
        for secret in ("大阪府", "region", "facts", "proxy", "protection", "DV", victim_number):
            assert secret not in response.text, secret
    # Another department may read the notice but neither screen nor send it (audited).
    refused = client.post(f"{NOTICES}/{notice_id}/screening", headers=tax_headers)
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/not-sending-department"
    assert client.post(f"{NOTICES}/{notice_id}/send", headers=tax_headers).status_code == 403
    assert upload(client, tax_headers, notice_id, data).status_code == 403
    refusals = audit_entries(engine, "access.refused")
    assert [json.loads(entry.details)["reason"] for entry in refusals] == [
        "not_sending_department"
    ] * 3

    reads = audit_entries(engine, "notices.screening_read")
    assert [json.loads(entry.details)["rows_shown"] for entry in reads] == [
        True,
        True,
        False,
        False,
    ]

    headers = as_staff(sender)
    queued = client.post(f"{NOTICES}/{notice_id}/send", headers=headers)
    assert queued.json()["total"] == 1
    jobs.work(engine, once=True)
    delivery = client.get(f"{NOTICES}/{notice_id}/delivery").json()
    assert (delivery["sent"], delivery["blocked"], delivery["removed_by_screening"]) == (1, 0, 1)
    assert inbox_titles(engine, victim) == []
    assert inbox_titles(engine, jiro) == [TITLE]


@pytest.mark.parametrize(
    ("encode", "params", "expected"),
    [
        (lambda text: text.encode("utf-8-sig"), {}, ("utf-8-sig", "UTF-8 (BOM 付き)")),
        (lambda text: text.encode("cp932"), {}, ("cp932", "CP932 (Shift_JIS)")),
        (
            lambda text: text.encode("cp932"),
            {"encoding": "shift_jis"},
            ("cp932", "CP932 (Shift_JIS)"),
        ),
    ],
    ids=["utf-8-bom", "cp932-detected", "cp932-stated"],
)
def test_utf8_with_a_bom_and_cp932_files_with_japanese_columns_are_read(
    client: TestClient,
    as_staff: AsStaff,
    sender: StaffLogin,
    world: PortalWorld,
    encode,
    params: dict[str, str],
    expected: tuple[str, str],
) -> None:
    numbers = [neighbour(world, name)[1] for name in ("一郎", "髙子")]
    headers = as_staff(sender)
    notice_id = new_notice(client, headers)["id"]
    data = encode(csv_text(*numbers).replace("大阪 太郎", "髙橋 ①郎"))
    uploaded = upload(client, headers, notice_id, data, filename="宛先（福祉課）.csv", **params)
    assert uploaded.status_code == 200, uploaded.text
    assert (uploaded.json()["rows"], uploaded.json()["faults"]) == (2, 0)
    assert (uploaded.json()["encoding"], uploaded.json()["encoding_label"]) == expected
    destination = client.get(f"{NOTICES}/{notice_id}").json()["destination"]
    assert (destination["encoding"], destination["filename"]) == (expected[0], "宛先（福祉課）.csv")
    assert client.get(f"{NOTICES}/{notice_id}/destination/faults").json() == []


def test_bad_rows_are_listed_by_row_number_and_strict_mode_changes_nothing(
    client: TestClient, as_staff: AsStaff, sender: StaffLogin, world: PortalWorld
) -> None:
    first, second = (neighbour(world, name)[1] for name in ("一郎", "二郎"))
    headers = as_staff(sender)
    notice_id = new_notice(client, headers)["id"]
    lines = [
        f"{HEADER},氏名",
        f"{first},大阪 一郎",  # row 2
        "12345,大阪 三郎",  # row 3: not 15 digits
        "",  # row 4: blank, neither a row nor a fault
        f"{MY_NUMBER},大阪 四郎",  # row 5: a 12-digit number, never echoed
        f"{first},大阪 一郎",  # row 6: duplicate of row 2
        "000000000000001,大阪 五郎",  # row 7: not a number this city assigned
        f"{second},大阪 二郎",  # row 8
    ]
    data = ("\n".join(lines) + "\n").encode("cp932")
    uploaded = upload(client, headers, notice_id, data, filename="first.csv")
    assert uploaded.status_code == 200, uploaded.text
    assert (uploaded.json()["rows"], uploaded.json()["faults"]) == (2, 4)
    faults = client.get(f"{NOTICES}/{notice_id}/destination/faults")
    assert [fault["row_number"] for fault in faults.json()] == [3, 5, 6, 7]
    by_row = {fault["row_number"]: fault for fault in faults.json()}
    assert by_row[3]["value"] == "12345" and "15 桁ではありません" in by_row[3]["reason"]
    assert by_row[5]["value"] == "(12 桁の番号: 表示しません)"
    assert "2 行目と重複" in by_row[6]["reason"]
    assert "付番した宛名番号ではありません" in by_row[7]["reason"]
    before = client.get(f"{NOTICES}/{notice_id}").json()["destination"]
    assert (before["rows"], before["bad_rows"], before["filename"]) == (2, 4, "first.csv")

    strict = upload(client, headers, notice_id, data, filename="second.csv", strict=True)
    assert strict.status_code == 422
    assert strict.headers["content-type"] == "application/problem+json"
    errors = strict.json()["errors"]
    assert [error["field"] for error in errors] == [f"宛先ファイル.{n}" for n in (3, 5, 6, 7)]
    assert errors[1]["message"].startswith("5 行目 '(12 桁の番号: 表示しません)'")
    assert client.get(f"{NOTICES}/{notice_id}").json()["destination"] == before
    assert client.get(f"{NOTICES}/{notice_id}/destination/faults").json() == faults.json()
    for response in (uploaded, faults, strict):
        assert MY_NUMBER not in response.text

    good = upload(client, headers, notice_id, csv_text(second).encode(), strict=True)
    assert good.status_code == 200 and good.json()["faults"] == 0
    assert client.get(f"{NOTICES}/{notice_id}/destination/faults").json() == []


def test_whole_file_faults_and_bad_input_are_refused_naming_the_field(
    client: TestClient, as_staff: AsStaff, sender: StaffLogin
) -> None:
    headers = as_staff(sender)
    for body, field in [
        ({"category": "gossip"}, "body.category"),
        ({"title": "給付金\x00のお知らせ"}, "body.title"),
        ({"title": "給付金\u0085のお知らせ"}, "title"),  # a C1 control: refused by the service
        ({"body": "申請\x1bを"}, "body.body"),
        ({"title": "x" * 201}, "body.title"),
    ]:
        payload = {"title": TITLE, "body": "本文\n二行目", "category": "tax"} | body
        refused = client.post(NOTICES, json=payload, headers=headers)
        assert refused.status_code == 422, (body, refused.text)
        assert field in [error["field"] for error in refused.json()["errors"]], refused.text
    assert client.get(NOTICES).json() == []

    notice_id = new_notice(client, headers)["id"]
    no_file = client.post(f"{NOTICES}/{notice_id}/send", headers=headers)
    assert no_file.status_code == 422
    assert "宛先ファイルが添付されていません" in no_file.json()["detail"]
    assert client.post(f"{NOTICES}/{notice_id}/screening", headers=headers).status_code == 422
    assert upload(client, headers, notice_id, b"").status_code == 422
    no_column = upload(client, headers, notice_id, "氏名\n大阪 太郎\n".encode())
    assert no_column.status_code == 422
    assert no_column.json()["errors"][0]["field"] == HEADER
    wrong = upload(client, headers, notice_id, csv_text().encode(), encoding="utf-16")
    assert (wrong.status_code, wrong.json()["errors"][0]["field"]) == (422, "文字コード")
    assert upload(client, headers, notice_id, b"x", filename="a\nb").status_code == 422
    too_large = upload(client, headers, notice_id, b"0" * (16 * 1024 * 1024 + 1))
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"
    assert client.get(f"{NOTICES}/{notice_id}").json()["destination"] is None


def test_another_institution_is_told_not_found_as_for_an_unknown_id(
    client: TestClient,
    as_staff: AsStaff,
    sender: StaffLogin,
    outsider: StaffLogin,
    world: PortalWorld,
) -> None:
    _, number = neighbour(world)
    headers = as_staff(sender)
    notice_id = new_notice(client, headers)["id"]
    assert upload(client, headers, notice_id, csv_text(number).encode()).status_code == 200
    assert client.post(f"{NOTICES}/{notice_id}/screening", headers=headers).status_code == 200

    headers = as_staff(outsider)
    assert client.get(NOTICES).json() == []
    unknown_id = str(uuid.uuid4())
    calls = [
        ("GET", ""),
        ("GET", "/destination/faults"),
        ("GET", "/screening"),
        ("POST", "/screening"),
        ("POST", "/send"),
        ("GET", "/delivery"),
    ]
    for method, suffix in calls:
        foreign = client.request(method, f"{NOTICES}/{notice_id}{suffix}", headers=headers)
        unknown = client.request(method, f"{NOTICES}/{unknown_id}{suffix}", headers=headers)
        assert foreign.status_code == unknown.status_code == 404, (method, suffix)
        assert without_instance(foreign.json()) == without_instance(unknown.json())
    foreign = upload(client, headers, notice_id, csv_text(number).encode())
    unknown = upload(client, headers, unknown_id, csv_text(number).encode())
    assert foreign.status_code == unknown.status_code == 404
    assert without_instance(foreign.json()) == without_instance(unknown.json())

    headers = as_staff(sender)
    assert client.get(f"{NOTICES}/{notice_id}/delivery").json()["state"] == "not_started"


def test_only_a_notice_sender_of_a_department_writes_a_notice_and_refusals_are_audited(
    client: TestClient, as_staff: AsStaff, sender: StaffLogin, make_staff, engine: Engine
) -> None:
    business = make_staff(
        "osaka_tax", StaffRole.BUSINESS_DESK, institution_code="271004", department="税務課"
    )
    headers = as_staff(business)
    body = {"title": TITLE, "body": "本文", "category": "tax"}
    refused = client.post(NOTICES, json=body, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/role-missing"
    assert client.get(NOTICES).status_code == 403
    [first, second] = audit_entries(engine, "access.refused")
    assert (first.actor, first.subject) == (f"staff:{business.staff_id}", NOTICES)
    assert json.loads(first.details) == {"reason": "role_missing", "method": "POST"}
    assert json.loads(second.details)["method"] == "GET"

    with transaction(engine) as session:
        _, key = staff_service.create_api_key(
            session,
            institution_id=get_institution(session, "271004").id,
            name="送信システム",
            roles=[StaffRole.NOTICE_SENDER],
            actor="test",
        )
    bearer = {"Authorization": f"Bearer {key}"}
    client.cookies.clear()
    by_key = client.post(NOTICES, json=body, headers=bearer)
    assert by_key.status_code == 403
    assert "API キー" in by_key.json()["detail"]
    assert client.get(NOTICES, headers=bearer).json() == []
    assert json.loads(audit_entries(engine, "access.refused")[-1].details)["reason"] == (
        "no_department"
    )

    # A key may read a department's notice, never change or send it.
    notice_id = new_notice(client, as_staff(sender))["id"]
    client.cookies.clear()
    assert client.get(f"{NOTICES}/{notice_id}", headers=bearer).status_code == 200
    for suffix in ("/screening", "/send"):
        refused = client.post(f"{NOTICES}/{notice_id}{suffix}", headers=bearer)
        assert refused.status_code == 403
        assert refused.json()["type"] == "/problems/no-department"
    # A path that is no id is refused as such, before any refusal is audited under it.
    assert client.post(f"{NOTICES}/{'x' * 300}/send", headers=bearer).status_code == 422
    reasons = [
        json.loads(entry.details)["reason"] for entry in audit_entries(engine, "access.refused")
    ]
    assert reasons == [
        "role_missing",
        "role_missing",
        "no_department",
        "no_department",
        "no_department",
    ]
