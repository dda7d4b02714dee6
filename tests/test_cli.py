"""The ``fukaiji`` command: identifier checks, audit verification, and a real server start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from fukaiji import audit
from fukaiji.cli import app
from fukaiji.db import transaction

runner = CliRunner()


def test_a_valid_my_number_exits_0() -> None:
    result = runner.invoke(app, ["id", "check", "my-number", "123456789018"])
    assert result.exit_code == 0, result.output
    assert "正しい値" in result.output


def test_the_sample_card_number_exits_2_naming_the_check_digit() -> None:
    result = runner.invoke(app, ["id", "check", "my-number", "123456789012"])
    assert result.exit_code == 2
    assert "検査用数字は 8 のはずです (check digit should be 8)" in result.output


def test_each_identifier_kind_can_be_checked() -> None:
    valid = {
        "resident-record-code": "12345678901",
        "local-government-code": "131016",
        "addressee-number": "123456789012345",
        "institution-specific-code": "A" * 52,
    }
    for kind, value in valid.items():
        assert runner.invoke(app, ["id", "check", kind, value]).exit_code == 0, kind
        assert runner.invoke(app, ["id", "check", kind, value + "9"]).exit_code == 2, kind


def test_an_unknown_kind_exits_2() -> None:
    result = runner.invoke(app, ["id", "check", "passport", "X"])
    assert result.exit_code == 2
    assert "my-number" in result.output


@pytest.fixture
def database_environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", "c" * 40)


@pytest.mark.usefixtures("database_environment")
def test_audit_verify_exits_0_on_an_intact_chain(engine: Engine) -> None:
    with transaction(engine) as session:
        audit.record(session, actor="test", action="test.cli")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "完全" in result.output


@pytest.mark.usefixtures("database_environment")
def test_audit_verify_exits_1_naming_the_altered_entry(engine: Engine) -> None:
    with transaction(engine) as session:
        for _ in range(3):
            entry = audit.record(session, actor="test", action="test.cli")
    checkpointed = runner.invoke(app, ["audit", "checkpoint"])
    assert checkpointed.exit_code == 0, checkpointed.output
    with transaction(engine) as session:
        after = audit.record(session, actor="test", action="test.cli")
    drop = {
        "sqlite": "DROP TRIGGER audit_entries_no_update",
        "postgresql": "DROP TRIGGER audit_entries_no_update_or_delete ON audit_entries",
    }[engine.dialect.name]
    with engine.begin() as connection:
        connection.execute(text(drop))
        for seq in (entry.seq - 1, after.seq):
            connection.execute(
                text("UPDATE audit_entries SET actor = 'intruder' WHERE seq = :seq"),
                {"seq": seq},
            )
    # By default only what came after the checkpoint is verified.
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"第 {after.position} 件（通し番号 {after.seq}）" in result.output
    assert f"通し番号 {entry.seq - 1}）" not in result.output
    assert "(" not in result.output
    # --full reaches the entry under the checkpoint.
    result = runner.invoke(app, ["audit", "verify", "--full"])
    assert result.exit_code == 1
    assert f"第 {entry.position - 1} 件（通し番号 {entry.seq - 1}）" in result.output


def test_production_without_a_secret_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FUKAIJI_ENV", "production")
    monkeypatch.delenv("FUKAIJI_SECRET_KEY", raising=False)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "FUKAIJI_SECRET_KEY" in result.output
    assert not (tmp_path / "fukaiji.sqlite3").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_migrates_a_new_sqlite_database_and_answers_health_checks(tmp_path: Path) -> None:
    port = _free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("FUKAIJI_")
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fukaiji", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/healthz")
        assert response.json() == {"status": "ok", "database": "sqlite"}
        assert (tmp_path / "fukaiji.sqlite3").exists()
        assert (tmp_path / "fukaiji.sqlite3.secret").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for(url: str) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
