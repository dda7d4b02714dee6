"""Screens are driven like a browser: forms posted with their hidden CSRF field, redirects
followed by hand so that each test sees where it was sent."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import StaffLogin, app_client, make_staff  # noqa: F401

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "the page carries no CSRF field"
    return match.group(1)


def log_in_on_screen(client: TestClient, staff: StaffLogin) -> str:
    """Log in through the login form; returns the CSRF token the screens then carry."""
    response = client.post(
        "/staff/login",
        data={"username": staff.username, "password": staff.password, "totp": staff.code()},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get(response.headers["location"])
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


@pytest.fixture
def screens(app_client: TestClient) -> TestClient:  # noqa: F811
    app_client.follow_redirects = False
    return app_client
