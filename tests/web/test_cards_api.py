"""The card window through the API: issue, suspend, lift, reissue; the CA certificate and CRL."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.web.conftest import login
from tests.web.test_residents_api import RESIDENT

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.staff.roles import StaffRole

PINS = {"auth_pin": "1234", "sign_pin": "ABC123"}


def _window(client: TestClient, make_staff) -> tuple[dict[str, str], str]:
    headers = {"X-CSRF-Token": login(client, make_staff("window", StaffRole.CARD_WINDOW))}
    created = client.post("/api/v1/institutions/131016/residents", json=RESIDENT, headers=headers)
    assert created.status_code == 201, created.text
    return headers, f"/api/v1/institutions/131016/residents/{created.json()['resident']['id']}/card"


def test_the_card_window_issues_suspends_lifts_and_reissues(
    app_client: TestClient, make_staff, engine: Engine
) -> None:
    headers, card = _window(app_client, make_staff)
    issued = app_client.post(card, json=PINS, headers=headers)
    assert issued.status_code == 201, issued.text
    token = issued.json()["card_token"]
    assert {c["status"] for c in issued.json()["card"]["certificates"]} == {"valid"}
    assert app_client.get(card).json().get("card_token") is None

    suspended = app_client.post(f"{card}/suspend", json={"channel": "window"}, headers=headers)
    assert suspended.json()["status"] == "suspended"
    assert {c["status"] for c in suspended.json()["certificates"]} == {"on_hold"}
    lifted = app_client.post(f"{card}/lift-suspension", headers=headers)
    assert {c["status"] for c in lifted.json()["certificates"]} == {"valid"}

    reissued = app_client.post(f"{card}/reissue", json=PINS, headers=headers)
    assert reissued.status_code == 200, reissued.text
    assert reissued.json()["card_token"] != token
    assert reissued.json()["card"]["id"] != issued.json()["card"]["id"]
    with transaction(engine) as session:
        details = " ".join(session.scalars(select(AuditEntry.details)).all())
    assert token not in details
    assert reissued.json()["card_token"] not in details


def test_only_the_card_window_handles_cards(app_client: TestClient, make_staff) -> None:
    _, card = _window(app_client, make_staff)
    with TestClient(app_client.app) as other:
        desk = {"X-CSRF-Token": login(other, make_staff("desk", StaffRole.BUSINESS_DESK))}
        assert other.post(card, json=PINS, headers=desk).status_code == 403


def test_a_wrong_card_at_a_pin_reset_is_refused_and_the_refusal_is_kept(
    app_client: TestClient, make_staff, engine: Engine
) -> None:
    headers, card = _window(app_client, make_staff)
    assert app_client.post(card, json=PINS, headers=headers).status_code == 201
    refused = app_client.post(
        f"{card}/reset-pin",
        json={"card_token": "not-the-card", "function": "auth", "new_pin": "9999"},
        headers=headers,
    )
    assert refused.status_code == 409
    with transaction(engine) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert any("refused" in action for action in actions)


def test_the_ca_certificate_and_crl_verify_and_need_a_login(
    app_client: TestClient, make_staff, tmp_path: Path
) -> None:
    headers, card = _window(app_client, make_staff)
    app_client.post(card, json=PINS, headers=headers)
    app_client.post(f"{card}/suspend", json={"channel": "phone"}, headers=headers)
    with TestClient(app_client.app) as anonymous:
        assert anonymous.get("/api/v1/jpki/crl").status_code == 401
    ca = app_client.get("/api/v1/jpki/ca.pem")
    crl = app_client.get("/api/v1/jpki/crl")
    assert ca.status_code == crl.status_code == 200
    (tmp_path / "ca.pem").write_bytes(ca.content)
    (tmp_path / "crl.der").write_bytes(crl.content)
    checked = subprocess.run(
        [
            "openssl",
            "crl",
            "-inform",
            "DER",
            "-in",
            tmp_path / "crl.der",
            "-CAfile",
            tmp_path / "ca.pem",
            "-noout",
            "-text",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "Certificate Hold" in checked.stdout
