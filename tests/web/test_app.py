"""The application frame: health check and the Japanese landing page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from fukaiji.config import Settings
from fukaiji.web import create_app


def test_health_check_answers_with_the_database_in_use(engine: Engine) -> None:
    client = TestClient(create_app(Settings(secret_key="s" * 40), engine))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": engine.dialect.name}


def test_landing_page_says_what_the_system_is_in_japanese(engine: Engine) -> None:
    client = TestClient(create_app(Settings(secret_key="s" * 40), engine))
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="ja">' in response.text
    assert "不開示措置" in response.text
    assert "0120-95-0178" in response.text
