"""マイナポータル through the API: card login with its own cookie, the views, proxies, deletion,
and 法定代理人 at the card window — played by the perpetrator where it matters.

The card never talks to the API: the test plays the card reader (``jpki.card_signature``) between
asking for a challenge and logging in, as ``fukaiji portal sign`` does for scripts.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.portal.conftest import PortalWorld, Resident, build_portal_world
from tests.web.conftest import TEST_SETTINGS, StaffLogin, login

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.institutions import get_institution
from fukaiji.portal.public_ids import IdKind, public_id
from fukaiji.registry import moves
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole
from fukaiji.web import create_app
from fukaiji.web.api import API_PREFIX
from fukaiji.web.api import portal as portal_api
from fukaiji.web.deps import authenticated
from fukaiji.web.problems import PROBLEM_RESPONSES

# Schemathesis gives up on a request after 10 s; CI shares two cores, so a slow answer is
# waited for, never failed on (no test depends on how fast the machine is).
NO_CLOCK = 600

PORTAL = f"{API_PREFIX}/portal"
PUBLIC = {f"{PORTAL}/login/challenge", f"{PORTAL}/login"}


def with_portal_routes(app: FastAPI) -> FastAPI:
    """The app, with the portal routes mounted as ``fukaiji.web.api.api_router`` mounts them,
    if it does not register them yet: the resident side outside staff authentication (it has
    its own), the card window's route behind it."""
    # iter_route_contexts walks included routers too: the app may keep them nested.
    if not any(route.path == f"{PORTAL}/login" for route in iter_route_contexts(app.routes)):
        api = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
        api.include_router(portal_api.public_router)
        api.include_router(portal_api.router)
        protected = APIRouter(dependencies=[Depends(authenticated)])
        protected.include_router(portal_api.staff_router)
        api.include_router(protected)
        app.include_router(api)
    return app


def portal_app(engine: Engine) -> FastAPI:
    return with_portal_routes(create_app(TEST_SETTINGS, engine))


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return portal_app(engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def other_client(app: FastAPI) -> Iterator[TestClient]:
    """A second browser: the perpetrator's."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def world(engine: Engine) -> Iterator[PortalWorld]:
    # Every helper commits: on SQLite, a transaction left open would hold the write lock that
    # the app's requests need.
    with Session(engine, expire_on_commit=False) as session:
        world = build_portal_world(session)
        world.network_key = TEST_SETTINGS.derive_key(NETWORK_KEY_PURPOSE)
        yield world


def signed_body(world: PortalWorld, challenge: dict, card_token: str) -> dict[str, str]:
    """The card reader signs the challenge the portal issued."""
    signed = world.sign(card_token, base64.b64decode(challenge["challenge"]))
    world.session.commit()
    return {
        "challenge": challenge["challenge"],
        "certificate_pem": signed.certificate_pem.decode(),
        "signature": base64.b64encode(signed.signature).decode(),
    }


def card_login(client: TestClient, world: PortalWorld, resident: Resident) -> dict:
    challenge = client.post(f"{PORTAL}/login/challenge").json()
    response = client.post(
        f"{PORTAL}/login", json=signed_body(world, challenge, resident.card_token)
    )
    assert response.status_code == 200, response.text
    return response.json()


def csrf(token: str) -> dict[str, str]:
    return {"X-CSRF-Token": token}


def audit_actions(engine: Engine, action: str) -> list[AuditEntry]:
    with transaction(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_card_login_sets_its_own_strict_cookie_and_staff_credentials_open_nothing(
    client: TestClient, other_client: TestClient, world, make_staff
) -> None:
    hanako = world.resident()
    challenge = client.post(f"{PORTAL}/login/challenge")
    assert challenge.status_code == 200
    assert len(base64.b64decode(challenge.json()["challenge"])) == 32
    response = client.post(
        f"{PORTAL}/login", json=signed_body(world, challenge.json(), hanako.card_token)
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["account_created"], body["as_proxy"]) == ("山田 花子", True, False)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("fukaiji_portal=")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert "Secure" not in cookie  # development
    assert client.get(f"{PORTAL}/me").status_code == 200
    assert client.get(f"{API_PREFIX}/auth/me").status_code == 401

    staff: StaffLogin = make_staff("kubo", StaffRole.CARD_WINDOW)
    login(other_client, staff)
    assert other_client.get(f"{API_PREFIX}/auth/me").status_code == 200
    assert other_client.get(f"{PORTAL}/me").status_code == 401
    with transaction(world.session.get_bind()) as session:
        institution = get_institution(session, "131016")
        _, key = staff_service.create_api_key(
            session, institution_id=institution.id, name="k", roles=list(StaffRole), actor="t"
        )
    bearer = {"Authorization": f"Bearer {key}"}
    assert other_client.get(f"{PORTAL}/folder", headers=bearer).status_code == 401


def test_cookies_are_secure_outside_development(engine: Engine, world) -> None:
    from fukaiji.config import Settings

    production = Settings(env="production", secret_key=TEST_SETTINGS.secret_key)
    hanako = world.resident()
    app = with_portal_routes(create_app(production, engine))
    with TestClient(app, base_url="https://testserver") as client:
        challenge = client.post(f"{PORTAL}/login/challenge").json()
        response = client.post(
            f"{PORTAL}/login", json=signed_body(world, challenge, hanako.card_token)
        )
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_portal_route_but_the_login_refuses_an_anonymous_request(client: TestClient) -> None:
    checked = 0
    for route in iter_route_contexts(client.app.routes):
        path = route.path
        if not isinstance(route.original_route, APIRoute) or path in PUBLIC:
            continue
        if not path.startswith("/api/"):
            continue  # screens redirect to their login form: tests/web/test_api_frame.py
        if not (path.startswith(PORTAL) or "/legal-representatives" in path):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            response = client.request(method, _concrete(path), json={})
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            checked += 1
    assert checked >= 20


def test_a_refused_login_is_kept_and_says_nothing_specific(
    client: TestClient, world, engine: Engine
) -> None:
    hanako = world.resident()
    challenge = client.post(f"{PORTAL}/login/challenge").json()
    other = client.post(f"{PORTAL}/login/challenge").json()
    forged = signed_body(world, other, hanako.card_token) | {"challenge": challenge["challenge"]}

    refused = client.post(f"{PORTAL}/login", json=forged)
    assert refused.status_code == 401
    assert refused.json()["type"] == "/problems/login-refused"
    assert "fukaiji_portal" not in refused.headers.get("set-cookie", "")
    [entry] = audit_actions(engine, "portal.login_refused")
    assert '"reason":"bad_signature"' in entry.details
    # The challenge was used up by the refusal, and the refusal was committed.
    honest = signed_body(world, challenge, hanako.card_token)
    assert client.post(f"{PORTAL}/login", json=honest).status_code == 401
    garbage = client.post(f"{PORTAL}/login", json=honest | {"signature": "not base64!"})
    assert garbage.status_code == 422
    assert garbage.json()["errors"][0]["field"] == "body.signature"


def test_the_views_name_institutions_and_never_a_flagged_item(client: TestClient, world) -> None:
    hanako = world.resident()
    world.fled_to_osaka(hanako)
    card_login(client, world, hanako)

    folder = client.get(f"{PORTAL}/folder")
    assert folder.status_code == 200, folder.text
    body = folder.json()
    assert [r["requester"]["name"] for r in body["records"]] == ["神奈川県横浜市"]
    assert [r["provider"]["name"] for r in body["records"]] == ["東京都千代田区"]
    assert [i["institution"]["name"] for i in body["self_info"]] == ["東京都千代田区"]
    assert body["self_info"][0]["content"] == {"所得割額": 123400, "年度": 2026}
    for path in ("folder", "records", "self-info", "inbox"):
        text = client.get(f"{PORTAL}/{path}").text
        assert "大阪" not in text and "271004" not in text
    history = client.get(f"{PORTAL}/history").json()
    assert {entry["by"] for entry in history} == {"person"}
    # Newest first: the last three requests were the records, the self-information, the inbox.
    latest = [e["action"] for e in history][:3]
    assert latest == ["viewed_inbox", "viewed_self_info", "viewed_records"]


def test_an_unsafe_request_needs_the_csrf_token(client: TestClient, world, engine: Engine) -> None:
    token = card_login(client, world, world.resident())["csrf_token"]
    assert client.post(f"{PORTAL}/proxy-invitations").status_code == 403
    forged = client.post(f"{PORTAL}/proxy-invitations", headers=csrf("forged"))
    assert forged.status_code == 403
    assert len(audit_actions(engine, "portal.access_refused")) == 2
    created = client.post(f"{PORTAL}/proxy-invitations", headers=csrf(token))
    assert created.status_code == 201, created.text
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", created.json()["code"])


def test_a_proxy_by_invitation_sees_the_folder_until_the_person_cancels(
    client: TestClient, other_client: TestClient, world
) -> None:
    hanako, taro = world.resident("花子"), world.resident("太郎")
    victim = card_login(client, world, hanako)
    code = client.post(f"{PORTAL}/proxy-invitations", headers=csrf(victim["csrf_token"])).json()
    perpetrator = card_login(other_client, world, taro)
    accepted = other_client.post(
        f"{PORTAL}/proxy-invitations/accept",
        json={"code": code["code"]},
        headers=csrf(perpetrator["csrf_token"]),
    )
    assert accepted.status_code == 201, accepted.text
    folder_id = accepted.json()["account_id"]
    assert accepted.json()["principal_name"] == "山田 花子"

    world.suspend(hanako)  # the victim's card: the perpetrator still enters with his own
    switched = other_client.post(
        f"{PORTAL}/folder/switch",
        json={"account_id": folder_id},
        headers=csrf(perpetrator["csrf_token"]),
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["as_proxy"] and switched.json()["principal_name"] == "山田 花子"
    assert other_client.get(f"{PORTAL}/folder").json()["as_proxy"]
    assert other_client.get(f"{PORTAL}/history").status_code == 403  # the person's only

    world.reissue(hanako)
    victim = card_login(client, world, hanako)
    history = client.get(f"{PORTAL}/history").json()
    by_proxy = [e for e in history if e["by"] == "proxy"]
    assert by_proxy and {e["proxy_name"] for e in by_proxy} == {"山田 太郎"}
    [grant] = client.get(f"{PORTAL}/proxies").json()
    cancelled = client.post(
        f"{PORTAL}/proxies/{grant['grant_id']}/cancel", headers=csrf(victim["csrf_token"])
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["ended_at"] is not None

    assert other_client.get(f"{PORTAL}/folder").status_code == 401
    again = card_login(other_client, world, taro)
    assert again["proxy_for"] == []
    refused = other_client.post(
        f"{PORTAL}/folder/switch",
        json={"account_id": folder_id},
        headers=csrf(again["csrf_token"]),
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/no-folder-access"


def test_she_files_her_move_out_with_her_card_and_her_proxy_cannot(
    client: TestClient, other_client: TestClient, world, engine: Engine
) -> None:
    hanako, taro = world.resident("花子"), world.resident("太郎")
    grant = world.appoint(hanako, taro)
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    body = {"destination": "神奈川県横浜市", "planned_on": today}

    proxy = card_login(other_client, world, taro)
    other_client.post(
        f"{PORTAL}/folder/switch",
        json={"account_id": public_id(IdKind.ACCOUNT, grant.account_id)},
        headers=csrf(proxy["csrf_token"]),
    )
    refused = other_client.post(f"{PORTAL}/move-out", json=body, headers=csrf(proxy["csrf_token"]))
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/own-folder-only"
    assert other_client.get(f"{PORTAL}/move-out").status_code == 403

    victim = card_login(client, world, hanako)
    assert client.get(f"{PORTAL}/move-out").json() is None
    filed = client.post(f"{PORTAL}/move-out", json=body, headers=csrf(victim["csrf_token"]))
    assert filed.status_code == 201, filed.text
    assert filed.json()["planned_on"] == today and filed.json()["channel"] == "portal"
    assert "141003" not in filed.text and "横浜" not in filed.text  # never shown back
    again = client.post(f"{PORTAL}/move-out", json=body, headers=csrf(victim["csrf_token"]))
    assert again.status_code == 422
    with transaction(engine) as session:
        recorded = moves.open_move_out(session, hanako.id)
        assert recorded is not None and recorded.destination_code == "141003"
        refusals = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "portal.access_refused")
        ).all()
    assert sum("own_folder_only" in details for details in refusals) == 2
    cancelled = client.post(f"{PORTAL}/move-out/cancel", headers=csrf(victim["csrf_token"]))
    assert cancelled.status_code == 204
    assert client.get(f"{PORTAL}/move-out").json() is None


def test_suspension_ends_the_session_and_a_presigned_challenge_cannot_log_in(
    client: TestClient, world
) -> None:
    hanako = world.resident()
    card_login(client, world, hanako)
    presigned = signed_body(
        world, client.post(f"{PORTAL}/login/challenge").json(), hanako.card_token
    )
    world.suspend(hanako)
    assert client.get(f"{PORTAL}/me").status_code == 401
    assert client.post(f"{PORTAL}/login", json=presigned).status_code == 401


def test_deletion_needs_a_fresh_login_with_the_persons_own_card(
    client: TestClient, other_client: TestClient, world, engine: Engine
) -> None:
    hanako, taro = world.resident("花子"), world.resident("太郎")
    grant = world.appoint(hanako, taro)
    perpetrator = card_login(other_client, world, taro)
    other_client.post(
        f"{PORTAL}/folder/switch",
        json={"account_id": public_id(IdKind.ACCOUNT, grant.account_id)},
        headers=csrf(perpetrator["csrf_token"]),
    )
    as_proxy = other_client.post(
        f"{PORTAL}/account/deletion-challenge", headers=csrf(perpetrator["csrf_token"])
    )
    assert as_proxy.status_code == 403

    victim = card_login(client, world, hanako)
    challenge = client.post(
        f"{PORTAL}/account/deletion-challenge", headers=csrf(victim["csrf_token"])
    ).json()
    with_proxys_card = client.post(
        f"{PORTAL}/account/delete",
        json=signed_body(world, challenge, taro.card_token),
        headers=csrf(victim["csrf_token"]),
    )
    assert with_proxys_card.status_code == 403
    assert with_proxys_card.json()["type"] == "/problems/deletion-refused"
    assert audit_actions(engine, "portal.deletion_refused")

    challenge = client.post(
        f"{PORTAL}/account/deletion-challenge", headers=csrf(victim["csrf_token"])
    ).json()
    deleted = client.post(
        f"{PORTAL}/account/delete",
        json=signed_body(world, challenge, hanako.card_token),
        headers=csrf(victim["csrf_token"]),
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["grants_ended"] == 1
    assert 'fukaiji_portal=""' in deleted.headers["set-cookie"]
    assert client.get(f"{PORTAL}/me").status_code == 401
    assert other_client.get(f"{PORTAL}/folder").status_code == 401

    fresh = card_login(client, world, hanako)
    assert fresh["account_created"] and fresh["account_id"] != public_id(
        IdKind.ACCOUNT, grant.account_id
    )
    assert client.get(f"{PORTAL}/proxies").json() == []
    assert client.get(f"{PORTAL}/inbox").json() == []


def test_the_card_window_records_a_legal_representative_by_my_number(
    client: TestClient, other_client: TestClient, world, make_staff
) -> None:
    child, parent = world.resident("花子"), world.resident("太郎")
    parent_number = world.my_number(parent)
    world.session.commit()
    route = f"{API_PREFIX}/institutions/131016/residents/{child.id}/legal-representatives"
    token = login(client, make_staff("window", StaffRole.CARD_WINDOW))
    body = {"my_number": parent_number, "representation": "parental_authority"}

    recorded = client.post(route, json=body, headers=csrf(token))
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["representative_name"] == "山田 太郎"
    assert parent_number not in recorded.text
    assert client.post(route, json=body, headers=csrf(token)).status_code == 409
    bad_number = body | {"my_number": "123456789012"}
    assert client.post(route, json=bad_number, headers=csrf(token)).status_code == 422
    assert [g["representation_label"] for g in client.get(route).json()] == ["親権者"]

    representative = card_login(other_client, world, parent)
    [folder] = representative["proxy_for"]
    assert folder["kind"] == "legal" and folder["principal_name"] == "山田 花子"
    switched = other_client.post(
        f"{PORTAL}/folder/switch",
        json={"account_id": folder["account_id"]},
        headers=csrf(representative["csrf_token"]),
    )
    assert switched.status_code == 200
    assert other_client.get(f"{PORTAL}/folder").status_code == 200

    # The window names the grant by its own id; the portal's opaque one means nothing there.
    [recorded_grant] = client.get(route).json()
    end = f"{route}/{recorded_grant['grant_id']}/end"
    # Refused without a ground, with an unknown one, with one that cannot end a 親権者's
    # representation, or with a reference too long: nothing ends.
    assert client.post(end, headers=csrf(token)).status_code == 422
    for body in (
        {},
        {"ground": "protection_order"},
        {"ground": "parental_authority_lost", "reference": "第1号" * 30},
    ):
        refused = client.post(end, json=body, headers=csrf(token))
        assert refused.status_code == 422, body
    misfit = client.post(end, json={"ground": "guardianship_revoked"}, headers=csrf(token))
    assert misfit.status_code == 422
    assert misfit.json()["errors"][0]["field"] == "ground"
    assert "親権者の法定代理を終了させる根拠ではありません" in misfit.json()["detail"]
    assert other_client.get(f"{PORTAL}/folder").status_code == 200  # still in

    ended = client.post(
        end,
        json={"ground": "parental_authority_lost", "reference": "令和8年（家）第1234号"},
        headers=csrf(token),
    )
    assert ended.status_code == 200, ended.text
    answer = ended.json()
    assert answer["ended_at"] is not None
    assert (answer["end_ground"], answer["end_reference"]) == (
        "parental_authority_lost",
        "令和8年(家)第1234号",
    )
    assert answer["end_ground_label"].startswith("親権喪失・親権停止・管理権喪失の審判")
    assert other_client.get(f"{PORTAL}/folder").status_code == 401
    again = client.post(end, json={"ground": "parental_authority_lost"}, headers=csrf(token))
    assert again.status_code == 404


def test_only_the_card_window_of_the_persons_municipality_records_one(
    client: TestClient, world, make_staff
) -> None:
    child, parent = world.resident("花子"), world.resident("太郎")
    body = {"my_number": world.my_number(parent), "representation": "parental_authority"}
    world.session.commit()
    desk = login(client, make_staff("desk", StaffRole.BUSINESS_DESK))
    here = f"{API_PREFIX}/institutions/131016/residents/{child.id}/legal-representatives"
    assert client.post(here, json=body, headers=csrf(desk)).status_code == 403
    yokohama = login(
        client, make_staff("yokohama", StaffRole.CARD_WINDOW, institution_code="141003")
    )
    assert client.post(here, json=body, headers=csrf(yokohama)).status_code == 403
    there = here.replace("131016", "141003")
    assert client.post(there, json=body, headers=csrf(yokohama)).status_code == 404


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_portal_route_errors_or_breaks_its_schema_on_any_input(
    app: FastAPI, engine: Engine
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, timeout=NO_CLOCK)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if "/portal/" in result.ok().path or "legal-representatives" in result.ok().path
    ]
    assert len(operations) >= 20
    with transaction(engine) as session:
        institution = get_institution(session, "131016")
        _, key = staff_service.create_api_key(
            session, institution_id=institution.id, name="fuzz", roles=list(StaffRole), actor="t"
        )
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: schemathesis.Case) -> None:
            if "code" in (case.path_parameters or {}):
                case.path_parameters["code"] = "131016"
            case.call_and_validate(
                headers={"Authorization": f"Bearer {key}"}, checks=CHECKS, timeout=NO_CLOCK
            )

        call()
