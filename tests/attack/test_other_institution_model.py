"""A Hypothesis state machine playing the second attacker of issue 14: the staff of another
institution, by API key and by session, trying every way it has to learn where 花子 went.

花子 lives in 千代田区 on paper and fled to a shelter in 大阪市, whose desk protects her (region:
大阪市, so 大阪府). The attackers are 千代田区 (her old home: she is still its resident, a
colluding clerk there is the likeliest threat) and 札幌市 (a stranger), each with an API key holding
every role and a logged-in staff member of its DV相談窓口 holding every role. Each step is one
request an attacker may really send: look her up, record a 転入, give her an addressee number,
register a protection with a region of its choice, change the region, read the exposure check,
query a provider (or let the network route it), read records, ask whether she is to be watched,
read its desk's list and messages. After every step:

* no response body or header carries a marker of the region (its names, kana readings, romaji,
  codes), unless the attacker typed it itself;
* no successful response carries 大阪市's protection (its id) or says that someone else
  protects her;
* every refused request (403, 404, 409) left an audit entry.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import date

import pyotp
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.portal.conftest import build_portal_world
from tests.web.conftest import TEST_SETTINGS, login

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.institutions import get_institution
from fukaiji.protection import service
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.service import Requester
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole
from fukaiji.staff.totp import TOTP_KEY_PURPOSE
from fukaiji.web import create_app
from fukaiji.web.api import API_PREFIX as API
from fukaiji.web.deps import SESSION_COOKIE

ATTACKERS = ("131016", "011002")  # 千代田区 (her old home), 札幌市 (a stranger)
REGION_MARKERS = (
    "大阪",
    "オオサカ",
    "ｵｵｻｶ",
    "おおさか",
    "Osaka",
    "osaka",
    "270008",
    "271004",
    "27000",
    "27100",
)
# Regions an attacker may type: everywhere but the shelter's prefecture (typing 大阪 would
# legitimately echo it back), her old home's prefecture included.
REGIONS = (["130001"], ["010006"], ["011002"], ["280003"], ["130001", "010006"], ["400009"])
PROVIDERS = ("141003", "271004", "011002", "131016", None)
CHILD_ALLOWANCE = "JM01000000000010"
ITEMS = ("TM02000000000001", "TM01000000000001")  # 地方税関係情報, 住民票関係情報
REFUSALS = (403, 404, 409)


class Credential:
    """An attacker's way in: an API key, or a staff session with its CSRF token."""

    def __init__(self, code: str, headers: dict[str, str], cookies: dict[str, str]) -> None:
        self.code = code
        self.headers = headers
        self.cookies = cookies

    def __repr__(self) -> str:
        kind = "session" if self.cookies else "key"
        return f"{self.code}:{kind}"


def build_world(engine: Engine) -> tuple[str, str]:
    """花子 protected at 大阪市; returns her 個人番号 and 大阪市's protection id."""
    with Session(engine, expire_on_commit=False) as session:
        world = build_portal_world(session)
        world.network_key = TEST_SETTINGS.derive_key(NETWORK_KEY_PURPOSE)
        hanako = world.resident()
        world.fled_to_osaka(hanako, flagged=False)
        desk = get_department_id(session, "271004", "DV相談窓口")
        protection = service.register_protection(
            session,
            institution=world.osaka,
            department_id=desk,
            person_id=hanako.id,
            facts=CaseFacts(True, True, False, False),
            region_codes=["271004"],
            requester=Requester.checked("person", None, None),
            fled_on=None,
            network_key=world.network_key,
            actor="staff:osaka-desk",
        )
        number = world.my_number(hanako)
        session.commit()
        return number, str(protection.id)


def get_department_id(session: Session, code: str, name: str) -> int:
    institution = get_institution(session, code)
    return next(d.id for d in institution.departments if d.name == name)


def credentials(client: TestClient, engine: Engine) -> list[Credential]:
    found: list[Credential] = []
    for code in ATTACKERS:
        with transaction(engine) as session:
            institution = get_institution(session, code)
            _, key = staff_service.create_api_key(
                session,
                institution_id=institution.id,
                name=f"attacker {code}",
                roles=list(StaffRole),
                actor="test",
            )
            staff, secret = staff_service.create_staff(
                session,
                institution_id=institution.id,
                department_id=get_department_id(session, code, "DV相談窓口"),
                username=f"attacker{code}",
                display_name="攻撃者 職員",
                password="correct horse battery staple",
                roles=list(StaffRole),
                totp_key=TEST_SETTINGS.derive_key(TOTP_KEY_PURPOSE),
                actor="test",
            )
        found.append(Credential(code, {"Authorization": f"Bearer {key}"}, {}))
        own = TestClient(client.app)
        csrf = login(own, _Login(staff.username, secret))
        found.append(Credential(code, {"X-CSRF-Token": csrf}, dict(own.cookies)))
        assert SESSION_COOKIE in found[-1].cookies
        own.close()
    return found


class _Login:
    """What ``login`` needs of a staff member."""

    def __init__(self, username: str, secret: str) -> None:
        self.username = username
        self.password = "correct horse battery staple"
        self._totp = pyotp.TOTP(secret)

    def code(self) -> str:
        return self._totp.now()


def audit_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def without_named(answer: object) -> object:
    """A query's answer less the provider the attacker named and what it returned."""
    if not isinstance(answer, dict) or "provider" not in answer:
        return answer
    return {key: value for key, value in answer.items() if key not in ("provider", "content")}


def attacker_machine(engine: Engine) -> type[RuleBasedStateMachine]:
    her_number, osaka_protection = build_world(engine)
    client = TestClient(create_app(TEST_SETTINGS, engine))
    attackers = credentials(client, engine)

    class OtherInstitution(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # The database outlives an example: what each attacker already holds is read back.
            self.addressee: dict[str, str] = {}
            self.protection: dict[str, str] = {}
            for who in attackers[1::2]:
                client.cookies.clear()
                client.cookies.update(who.cookies)
                listed = client.get(f"{API}/protections").json()
                if listed:
                    self.protection[who.code] = listed[0]["id"]

        def send(
            self,
            who: Credential,
            method: str,
            path: str,
            body: dict | None = None,
            chosen: Callable[[object], object] = lambda answer: answer,
        ) -> dict:
            """One request and the checks on its answer. ``chosen`` removes from the answer
            what the attacker chose itself (a provider it named, and the data that provider
            legitimately returned) before the answer is searched for markers."""
            before = audit_count(engine)
            client.cookies.clear()
            client.cookies.update(who.cookies)
            response = client.request(method, f"{API}{path}", json=body, headers=who.headers)
            text = json.dumps(chosen(response.json()), ensure_ascii=False) if response.text else ""
            asked = json.dumps(body or {}, ensure_ascii=False) + path
            leaked = [m for m in REGION_MARKERS if m in text and m not in asked]
            headers = json.dumps(dict(response.headers), ensure_ascii=False)
            leaked += [m for m in REGION_MARKERS if m in headers]
            assert not leaked, f"{method} {path} → {response.status_code}: {leaked} in {text}"
            if response.is_success:
                assert osaka_protection not in text, f"{method} {path}: {text}"
            if response.status_code in REFUSALS:
                assert audit_count(engine) > before, f"refused without a trace: {method} {path}"
            assert response.status_code < 500, text
            return {"status": response.status_code, "body": response.json() if text else None}

        @rule(who=st.sampled_from(attackers))
        def look_her_up(self, who: Credential) -> None:
            self.send(
                who, "POST", f"/institutions/{who.code}/residents/lookup", {"my_number": her_number}
            )

        @rule(who=st.sampled_from(attackers), day=st.integers(-40, 40))
        def record_a_move_in(self, who: Credential, day: int) -> None:
            moved_on = date.fromordinal(date.today().toordinal() + day).isoformat()
            answer = self.send(
                who,
                "POST",
                f"/institutions/{who.code}/residents/move-in",
                {"my_number": her_number, "address_line": "一丁目1番1号", "moved_on": moved_on},
            )
            assert answer["status"] >= 400, "a 転入 without her 転出 went through"

        @rule(who=st.sampled_from(attackers))
        def give_her_an_addressee_number(self, who: Credential) -> None:
            answer = self.send(
                who, "POST", f"/institutions/{who.code}/addressees", {"my_number": her_number}
            )
            if answer["status"] in (200, 201):
                self.addressee[who.code] = answer["body"]["addressee_number"]

        @rule(who=st.sampled_from(attackers), region=st.sampled_from(REGIONS))
        def register_her(self, who: Credential, region: list[str]) -> None:
            answer = self.send(
                who,
                "POST",
                "/protections",
                {
                    "my_number": her_number,
                    "facts": {
                        "own_procedures": False,
                        "card_left_behind": True,
                        "perpetrator_is_proxy": False,
                        "perpetrator_is_legal_representative": False,
                    },
                    "region_codes": region,
                    "requested_by": "person",
                },
            )
            if answer["status"] == 201:
                self.protection[who.code] = answer["body"]["id"]

        @rule(who=st.sampled_from(attackers), region=st.sampled_from(REGIONS))
        def probe_a_region(self, who: Credential, region: list[str]) -> None:
            protection = self.protection.get(who.code)
            if protection is None or not who.cookies:
                return
            self.send(who, "PATCH", f"/protections/{protection}", {"region_codes": region})
            self.send(who, "GET", f"/protections/{protection}/exposure")

        @rule(
            who=st.sampled_from(attackers),
            provider=st.sampled_from(PROVIDERS),
            item=st.sampled_from(ITEMS),
        )
        def query_about_her(self, who: Credential, provider: str | None, item: str) -> None:
            addressee = self.addressee.get(who.code)
            if addressee is None:
                return
            body = {
                "addressee_number": addressee,
                "affair_code": CHILD_ALLOWANCE,
                "item_code": item,
            }
            if provider is None:
                self.send(who, "POST", f"/institutions/{who.code}/queries", body)
                return
            body["provider_code"] = provider
            self.send(who, "POST", f"/institutions/{who.code}/queries", body, without_named)

        @rule(who=st.sampled_from(attackers))
        def read_her_records(self, who: Credential) -> None:
            addressee = self.addressee.get(who.code)
            if addressee is not None:
                self.send(
                    who,
                    "GET",
                    f"/institutions/{who.code}/addressees/{addressee}/records",
                    chosen=lambda records: [
                        r for r in records if r["side"] == "provider" or r["provider"] is None
                    ],
                )

        @rule(who=st.sampled_from(attackers))
        def ask_whether_she_is_watched(self, who: Credential) -> None:
            addressee = self.addressee.get(who.code)
            if addressee is not None:
                answer = self.send(who, "GET", f"/institutions/{who.code}/watch/{addressee}")
                # Watched only if this institution itself protects her: 大阪市's protection
                # must not show through.
                if answer["status"] == 200:
                    assert answer["body"]["to_be_watched"] is (who.code in self.protection)

        @rule(who=st.sampled_from(attackers))
        def read_the_desk(self, who: Credential) -> None:
            self.send(who, "GET", "/protections")
            self.send(who, "GET", "/protections/messages")

        @rule(who=st.sampled_from(attackers))
        def open_osakas_protection(self, who: Credential) -> None:
            answer = self.send(who, "GET", f"/protections/{osaka_protection}")
            assert answer["status"] in (401, 403, 404)
            answer = self.send(who, "GET", f"/protections/{uuid.uuid4()}")
            assert answer["status"] in (401, 403, 404)

        @invariant()
        def sessions_stay_alive(self) -> None:
            # A 401 would mean the rules stopped exercising the routes.
            for who in attackers[1::2]:
                client.cookies.clear()
                client.cookies.update(who.cookies)
                me = client.get(f"{API}/auth/me")
                assert me.status_code == 200

    return OtherInstitution


@pytest.fixture
def machine(engine: Engine) -> Iterator[type[RuleBasedStateMachine]]:
    yield attacker_machine(engine)


def test_another_institution_learns_nothing_of_where_she_went(
    machine: type[RuleBasedStateMachine],
) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
