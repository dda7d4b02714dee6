"""Configuration: safe defaults in development, refusal in production without a secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fukaiji.config import ConfigurationError, Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("FUKAIJI_ENV", "FUKAIJI_DATABASE_URL", "FUKAIJI_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_default_database_is_a_sqlite_file_in_the_working_directory(tmp_path: Path) -> None:
    assert Settings().resolved_database_url == f"sqlite:///{tmp_path / 'fukaiji.sqlite3'}"


def test_plain_postgresql_urls_use_psycopg_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", "postgresql://postgres@127.0.0.1/fukaiji")
    assert Settings().resolved_database_url == "postgresql+psycopg://postgres@127.0.0.1/fukaiji"


def test_development_secret_is_generated_once_beside_the_sqlite_file(tmp_path: Path) -> None:
    first = Settings().secret
    secret_file = tmp_path / "fukaiji.sqlite3.secret"
    assert secret_file.exists()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert Settings().secret == first
    assert len(first) >= 32


def test_production_refuses_to_start_without_an_explicit_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FUKAIJI_ENV", "production")
    with pytest.raises(ConfigurationError, match="FUKAIJI_SECRET_KEY"):
        _ = Settings().secret
    assert not (tmp_path / "fukaiji.sqlite3.secret").exists()


def test_production_accepts_an_explicit_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUKAIJI_ENV", "production")
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", "x" * 40)
    assert Settings().secret == b"x" * 40


def test_a_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", "too-short")
    with pytest.raises(ConfigurationError, match="32"):
        _ = Settings().secret


def test_each_purpose_gets_its_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", "k" * 40)
    settings = Settings()
    assert settings.derive_key("network") != settings.derive_key("my-number")
    assert settings.derive_key("network") == Settings().derive_key("network")
