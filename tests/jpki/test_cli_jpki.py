"""The ``fukaiji jpki`` commands, run against a real database, checked with ``openssl``.

The commands are mounted on a Typer app of this test's own, so the tests do not depend on how the
main ``fukaiji`` command registers them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from cryptography import x509
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from fukaiji.audit.models import AuditEntry
from fukaiji.cli import _common as cli_common
from fukaiji.cli.jpki import jpki_app
from fukaiji.config import Settings
from fukaiji.db import transaction
from fukaiji.jpki import issue_card, suspend_card
from fukaiji.jpki.service import CA_KEY_PURPOSE
from fukaiji.registry.models import Person

SECRET_KEY = "k" * 40
OPENSSL = "/usr/bin/openssl"

app = typer.Typer()
app.add_typer(jpki_app, name="jpki")
runner = CliRunner()

MakePerson = Callable[..., Person]


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    # Wide enough that Rich does not fold the messages the assertions look for.
    monkeypatch.setattr(cli_common.console, "width", 200)
    monkeypatch.setattr(cli_common.errors, "width", 200)
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", SECRET_KEY)


def cli_ca_key() -> bytes:
    return Settings().derive_key(CA_KEY_PURPOSE)


def openssl(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, *map(str, arguments)], capture_output=True, text=True, check=False, timeout=30
    )


def test_ca_cert_and_crl_are_written_and_the_crl_verifies_with_openssl(
    tmp_path: Path, engine: Engine, make_person: MakePerson
) -> None:
    person = make_person()
    # Issued with the key the CLI derives, at the real time the CLI runs at.
    with transaction(engine) as session:
        issued = issue_card(
            session,
            person_id=person.id,
            auth_pin="7395",
            sign_pin="HIBARI48TSUBAME",
            ca_key=cli_ca_key(),
            actor="staff:3",
        )
        suspend_card(session, card_id=issued.card_id, channel="phone", actor="staff:7")

    ca, crl = tmp_path / "ca.pem", tmp_path / "crl.der"
    result = runner.invoke(app, ["jpki", "ca-cert", "-o", str(ca)])
    assert result.exit_code == 0, result.output
    assert ca.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    result = runner.invoke(app, ["jpki", "crl", "--output", str(crl)])
    assert result.exit_code == 0, result.output

    checked = openssl("crl", "-inform", "DER", "-in", crl, "-CAfile", ca, "-noout")
    assert checked.returncode == 0, checked.stderr
    assert "verify OK" in checked.stdout + checked.stderr
    listed = {entry.serial_number for entry in x509.load_der_x509_crl(crl.read_bytes())}
    assert listed == {issued.auth_certificate_serial, issued.sign_certificate_serial}

    cert = tmp_path / "auth.pem"
    serial = format(issued.auth_certificate_serial, "X")
    result = runner.invoke(app, ["jpki", "cert", serial, "-o", str(cert)])
    assert result.exit_code == 0, result.output
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    assert loaded.serial_number == issued.auth_certificate_serial
    verdict = openssl("verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, cert)
    # -CRLfile reads PEM or DER alike; the suspended card's certificate is on hold.
    assert verdict.returncode != 0 and "certificate revoked" in verdict.stdout + verdict.stderr

    with transaction(engine) as session:
        actions = [
            (entry.action, entry.actor, json.loads(entry.details))
            for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]
    assert [action for action, _, _ in actions][-3:] == [
        "jpki.ca.exported",
        "jpki.crl.issued",
        "jpki.certificate.exported",
    ]
    assert all(actor.startswith("cli:") for _, actor, _ in actions[-3:])


def test_the_ca_is_created_by_the_first_command_and_kept(tmp_path: Path) -> None:
    first, second = tmp_path / "1.pem", tmp_path / "2.pem"
    assert runner.invoke(app, ["jpki", "ca-cert", "-o", str(first)]).exit_code == 0
    assert runner.invoke(app, ["jpki", "ca-cert", "-o", str(second)]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("serial", "message"),
    [("zz-not-hex", "16 進数"), ("0123456789abcdef", "発行していません")],
)
def test_a_bad_or_unknown_serial_is_refused(tmp_path: Path, serial: str, message: str) -> None:
    result = runner.invoke(app, ["jpki", "cert", serial, "-o", str(tmp_path / "x.pem")])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x.pem").exists()


def test_a_changed_secret_key_is_reported_not_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["jpki", "crl", "-o", str(tmp_path / "a.der")]).exit_code == 0
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", "another-secret-key-of-forty-characters!!")
    result = runner.invoke(app, ["jpki", "crl", "-o", str(tmp_path / "b.der")])
    assert result.exit_code == 2
    assert "FUKAIJI_SECRET_KEY" in result.output
