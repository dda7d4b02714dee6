"""An app on the test's own database, and staff who can log in to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from fukaiji.config import Settings
from fukaiji.db import transaction
from fukaiji.network.institutions import get_department, get_institution
from fukaiji.portal import public_ids
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole
from fukaiji.staff.totp import TOTP_KEY_PURPOSE
from fukaiji.web import create_app

TEST_SETTINGS = Settings(secret_key="test-secret-" + "x" * 40)
PASSWORD = "correct horse battery staple"
# The portal's opaque ids are encrypted under a key from the settings; the test app uses these.
public_ids.configure(TEST_SETTINGS.derive_key(public_ids.KEY_PURPOSE))


@dataclass
class StaffLogin:
    staff_id: int
    username: str
    password: str
    totp_secret: str
    institution_code: str

    def code(self) -> str:
        return pyotp.TOTP(self.totp_secret).now()


@pytest.fixture
def app_client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(TEST_SETTINGS, engine)) as client:
        yield client


@pytest.fixture
def make_staff(engine: Engine):
    def _make(
        username: str,
        *roles: StaffRole,
        institution_code: str = "131016",
        department: str = "市民課",
    ) -> StaffLogin:
        with transaction(engine) as session:
            institution = get_institution(session, institution_code)
            department_row = get_department(
                session, institution_code=institution_code, name=department
            )
            staff, secret = staff_service.create_staff(
                session,
                institution_id=institution.id,
                department_id=department_row.id,
                username=username,
                display_name=f"{username} 職員",
                password=PASSWORD,
                roles=roles,
                totp_key=TEST_SETTINGS.derive_key(TOTP_KEY_PURPOSE),
                actor="test",
            )
            return StaffLogin(staff.id, username, PASSWORD, secret, institution_code)

    return _make


def login(client: TestClient, staff: StaffLogin) -> str:
    """Log in through the API; the client keeps the cookie. Returns the CSRF token."""
    response = client.post(
        "/api/v1/auth/login",
        json={"username": staff.username, "password": staff.password, "totp": staff.code()},
    )
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


AsStaff = Callable[[StaffLogin], dict[str, str]]


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    """The app client under the short name the API tests use."""
    return app_client


@pytest.fixture
def as_staff(client: TestClient) -> Iterator[AsStaff]:
    """Make ``client`` act as a staff member: each logs in once, on a client of their own (a TOTP
    code is accepted only once), and ``client`` takes over that session's cookie."""
    sessions: dict[str, tuple[TestClient, dict[str, str]]] = {}

    def switch(staff: StaffLogin) -> dict[str, str]:
        if staff.username not in sessions:
            own = TestClient(client.app)
            sessions[staff.username] = (own, {"X-CSRF-Token": login(own, staff)})
        own, headers = sessions[staff.username]
        client.cookies.clear()
        client.cookies.update(own.cookies)
        return headers

    yield switch
    for own, _ in sessions.values():
        own.close()
