"""The portal's login check: ``card_signature`` at the reader, ``verify_login`` at the portal.

Every refusal raises ``LoginRefused`` with a reason, and the audit log records that reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.audit.models import AuditEntry
from fukaiji.jpki import (
    CardSignature,
    IssuedCard,
    LoginRefusal,
    LoginRefused,
    UnrecognisedCard,
    card_signature,
    certificate_is_usable,
    find_certificate,
    on_address_change,
    reissue_card,
    sign_challenge,
    suspend_card,
    verify_login,
)
from fukaiji.registry.models import Person

Issue = Callable[..., IssuedCard]
MakePerson = Callable[..., Person]
CHALLENGE = b"portal-nonce-0123456789abcdef"


def read_card(
    session: Session, issued: IssuedCard, now: datetime, pin: str = "7395"
) -> CardSignature:
    signature = card_signature(
        session, card_token=issued.card_token, pin=pin, challenge=CHALLENGE, now=now
    )
    session.commit()
    return signature


def login(session: Session, signed: CardSignature, now: datetime, **overrides: object) -> object:
    """The person id, or the refusal's reason; commits either way, as the portal must."""
    arguments: dict[str, object] = {
        "certificate_pem": signed.certificate_pem,
        "challenge": CHALLENGE,
        "signature": signed.signature,
        "now": now,
    }
    arguments.update(overrides)
    try:
        person_id = verify_login(session, **arguments)  # type: ignore[arg-type]
    except LoginRefused as error:
        assert error.keep_changes
        session.commit()
        return error.reason
    session.commit()
    return person_id


def last_refusal(session: Session) -> dict[str, object]:
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "jpki.login.refused")
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).one()
    return {"subject": entry.subject, "actor": entry.actor, **json.loads(entry.details)}


def test_a_good_card_logs_in_as_its_holder(session: Session, issue: Issue, now: datetime) -> None:
    issued = issue()
    signed = read_card(session, issued, now)
    assert signed.certificate_serial == issued.auth_certificate_serial
    assert login(session, signed, now) == issued.person_id
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "jpki.login.verified")
    ).one()
    assert entry.subject == f"card:{issued.card_id}" and entry.actor == "portal"
    certificate = find_certificate(session, signed.certificate_serial)
    assert certificate is not None and certificate.card_id == issued.card_id
    assert certificate_is_usable(session, signed.certificate_serial, now=now)


def test_a_suspended_card_is_refused(session: Session, issue: Issue, now: datetime) -> None:
    issued = issue()
    signed = read_card(session, issued, now)  # captured before the phone call
    suspend_card(session, card_id=issued.card_id, channel="phone", actor="staff:7", now=now)
    session.commit()
    assert login(session, signed, now) == LoginRefusal.SUSPENDED
    refusal = last_refusal(session)
    assert refusal["reason"] == "suspended" and refusal["subject"] == f"card:{issued.card_id}"
    assert not certificate_is_usable(session, signed.certificate_serial, now=now)


def test_the_old_card_is_refused_after_reissue_and_the_new_one_works(
    session: Session, issue: Issue, make_person: MakePerson, ca_key: bytes, now: datetime
) -> None:
    person = make_person()
    old = issue(person)
    old_signed = read_card(session, old, now)
    new = reissue_card(
        session,
        person_id=person.id,
        auth_pin="2468",
        sign_pin="NEWPIN2026",
        ca_key=ca_key,
        actor="staff:3",
        now=now,
    )
    session.commit()
    assert login(session, old_signed, now) == LoginRefusal.REVOKED
    assert last_refusal(session)["reason"] == "revoked"
    # The same person, through the new card only.
    assert login(session, read_card(session, new, now, pin="2468"), now) == person.id


def test_a_wrong_card_token_is_refused_at_the_reader_and_audited(
    session: Session, issue: Issue, now: datetime
) -> None:
    issue()
    with pytest.raises(UnrecognisedCard):
        card_signature(session, card_token="a-card-nobody-issued", pin="7395", challenge=CHALLENGE)
    session.commit()
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "jpki.card.refused")
    ).one()
    assert json.loads(entry.details) == {"reason": "unknown_card"}
    assert entry.subject is None and entry.actor == "card-holder"


def test_a_certificate_past_the_fifth_birthday_is_refused_as_expired(
    session: Session, issue: Issue, make_person: MakePerson, now: datetime
) -> None:
    issued = issue(make_person(birth_date=date(1990, 3, 15)))
    # notAfter is 23:59:59 JST on the fifth birthday; like OpenSSL, that second no longer counts.
    not_after = datetime(2031, 3, 15, 14, 59, 59, tzinfo=UTC)
    # The chip knows no time: it signs as long as the card is active.
    signed = read_card(session, issued, not_after)
    before = not_after - timedelta(microseconds=1)
    assert login(session, signed, before) == issued.person_id
    assert certificate_is_usable(session, signed.certificate_serial, now=before)
    after = not_after
    assert login(session, signed, after) == LoginRefusal.EXPIRED
    assert last_refusal(session)["reason"] == "expired"
    assert not certificate_is_usable(session, signed.certificate_serial, now=after)
    assert login(session, signed, now - timedelta(days=1)) == LoginRefusal.NOT_YET_VALID


def test_a_signature_over_another_challenge_is_refused(
    session: Session, issue: Issue, now: datetime
) -> None:
    signed = read_card(session, issue(), now)
    assert login(session, signed, now, challenge=b"another nonce") == LoginRefusal.BAD_SIGNATURE
    assert login(session, signed, now, signature=b"\x30\x00") == LoginRefusal.BAD_SIGNATURE
    assert last_refusal(session)["reason"] == "bad_signature"


def test_the_signing_certificate_does_not_log_in(
    session: Session, issue: Issue, now: datetime
) -> None:
    issued = issue()
    signature = sign_challenge(
        session,
        card_token=issued.card_token,
        pin="HIBARI48TSUBAME",
        challenge=CHALLENGE,
        function="sign",
        now=now,
    )
    certificate = find_certificate(session, issued.sign_certificate_serial)
    assert certificate is not None
    signed = CardSignature(issued.sign_certificate_serial, certificate.pem.encode(), signature)
    assert login(session, signed, now) == LoginRefusal.NOT_AUTH_CERTIFICATE


def test_an_address_change_does_not_end_login(
    session: Session, issue: Issue, make_person: MakePerson, now: datetime
) -> None:
    person = make_person()
    issued = issue(person)
    on_address_change(session, person_id=person.id, actor="staff:3", now=now)
    session.commit()
    assert login(session, read_card(session, issued, now), now) == person.id


def _forged(serial: int, now: datetime) -> bytes:
    """A certificate that copies the real one's serial and issuer name, signed by another key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fukaiji (simulation of J-LIS)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "fukaiji 公的個人認証 ローカル認証局"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged")]))
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_unknown_forged_and_unreadable_certificates_are_refused(
    session: Session, issue: Issue, now: datetime
) -> None:
    issued = issue()
    signed = read_card(session, issued, now)
    for pem in (
        _forged(issued.auth_certificate_serial, now),  # same serial, not the same certificate
        _forged(x509.random_serial_number(), now),  # never issued here
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        b"",
    ):
        assert login(session, signed, now, certificate_pem=pem) == (
            LoginRefusal.UNKNOWN_CERTIFICATE
        )
        assert last_refusal(session)["reason"] == "unknown_certificate"


def test_each_refusal_message_is_bilingual_and_names_a_field(
    session: Session, issue: Issue, now: datetime
) -> None:
    for reason in LoginRefusal:
        error = LoginRefused(reason)
        assert error.field in {"certificate", "signature"}
        assert "(" in error.message and error.message.endswith(")")
        assert error.reason is reason
