"""Schemathesis over the whole OpenAPI spec: as staff of each role, as a resident on the portal,
and never with another institution's data in an answer.

The world: 千代田区 (131016), whose staff and resident do the asking, and 大阪市 (271004), whose
residents, 宛名番号, 副本, linkage record (with 横浜市, 141003), protection, notice, consent,
paper ledger, staff member, API key, proxy grant and invitation must stay out of 千代田区's sight.
Path parameters are now and then replaced by the ids of either side's objects, so that a route
with broken authorisation would really reach 大阪市's data rather than a random "not found".

Checks on every answer:

* no 5xx, and status code, content type and body as the published schema says;
* no marker of 大阪市's data in the body (see ``assert_no_foreign_data``);
* no 2xx for a request naming 大阪市's objects (its code, or one of its ids);
* staff credentials never open a resident route, a resident's cookie never opens a staff route.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import unquote

import pytest
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
from sqlalchemy import Engine
from tests.conftest import examples_on
from tests.portal.conftest import PortalWorld, Resident
from tests.protection.conftest import Desk, _viewer
from tests.web.conftest import TEST_SETTINGS, login
from tests.web.test_portal_api import card_login
from tests.web.test_portal_api import world as world

from fukaiji.jpki import service as jpki
from fukaiji.network.institutions import get_institution
from fukaiji.notices import jobs
from fukaiji.notices import service as notices
from fukaiji.portal import proxies
from fukaiji.portal.public_ids import IdKind, public_id
from fukaiji.protection import consent, ledger
from fukaiji.protection.service import Viewer
from fukaiji.registry import service as registry
from fukaiji.registry.service import MY_NUMBER_KEY_PURPOSE
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole
from fukaiji.web import create_app
from fukaiji.web.api import API_PREFIX
from fukaiji.web.api import portal as portal_api
from fukaiji.web.deps import SESSION_COOKIE
from fukaiji.web.portal_deps import PORTAL_COOKIE

# Schemathesis gives up on a request after 10 s; CI shares two cores, so a slow answer is
# waited for, never failed on (no test depends on how fast the machine is).
NO_CLOCK = 600

# Examples per operation: 85 operations in all, 21 of them the resident's (/api/v1/portal).
EXAMPLES_PER_OPERATION_PER_ROLE = 10  # × 5 roles (15 until the suite neared 40 minutes in CI)
EXAMPLES_PER_PORTAL_OPERATION = 50  # as the logged-in resident
EXAMPLES_PER_STAFF_OPERATION_WITH_PORTAL_COOKIE = 5  # each must answer 401

OWN = "131016"  # 千代田区: the asking side
OTHER = "271004"  # 大阪市: the data that must never reach 千代田区
THIRD = "141003"  # 横浜市: 大阪市's partner in a linkage record 千代田区 has no part in
# `code` path parameter: the key's own institution (twice as often: only there do the ids of the
# other parameters reach a route's own logic), other ones, and None to keep the generated value.
INSTITUTION_CODES = [OWN, OWN, OTHER, THIRD, None]

PORTAL = f"{API_PREFIX}{portal_api.PREFIX}"
PUBLIC = {"/healthz", f"{API_PREFIX}/auth/login", f"{PORTAL}/login/challenge", f"{PORTAL}/login"}
# The one route naming an institution that any authenticated caller may read: the directory.
DIRECTORY = ("GET", f"{API_PREFIX}/institutions/{{code}}")
WATCH = ("GET", f"{API_PREFIX}/institutions/{{code}}/watch/{{number}}")
SIGN_PIN = "OSAKA48HITOKU"  # the 署名用 PIN of 大阪市's cards (never used)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class FuzzWorld:
    portal: PortalWorld
    resident: Resident  # 山田 花子 of 千代田区: a card, a folder with records, a proxy, a notice
    # Path parameter (or, for `account_id`, body field) → values naming objects of each side.
    own: dict[str, list[str]] = field(default_factory=dict)
    foreign: dict[str, list[str]] = field(default_factory=dict)
    # 大阪市's data that no answer to 千代田区 may ever hold: names, texts. Chosen so that no
    # random or legitimate text contains them; never in a request, since nothing sends them.
    secrets: list[str] = field(default_factory=list)
    # 大阪市's identifiers (UUIDs, 宛名番号, 個人番号, 住民票コード, key prefix): an answer may
    # hold one only if the request carried it (the problem's `instance` echoes the path, some
    # details echo the value asked about), which tells the caller nothing it did not know.
    # Deliberately not markers: institution codes and names, department names (a public
    # directory every caller may read) and small integer ids (they occur everywhere).
    foreign_ids: list[str] = field(default_factory=list)
    # 逃子: 千代田区's resident on paper, who fled to 大阪市 and is protected there. 千代田区 may
    # see her (name, numbers), but an answer about her must carry nothing of the region or of
    # the protection (issue 14): her identifiers, and the markers that must not go with them.
    fled_ids: list[str] = field(default_factory=list)

    def add(self, side: dict[str, list[str]], name: str, value: object) -> None:
        side.setdefault(name, []).append(str(value))

    def candidates(self, name: str) -> list[str | None]:
        """The values a parameter may take; None keeps schemathesis' own."""
        return [*self.own.get(name, []), *self.foreign.get(name, []), None]


def other_resident(world: PortalWorld, given: str, given_kana: str) -> Resident:
    """A resident of 大阪市 only, with a card: 千代田区 never dealt with them."""
    person = registry.register_resident(
        world.session,
        municipality_code=OTHER,
        family_name="秘匿院",
        given_name=given,
        family_name_kana="ヒトクイン",
        given_name_kana=given_kana,
        birth_date=date(1985, 7, 7),
        address_line="北区秘匿町九丁目9番9号",
        moved_in_on=date(2019, 4, 1),
        my_number_key=TEST_SETTINGS.derive_key(MY_NUMBER_KEY_PURPOSE),
        actor="test:osaka-desk",
    )
    issued = jpki.issue_card(
        world.session,
        person_id=person.id,
        auth_pin=world.auth_pin,
        sign_pin=SIGN_PIN,
        ca_key=world.ca_key,
        actor="test:osaka-window",
    )
    world.session.commit()
    return Resident(person, issued.card_token)


def send_notice(
    world: PortalWorld, engine: Engine, sender: Viewer, title: str, body: str, *numbers: str
) -> uuid.UUID:
    """A notice written, screened and sent to ``numbers`` by ``sender``'s department."""
    notice = notices.create_notice(
        world.session, sender=sender, title=title, body=body, category="benefit"
    )
    rows = "".join(f"{number},宛名 様\n" for number in numbers)
    notices.attach_destination(
        world.session,
        notice=notice,
        sender=sender,
        data=f"団体内統合宛名番号,氏名\n{rows}".encode(),
        filename="宛先.csv",
    )
    notices.screen(world.session, notice=notice, sender=sender)
    jobs.start_sending(world.session, notice=notice, sender=sender)
    world.session.commit()
    jobs.work(engine, once=True, batch_size=10)
    return notice.id


@pytest.fixture
def fuzz_world(world: PortalWorld, make_staff, engine: Engine) -> FuzzWorld:
    own, other = world.chiyoda, world.osaka

    # ---- 千代田区: what its staff and its resident may see -----------------------------------
    hanako, jiro = world.resident("花子"), world.resident("次郎")
    fuzz = FuzzWorld(world, hanako)
    number = world.enrol(hanako, own)
    world.enrol(hanako, world.yokohama)
    item = world.register(own, number)
    record = world.query(own, number, world.yokohama).record_id
    grant = world.appoint(hanako, jiro)
    world.session.commit()
    chiyoda_sender = _viewer(world, OWN, "福祉課", "staff:chiyoda-welfare")
    notice = send_notice(world, engine, chiyoda_sender, "千代田区のお知らせ", "本文", number)
    given = consent.record_consent(
        world.session,
        institution=own,
        addressee_number=number,
        given_on=date(2026, 4, 1),
        channel="window",
        actor="test",
        category="benefit",
    )
    world.session.commit()
    clerk = make_staff("chiyoda_clerk", StaffRole.BUSINESS_DESK)
    for name, value in [
        ("person_id", hanako.id),
        ("number", number),
        ("item_id", item),
        ("record_id", record),
        ("grant_id", grant.id),
        ("grant_id", public_id(IdKind.GRANT, grant.id)),  # as the portal names it
        ("notice_id", notice),
        ("consent_id", given.id),
        ("staff_id", clerk.staff_id),
    ]:
        fuzz.add(fuzz.own, name, value)

    # ---- 大阪市: what 千代田区 must never see ------------------------------------------------
    hidden = other_resident(world, "秘匿太郎", "ヒトクタロウ")
    partner = other_resident(world, "秘匿花子", "ヒトクハナコ")
    hidden_number = world.enrol(hidden, other)
    hidden_yokohama = world.enrol(hidden, world.yokohama)
    partner_number = world.enrol(partner, other)
    hidden_item = world.register(other, hidden_number, 秘匿メモ="大阪市の副本ZQX")
    hidden_record = world.query(other, hidden_number, world.yokohama).record_id
    hidden_grant = world.appoint(hidden, partner)  # opens both folders
    invitation = proxies.create_invitation(
        world.session, world.login(hidden.card_token).portal_session
    ).invitation
    partner_account = world.login(partner.card_token).account.id
    world.session.commit()
    desk = Desk(
        world,
        desk=_viewer(world, OTHER, "DV相談窓口", "staff:osaka-desk"),
        tax=_viewer(world, OTHER, "税務課", "staff:osaka-tax"),
        outsider=_viewer(world, OWN, "DV相談窓口", "staff:chiyoda-desk"),
    )
    protection = desk.register(hidden, perpetrator=partner)
    osaka_sender = _viewer(world, OTHER, "福祉課", "staff:osaka-welfare")
    title, text = "大阪市のお知らせZQX", "大阪市だけの本文ZQX"
    hidden_notice = send_notice(world, engine, osaka_sender, title, text, partner_number)
    hidden_consent = consent.record_consent(
        world.session,
        institution=other,
        addressee_number=partner_number,
        given_on=date(2026, 4, 1),
        channel="phone",
        actor="test",
        category="benefit",
        note="大阪市の同意メモZQX",
    )
    ledger.import_ledger(
        world.session,
        institution=other,
        data=f"団体内統合宛名番号\n{partner_number}\n".encode(),
        filename="紙台帳.csv",
        actor="test",
    )
    world.session.commit()
    osaka_staff = make_staff(
        "osaka_hitoku", StaffRole.NOTICE_SENDER, institution_code=OTHER, department="福祉課"
    )
    key, _ = staff_service.create_api_key(
        world.session,
        institution_id=other.id,
        name="大阪市の鍵ZQX",
        roles=list(StaffRole),
        actor="test",
    )
    world.session.commit()
    for name, value in [
        ("person_id", hidden.id),
        ("person_id", partner.id),
        ("number", hidden_number),
        ("number", partner_number),
        ("item_id", hidden_item),
        ("record_id", hidden_record),
        ("grant_id", hidden_grant.id),
        ("grant_id", public_id(IdKind.GRANT, hidden_grant.id)),
        ("invitation_id", public_id(IdKind.INVITATION, invitation.id)),
        ("account_id", public_id(IdKind.ACCOUNT, hidden_grant.account_id)),
        ("account_id", public_id(IdKind.ACCOUNT, partner_account)),
        ("protection_id", protection.id),
        ("notice_id", hidden_notice),
        ("consent_id", hidden_consent.id),
        ("staff_id", osaka_staff.staff_id),
        ("api_key_id", key.id),
    ]:
        fuzz.add(fuzz.foreign, name, value)
    fuzz.secrets = [
        "秘匿院",
        "秘匿太郎",
        "秘匿花子",
        "ヒトクイン",
        "ヒトクタロウ",
        "ヒトクハナコ",
        "秘匿町",
        "大阪市の副本ZQX",
        title,
        text,
        "大阪市の同意メモZQX",
        "osaka_hitoku",
        "大阪市の鍵ZQX",
    ]
    fuzz.foreign_ids = [
        *(str(resident.id) for resident in (hidden, partner)),
        *(resident.person.resident_record_code for resident in (hidden, partner)),
        *(world.my_number(resident) for resident in (hidden, partner)),
        hidden_number,
        hidden_yokohama,
        partner_number,
        str(protection.id),
        str(hidden_notice),
        key.prefix,
    ]
    add_fled_person(world, fuzz)
    world.session.commit()  # on SQLite, even a read holds the lock until it ends
    return fuzz


# The protected region (大阪市, so all of 大阪府) as a text may name it, and the protection.
REGION_MARKERS = ("大阪", "オオサカ", "ｵｵｻｶ", "おおさか", "osaka", "Osaka", "270008", "271004")
PROTECTION_MARKERS = ("保護", "不開示", "DV", "加害者", "避難")


def add_fled_person(world: PortalWorld, fuzz: FuzzWorld) -> None:
    """逃子 lived in 千代田区 and still does on paper; at the shelter 大阪市 deals with her, asked
    千代田区 for her 地方税関係情報, registered her protection and flagged her."""
    fled = world.resident("逃子", "鈴木")
    at_chiyoda = world.enrol(fled, world.chiyoda)
    at_osaka = world.enrol(fled, world.osaka)
    world.register(world.chiyoda, at_chiyoda)
    world.query(world.osaka, at_osaka, world.chiyoda)
    world.session.commit()
    desk = Desk(
        world,
        desk=_viewer(world, OTHER, "DV相談窓口", "staff:osaka-desk"),
        tax=_viewer(world, OTHER, "税務課", "staff:osaka-tax"),
        outsider=_viewer(world, OWN, "DV相談窓口", "staff:chiyoda-desk"),
    )
    protection = desk.register(fled, card_left_behind=True)
    world.flag(world.osaka, at_osaka)
    world.session.commit()
    fuzz.add(fuzz.own, "person_id", fled.id)
    fuzz.add(fuzz.own, "number", at_chiyoda)
    fuzz.add(fuzz.foreign, "protection_id", protection.id)
    fuzz.add(fuzz.foreign, "number", at_osaka)
    fuzz.foreign_ids += [str(protection.id), at_osaka]
    fuzz.fled_ids = [str(fled.id), at_chiyoda, world.my_number(fled)]


def assert_nothing_of_her_shelter(
    fuzz: FuzzWorld, case: schemathesis.Case, response: schemathesis.Response
) -> None:
    """An answer that concerns 逃子 (asked about her, or naming her) carries no marker of the
    region and, when it succeeds, none of the protection. The directory of institutions is
    public and names every place, so it is left out."""
    if (case.method.upper(), case.path) == DIRECTORY:
        return
    text, asked = body_text(response.content), request_text(response)
    if not any(marker in text or marker in asked for marker in fuzz.fled_ids):
        return
    markers = list(REGION_MARKERS)
    if 200 <= response.status_code < 300:
        markers += PROTECTION_MARKERS
    leaked = [marker for marker in markers if marker in text and marker not in asked]
    headers = json.dumps(dict(response.headers), ensure_ascii=False)
    leaked += [marker for marker in REGION_MARKERS if marker in headers]
    assert not leaked, f"the shelter or her protection {leaked}: {describe(case, response)}"


def body_text(content: bytes) -> str:
    """The body as text; JSON re-serialised so that no \\u escape hides a marker."""
    try:
        return json.dumps(json.loads(content), ensure_ascii=False)
    except ValueError:
        return content.decode("utf-8", errors="replace")


def request_text(response: schemathesis.Response) -> str:
    sent = response.request.body or b""
    return unquote(response.request.url) + body_text(
        sent if isinstance(sent, bytes) else sent.encode()
    )


def describe(case: schemathesis.Case, response: schemathesis.Response) -> str:
    return (
        f"{case.method.upper()} {unquote(response.request.url)} → {response.status_code}\n"
        f"{response.content[:2000].decode('utf-8', errors='replace')}"
    )


def assert_no_foreign_data(
    fuzz: FuzzWorld, case: schemathesis.Case, response: schemathesis.Response
) -> None:
    """No answer, whatever its status, holds 大阪市's data; its identifiers only if asked about."""
    assert response.content_size == len(response.content), "body kept only in part"
    text = body_text(response.content)
    leaked = [marker for marker in fuzz.secrets if marker in text]
    asked = request_text(response)
    leaked += [m for m in fuzz.foreign_ids if m in text and m not in asked]
    assert not leaked, f"another institution's data {leaked}: {describe(case, response)}"


def assert_not_reached(
    fuzz: FuzzWorld, case: schemathesis.Case, response: schemathesis.Response
) -> None:
    """A request naming 大阪市 (or one of its objects) never succeeds for 千代田区's callers."""
    if not 200 <= response.status_code < 300:
        return
    named = dict(case.path_parameters or {})
    if isinstance(case.body, dict) and "account_id" in case.body:
        named["account_id"] = case.body["account_id"]
    route = (case.method.upper(), case.path)
    for name, value in named.items():
        if name == "code":
            foreign = str(value) != OWN and route != DIRECTORY
        else:
            foreign = str(value) in fuzz.foreign.get(name, [])
        if foreign and route == WATCH and name == "number":
            # Any well-formed 宛名番号 may be asked about: "not to be watched" is the answer for
            # one this institution never gave, so it must be the answer for 大阪市's.
            foreign = response.json()["to_be_watched"]
        assert not foreign, f"{name}={value} reached: {describe(case, response)}"


def substitute(fuzz: FuzzWorld, case: schemathesis.Case, data: st.DataObject) -> None:
    for name in list(case.path_parameters or {}):
        choices = INSTITUTION_CODES if name == "code" else fuzz.candidates(name)
        chosen = data.draw(st.sampled_from(choices), label=name)
        if chosen is not None:
            case.path_parameters[name] = chosen
    if isinstance(case.body, dict) and "account_id" in case.body:
        chosen = data.draw(st.sampled_from(fuzz.candidates("account_id")), label="account_id")
        if chosen is not None:
            case.body["account_id"] = chosen


def fuzz_operation(
    operation, examples: int, call: Callable[[schemathesis.Case, st.DataObject], None]
) -> None:
    # Driven by hand rather than by schemathesis' pytest plugin, which does not run on pytest 9.
    @given(case=operation.as_strategy(), data=st.data())
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        call(case, data)

    run()


def operations_of(engine: Engine):
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(TEST_SETTINGS, engine), timeout=NO_CLOCK
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 80
    return operations


def is_portal(operation) -> bool:
    return operation.path.startswith(f"{PORTAL}/")


@pytest.mark.parametrize("role", list(StaffRole), ids=lambda role: role.value)
def test_staff_of_each_role_get_no_error_and_no_other_institutions_data(
    engine: Engine, fuzz_world: FuzzWorld, role: StaffRole
) -> None:
    with TestClient(create_app(TEST_SETTINGS, engine)) as client:
        institution_id = get_institution(fuzz_world.portal.session, OWN).id
        in_use, key = staff_service.create_api_key(
            fuzz_world.portal.session,
            institution_id=institution_id,
            name=f"schemathesis {role.value}",
            roles=[role],
            actor="test",
        )
        spare, _ = staff_service.create_api_key(
            fuzz_world.portal.session,
            institution_id=institution_id,
            name="spare",
            roles=[role],
            actor="test",
        )
        fuzz_world.portal.session.commit()
        fuzz_world.add(fuzz_world.own, "api_key_id", spare.id)
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get(f"{API_PREFIX}/auth/me", headers=headers).status_code == 200

        def call(case: schemathesis.Case, data: st.DataObject) -> None:
            substitute(fuzz_world, case, data)
            if str((case.path_parameters or {}).get("api_key_id")) == str(in_use.id):
                # Revoking the key in use would leave nothing but 401s to check.
                case.path_parameters["api_key_id"] = spare.id
            response = case.call(headers=headers, timeout=NO_CLOCK)
            case.validate_response(response, checks=CHECKS, headers=headers)
            assert_no_foreign_data(fuzz_world, case, response)
            assert_not_reached(fuzz_world, case, response)
            assert_nothing_of_her_shelter(fuzz_world, case, response)
            if is_portal(case.operation) and case.path not in PUBLIC:
                assert response.status_code == 401, describe(case, response)

        for operation in operations_of(engine):
            fuzz_operation(operation, examples_on(engine, EXAMPLES_PER_OPERATION_PER_ROLE), call)
        assert client.get(f"{API_PREFIX}/auth/me", headers=headers).status_code == 200


def test_a_logged_in_clerk_with_every_role_learns_nothing_of_another_institution(
    engine: Engine, fuzz_world: FuzzWorld, make_staff
) -> None:
    """The same attack by session (cookie and CSRF token) rather than by key: one 千代田区 staff
    member holding every role."""
    staff = make_staff("chiyoda_all_roles", *StaffRole, department="DV相談窓口")
    with TestClient(create_app(TEST_SETTINGS, engine)) as client:
        headers = {"X-CSRF-Token": login(client, staff)}
        cookies = {SESSION_COOKIE: client.cookies[SESSION_COOKIE]}
        client.cookies.clear()

        def call(case: schemathesis.Case, data: st.DataObject) -> None:
            substitute(fuzz_world, case, data)
            if str((case.path_parameters or {}).get("staff_id")) == str(staff.staff_id):
                # Disabling oneself would leave nothing but 401s to check.
                case.path_parameters["staff_id"] = fuzz_world.own["staff_id"][0]
            response = case.call(headers=headers, cookies=cookies, timeout=NO_CLOCK)
            case.validate_response(response, checks=CHECKS, headers=headers)
            assert_no_foreign_data(fuzz_world, case, response)
            assert_not_reached(fuzz_world, case, response)
            assert_nothing_of_her_shelter(fuzz_world, case, response)
            if is_portal(case.operation) and case.path not in PUBLIC:
                assert response.status_code == 401, describe(case, response)
            elif case.path not in PUBLIC:
                assert response.status_code != 401, describe(case, response)

        staff_operations = [
            operation
            for operation in operations_of(engine)
            if operation.path != f"{API_PREFIX}/auth/logout"
        ]
        for operation in staff_operations:
            fuzz_operation(operation, examples_on(engine, EXAMPLES_PER_OPERATION_PER_ROLE), call)


def test_a_resident_on_the_portal_gets_no_error_and_no_staff_route(
    engine: Engine, fuzz_world: FuzzWorld
) -> None:
    world, resident = fuzz_world.portal, fuzz_world.resident
    with TestClient(create_app(TEST_SETTINGS, engine)) as client:
        session: dict[str, dict[str, str]] = {}

        def log_in() -> None:
            csrf = card_login(client, world, resident)["csrf_token"]
            session["cookies"] = {PORTAL_COOKIE: client.cookies[PORTAL_COOKIE]}
            session["headers"] = {"X-CSRF-Token": csrf}
            client.cookies.clear()

        log_in()

        def as_resident(case: schemathesis.Case, data: st.DataObject) -> None:
            substitute(fuzz_world, case, data)
            headers = session["headers"]
            response = case.call(headers=headers, cookies=session["cookies"], timeout=NO_CLOCK)
            case.validate_response(response, checks=CHECKS, headers=headers)
            assert_no_foreign_data(fuzz_world, case, response)
            assert_not_reached(fuzz_world, case, response)
            if case.path not in PUBLIC:
                # The session is alive: a 401 would mean the route was never exercised.
                assert response.status_code != 401, describe(case, response)
            if case.path == f"{PORTAL}/logout" or (
                case.path == f"{PORTAL}/account/delete" and response.status_code == 200
            ):
                log_in()

        def staff_route(case: schemathesis.Case, data: st.DataObject) -> None:
            substitute(fuzz_world, case, data)
            headers = session["headers"]
            response = case.call(headers=headers, cookies=session["cookies"], timeout=NO_CLOCK)
            case.validate_response(response, checks=CHECKS, headers=headers)
            assert response.status_code == 401, describe(case, response)

        operations = operations_of(engine)
        portal = [op for op in operations if is_portal(op)]
        staff = [op for op in operations if not is_portal(op) and op.path not in PUBLIC]
        assert len(portal) >= 20 and len(staff) >= 60
        for operation in portal:
            examples = examples_on(engine, EXAMPLES_PER_PORTAL_OPERATION)
            fuzz_operation(operation, examples, as_resident)
        for operation in staff:
            examples = examples_on(engine, EXAMPLES_PER_STAFF_OPERATION_WITH_PORTAL_COOKIE)
            fuzz_operation(operation, examples, staff_route)
        client.cookies.update(session["cookies"])
        assert client.get(f"{PORTAL}/me").status_code == 200
