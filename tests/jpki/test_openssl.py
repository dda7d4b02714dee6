"""OpenSSL, given the CA certificate and the CRL, agrees with ``verify_login`` in every state.

For each state of a card (active, suspended, suspension lifted, revoked by reissue, the new card,
expired) the CA certificate, a fresh CRL and the card's 利用者証明用 certificate are written out
and ``openssl verify -crl_check`` is run at the same instant ``verify_login`` is asked about.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from sqlalchemy.orm import Session

from fukaiji.jpki import (
    CardSignature,
    IssuedCard,
    LoginRefusal,
    LoginRefused,
    card_signature,
    current_crl,
    export_ca_certificate,
    export_certificate,
    lift_suspension,
    on_address_change,
    reissue_card,
    suspend_card,
    verify_login,
)
from fukaiji.registry.models import Person

OPENSSL = "/usr/bin/openssl"
CHALLENGE = b"portal-nonce-for-openssl-agreement"

Issue = Callable[..., IssuedCard]
MakePerson = Callable[..., Person]

pytestmark = pytest.mark.skipif(not Path(OPENSSL).exists(), reason="openssl is not installed")


def openssl(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, *map(str, arguments)], capture_output=True, text=True, check=False, timeout=30
    )


@dataclass
class Checker:
    session: Session
    ca_key: bytes
    directory: Path
    checks: int = 0

    def files(self, certificate_pem: bytes, at: datetime) -> tuple[Path, Path, Path]:
        self.checks += 1
        folder = self.directory / f"check-{self.checks}"
        folder.mkdir()
        ca, crl_der, crl_pem, cert = (
            folder / name for name in ("ca.pem", "crl.der", "crl.pem", "cert.pem")
        )
        ca.write_bytes(export_ca_certificate(self.session, now=at))
        crl_der.write_bytes(current_crl(self.session, ca_key=self.ca_key, now=at))
        self.session.commit()
        converted = openssl("crl", "-inform", "DER", "-in", crl_der, "-out", crl_pem)
        assert converted.returncode == 0, converted.stderr
        cert.write_bytes(certificate_pem)
        return ca, crl_pem, cert

    def openssl_verdict(self, certificate_pem: bytes, at: datetime) -> tuple[bool, str]:
        ca, crl, cert = self.files(certificate_pem, at)
        result = openssl(
            "verify",
            "-attime",
            str(int(at.timestamp())),
            "-crl_check",
            "-CAfile",
            ca,
            "-CRLfile",
            crl,
            cert,
        )
        return result.returncode == 0, result.stdout + result.stderr

    def our_verdict(self, signed: CardSignature, at: datetime) -> LoginRefusal | None:
        try:
            verify_login(
                self.session,
                certificate_pem=signed.certificate_pem,
                challenge=CHALLENGE,
                signature=signed.signature,
                now=at,
            )
        except LoginRefused as error:
            self.session.commit()
            return error.reason
        self.session.commit()
        return None

    def agree(self, signed: CardSignature, at: datetime) -> tuple[LoginRefusal | None, str]:
        ours = self.our_verdict(signed, at)
        accepted, output = self.openssl_verdict(signed.certificate_pem, at)
        assert accepted == (ours is None), f"openssl: {output!r}; verify_login: {ours}"
        return ours, output

    def crl_entries(self, at: datetime) -> dict[int, x509.ReasonFlags]:
        crl = x509.load_der_x509_crl(current_crl(self.session, ca_key=self.ca_key, now=at))
        self.session.commit()
        entries = {}
        for revoked in crl:
            reason = revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason
            entries[revoked.serial_number] = reason
        return entries


@pytest.fixture
def checker(session: Session, ca_key: bytes, tmp_path: Path) -> Checker:
    return Checker(session, ca_key, tmp_path)


def read_card(session: Session, issued: IssuedCard, pin: str, at: datetime) -> CardSignature:
    signed = card_signature(
        session, card_token=issued.card_token, pin=pin, challenge=CHALLENGE, now=at
    )
    session.commit()
    return signed


def test_openssl_and_verify_login_agree_through_the_life_of_a_card(
    session: Session,
    issue: Issue,
    make_person: MakePerson,
    checker: Checker,
    ca_key: bytes,
    now: datetime,
) -> None:
    person = make_person(birth_date=date(1990, 3, 15))
    card = issue(person)
    signed = read_card(session, card, "7395", now)

    # 有効 (active)
    assert checker.agree(signed, now)[0] is None

    # 一時停止 (suspended): the signature was captured while the card was still active.
    suspended_at = now + timedelta(hours=1)
    suspend_card(session, card_id=card.card_id, channel="phone", actor="staff:7", now=suspended_at)
    session.commit()
    ours, output = checker.agree(signed, suspended_at)
    assert ours is LoginRefusal.SUSPENDED and "certificate revoked" in output
    assert checker.crl_entries(suspended_at) == {
        card.auth_certificate_serial: x509.ReasonFlags.certificate_hold,
        card.sign_certificate_serial: x509.ReasonFlags.certificate_hold,
    }

    # 解除 (suspension lifted): the certificates leave the CRL.
    lifted_at = now + timedelta(hours=2)
    lift_suspension(session, card_id=card.card_id, actor="staff:7", now=lifted_at)
    session.commit()
    assert checker.agree(signed, lifted_at)[0] is None
    assert checker.crl_entries(lifted_at) == {}

    # 再交付 (reissue): the old card is revoked for ever, the new one works.
    reissued_at = now + timedelta(days=2)
    new_card = reissue_card(
        session,
        person_id=person.id,
        auth_pin="2468",
        sign_pin="NEWPIN2026",
        ca_key=ca_key,
        actor="staff:3",
        now=reissued_at,
    )
    session.commit()
    ours, output = checker.agree(signed, reissued_at)
    assert ours is LoginRefusal.REVOKED and "certificate revoked" in output
    assert checker.crl_entries(reissued_at) == {
        card.auth_certificate_serial: x509.ReasonFlags.superseded,
        card.sign_certificate_serial: x509.ReasonFlags.superseded,
    }
    new_signed = read_card(session, new_card, "2468", reissued_at)
    assert checker.agree(new_signed, reissued_at)[0] is None

    # 期限切れ (expired): notAfter is 23:59:59 JST on the fifth birthday, and from that second
    # on both OpenSSL and verify_login refuse.
    not_after = datetime(2031, 3, 15, 14, 59, 59, tzinfo=UTC)
    assert checker.agree(new_signed, not_after - timedelta(seconds=1))[0] is None
    ours, output = checker.agree(new_signed, not_after)
    assert ours is LoginRefusal.EXPIRED and "certificate has expired" in output


def test_openssl_sees_the_address_change_revoke_only_the_signing_certificate(
    session: Session, issue: Issue, make_person: MakePerson, checker: Checker, now: datetime
) -> None:
    person = make_person()
    card = issue(person)
    on_address_change(session, person_id=person.id, actor="staff:3", now=now)
    session.commit()
    auth_pem = export_certificate(session, card.auth_certificate_serial, actor="test", now=now)
    sign_pem = export_certificate(session, card.sign_certificate_serial, actor="test", now=now)
    assert checker.openssl_verdict(auth_pem, now)[0]
    accepted, output = checker.openssl_verdict(sign_pem, now)
    assert not accepted and "certificate revoked" in output
    assert checker.crl_entries(now) == {
        card.sign_certificate_serial: x509.ReasonFlags.affiliation_changed
    }


def test_the_crl_says_certificate_hold_in_openssl_terms_too(
    session: Session, issue: Issue, checker: Checker, now: datetime
) -> None:
    card = issue()
    suspend_card(session, card_id=card.card_id, channel="window", actor="staff:7", now=now)
    session.commit()
    _, crl, _ = checker.files(b"", now)
    text = openssl("crl", "-in", crl, "-noout", "-text").stdout
    assert text.count("Certificate Hold") == 2
    assert "X509v3 CRL Number" in text
