"""事務担当 screens. 千代田区's 市民課 finds 花子 by its own addressee number, asks 横浜市 for her
地方税関係情報, registers a 副本 and reads the records; a refusal says why next to the field and
changes nothing. 大阪市's 税務課 sees that 花子, protected by its DV相談窓口, is to be watched —
nothing more; nobody reaches another institution's numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.portal.conftest import PortalWorld, build_portal_world
from tests.screens.conftest import log_in_on_screen
from tests.web.conftest import TEST_SETTINGS, StaffLogin

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.institutions import get_department
from fukaiji.protection import service
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.service import Requester
from fukaiji.staff.roles import StaffRole

Browser = Callable[[StaffLogin], tuple[TestClient, str]]
CHILD_ALLOWANCE_LOCAL_TAX = "1"  # 法令根拠表 項番 1: 市町村長 → 市町村長, 地方税関係情報
PENSION_FROM_JPNENKIN = "7"  # 項番 7: the provider must be 日本年金機構
LOCAL_TAX = "TM02000000000001"


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
def clerk(make_staff) -> StaffLogin:
    return make_staff("chiyoda_clerk", StaffRole.BUSINESS_DESK)


def audit_entries(engine: Engine, action: str) -> list[AuditEntry]:
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )


def main_of(html: str) -> str:
    """The page's own content, without the header that names the staff member's institution."""
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def record_count(html: str) -> int:
    return len(re.findall(r'<th scope="row" class="numeric">', html))


def test_a_clerk_finds_queries_registers_and_reads_the_records(
    browser: Browser, clerk: StaffLogin, world: PortalWorld, engine: Engine
) -> None:
    victim = world.resident()
    at_chiyoda = world.enrol(victim, world.chiyoda)
    at_yokohama = world.enrol(victim, world.yokohama)
    world.register(world.yokohama, at_yokohama)  # 横浜市 holds her 地方税関係情報
    my_number = world.my_number(victim)
    world.session.commit()
    client, csrf = browser(clerk)

    form = client.get("/staff/residents")
    assert form.status_code == 200 and '<label for="field-addressee_number">' in form.text
    found = client.get("/staff/residents", params={"addressee_number": f" {at_chiyoda} "})
    assert found.status_code == 303
    assert found.headers["location"] == f"/staff/residents/{at_chiyoda}"
    page = client.get(found.headers["location"])
    assert page.status_code == 200
    assert "山田 花子" in page.text and "東京都千代田区千代田一丁目1番1号" in page.text
    assert "留意すべき対象者" not in main_of(page.text) and my_number not in page.text
    assert "この機関が関わった情報提供等記録はありません" in page.text

    query = {
        "csrf_token": csrf,
        "legal_basis": CHILD_ALLOWANCE_LOCAL_TAX,
        "provider_code": "141003",
    }
    answered = client.post(f"/staff/residents/{at_chiyoda}/queries", data=query)
    assert answered.status_code == 200, answered.text
    assert "情報照会を行いました" in answered.text and "提供済み" in answered.text
    assert '<th scope="row">所得割額</th><td>123400</td>' in answered.text
    assert "<dt>照会側の不開示</dt><dd>開示</dd>" in answered.text
    hidden = client.post(
        f"/staff/residents/{at_chiyoda}/queries", data=query | {"query_undisclosed": "on"}
    )
    assert "<dt>照会側の不開示</dt><dd>不開示</dd>" in hidden.text
    assert record_count(hidden.text) == 2  # both in the records, newest first

    registered = client.post(
        f"/staff/residents/{at_chiyoda}/self-info",
        data={
            "csrf_token": csrf,
            "item_code": LOCAL_TAX,
            "content": '{"所得割額": 98000, "年度": 2026}',
            "publish_from": "2026-04-01",
            "self_info_undisclosed": "on",
        },
    )
    assert registered.status_code == 303
    page = client.get(registered.headers["location"])
    assert "副本（地方税関係情報）第 1 版を不開示として登録しました" in page.text
    assert "98000" in page.text
    assert {entry.actor for entry in audit_entries(engine, "registry.read")} == {
        f"staff:{clerk.staff_id}"
    }
    assert audit_entries(engine, "linkage.records_read")


def test_refused_input_is_shown_next_to_its_field_and_changes_nothing(
    browser: Browser, clerk: StaffLogin, world: PortalWorld, engine: Engine
) -> None:
    victim = world.resident()
    at_chiyoda = world.enrol(victim, world.chiyoda)
    at_yokohama = world.enrol(victim, world.yokohama)
    my_number = world.my_number(victim)
    world.session.commit()
    client, csrf = browser(clerk)
    person = f"/staff/residents/{at_chiyoda}"

    malformed = client.get("/staff/residents", params={"addressee_number": "12345"})
    assert malformed.status_code == 422 and 'id="error-addressee_number"' in malformed.text
    assert 'value="12345"' in malformed.text
    elsewhere = client.get("/staff/residents", params={"addressee_number": at_yokohama})
    assert elsewhere.status_code == 404 and 'id="error-addressee_number"' in elsewhere.text

    query = {"csrf_token": csrf, "legal_basis": PENSION_FROM_JPNENKIN, "provider_code": "141003"}
    refused = client.post(f"{person}/queries", data=query)
    assert refused.status_code == 403
    assert 'id="error-legal_basis"' in refused.text and "照会は許可されていません" in refused.text
    assert 'value="141003"' in refused.text
    assert len(audit_entries(engine, "linkage.query_refused")) == 1  # the refusal is kept
    nowhere = client.post(f"{person}/queries", data=query | {"provider_code": "999999"})
    assert nowhere.status_code == 404 and 'id="error-provider_code"' in nowhere.text
    unchosen = client.post(f"{person}/queries", data=query | {"legal_basis": ""})
    assert unchosen.status_code == 422 and 'id="error-legal_basis"' in unchosen.text

    item = {"csrf_token": csrf, "item_code": LOCAL_TAX, "publish_from": "2026-04-01"}
    for content, field in (
        ('{"所得割額": ', "content"),
        ("[1, 2]", "content"),
        (json.dumps({"番号": my_number}), "content"),
    ):
        bad = client.post(f"{person}/self-info", data=item | {"content": content})
        assert bad.status_code == 422 and f'id="error-{field}"' in bad.text
        assert my_number not in bad.text  # a 個人番号 typed by mistake is not shown again
    backwards = client.post(
        f"{person}/self-info",
        data=item | {"content": '{"a": 1}', "publish_until": "2026-03-31"},
    )
    assert backwards.status_code == 422 and 'id="error-publish_until"' in backwards.text
    assert "&#34;a&#34;: 1" in backwards.text  # what was typed stays (escaped)

    page = client.get(person).text
    assert record_count(page) == 0 and "この機関が登録した副本はありません" in page
    assert audit_entries(engine, "linkage.query") == []
    assert audit_entries(engine, "intermediate.self_info_registered") == []


def test_another_department_sees_only_the_flag_and_no_one_reaches_another_institution(
    browser: Browser, make_staff, world: PortalWorld, engine: Engine
) -> None:
    victim = world.resident()
    at_osaka = world.enrol(victim, world.osaka)
    desk = get_department(world.session, institution_code="271004", name="DV相談窓口")
    service.register_protection(
        world.session,
        institution=world.osaka,
        department_id=desk.id,
        person_id=victim.id,
        facts=CaseFacts(True, True, False, False),
        region_codes=["271004"],
        requester=Requester.checked("person", None, None),
        fled_on=None,
        network_key=world.network_key,
        actor="staff:osaka-desk",
    )
    world.session.commit()

    tax = make_staff(
        "osaka_tax", StaffRole.BUSINESS_DESK, institution_code="271004", department="税務課"
    )
    client, csrf = browser(tax)
    page = client.get(f"/staff/residents/{at_osaka}")
    assert page.status_code == 200
    assert "<strong>留意すべき対象者</strong>" in page.text
    shown = main_of(page.text)
    for secret in ("大阪府", "保護地域", "ケース", "カードを置いた", "加害者", "相談窓口の登録"):
        assert secret not in shown, secret
    [read] = audit_entries(engine, "protection.watch_read")
    assert (read.actor, read.subject) == (f"staff:{tax.staff_id}", f"addressee:271004:{at_osaka}")

    chiyoda = make_staff("chiyoda_clerk", StaffRole.BUSINESS_DESK)
    chiyoda_client, chiyoda_csrf = browser(chiyoda)
    assert chiyoda_client.get(f"/staff/residents/{at_osaka}").status_code == 404
    query = {"csrf_token": chiyoda_csrf, "legal_basis": "1", "provider_code": "271004"}
    assert (
        chiyoda_client.post(f"/staff/residents/{at_osaka}/queries", data=query).status_code == 404
    )
    assert audit_entries(engine, "linkage.query") == []

    soudan = make_staff("chiyoda_soudan", StaffRole.CONSULTATION_DESK, department="DV相談窓口")
    soudan_client, _ = browser(soudan)
    denied = soudan_client.get("/staff/residents")
    assert denied.status_code == 403 and "<h1>" in denied.text
    forged = client.post(
        f"/staff/residents/{at_osaka}/self-info",
        data={"csrf_token": "forged", "item_code": LOCAL_TAX, "content": "{}"},
    )
    assert forged.status_code == 403
    assert csrf != "forged"
