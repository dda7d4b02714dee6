"""No card token, PIN or private key is readable from the database or the audit log.

A day at the card window and the portal is run — issue, logins, wrong PINs, a reset, suspension,
an address change, a renewal, a reissue, refused logins, CRLs — and then every text and binary
column of every row of every table is searched for each secret handed out or typed in.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import LargeBinary, MetaData, String, Text, select
from sqlalchemy.orm import Session

from fukaiji.jpki import (
    Card,
    CardKey,
    CardRefused,
    Certificate,
    CertificateAuthority,
    InvalidPin,
    IssuedCard,
    LoginRefused,
    card_signature,
    chip,
    current_crl,
    lift_suspension,
    on_address_change,
    reissue_card,
    renew_signing_certificate,
    reset_pin,
    sign_challenge,
    suspend_card,
    verify_login,
)
from fukaiji.jpki.certificates import decrypt_authority_key
from fukaiji.jpki.states import CardFunction
from fukaiji.registry.models import Person

Issue = Callable[..., IssuedCard]
MakePerson = Callable[..., Person]


def stored_values(session: Session) -> Iterator[tuple[str, str, bytes]]:
    """Every text and binary value in every table the database holds, read by reflection so that
    tables of other packages (and any column a model forgot to declare) are searched too."""
    database = MetaData()
    database.reflect(bind=session.connection())
    for table in database.sorted_tables:
        columns = [
            column
            for column in table.columns
            if isinstance(column.type, String | Text | LargeBinary)
        ]
        if not columns:
            continue
        for row in session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value is not None:
                    data = value if isinstance(value, bytes) else str(value).encode()
                    yield table.name, column.name, data


def variants(secret: bytes) -> list[bytes]:
    """The secret as is, and the forms an encoder might have left it in."""
    return [
        secret,
        secret.lower(),
        secret.upper(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
        secret.hex().encode(),
    ]


def assert_nowhere(session: Session, secrets: dict[str, bytes]) -> None:
    searched = set()
    for table, column, value in stored_values(session):
        searched.add(table)
        for name, secret in secrets.items():
            for variant in variants(secret):
                assert variant not in value, f"{name} found in {table}.{column}"
    assert searched >= {"audit_entries", "jpki_authorities", "jpki_cards", "jpki_card_keys"}
    assert "jpki_certificates" in searched


def assert_no_short_pin(session: Session, pins: dict[str, str]) -> None:
    """A 4-digit PIN may occur by chance inside hex, base64 or a hash; written down as a value
    it would stand alone, so only a standalone occurrence counts."""
    for table, column, value in stored_values(session):
        for name, pin in pins.items():
            pattern = rb"(?<![0-9A-Za-z+/])" + pin.encode() + rb"(?![0-9A-Za-z+/=])"
            assert re.search(pattern, value) is None, f"{name} found in {table}.{column}"


def refused(operation: Callable[[], object], session: Session) -> None:
    with pytest.raises((CardRefused, LoginRefused, InvalidPin)):
        operation()
    session.commit()


def test_no_token_pin_or_private_key_is_stored_or_audited(
    session: Session,
    issue: Issue,
    make_person: MakePerson,
    ca_key: bytes,
    now: datetime,
    auth_pin: str,
    sign_pin: str,
) -> None:
    person = make_person()
    card = issue(person)
    token = card.card_token
    short_pins = {"auth PIN": auth_pin, "wrong auth PIN": "4826", "reset auth PIN": "6173"}
    long_pins = {"sign PIN": sign_pin, "wrong sign PIN": "GUESS12345", "renewed": "RENEWED77X"}

    signed = card_signature(session, card_token=token, pin=auth_pin, challenge=b"n1", now=now)
    verify_login(
        session,
        certificate_pem=signed.certificate_pem,
        challenge=b"n1",
        signature=signed.signature,
        now=now,
    )
    refused(lambda: sign_challenge(session, card_token=token, pin="4826", challenge=b"n"), session)
    refused(
        lambda: sign_challenge(
            session, card_token=token, pin="GUESS12345", challenge=b"n", function="sign"
        ),
        session,
    )
    refused(lambda: sign_challenge(session, card_token=token, pin="48", challenge=b"n"), session)
    sign_challenge(session, card_token=token, pin=sign_pin, challenge=b"doc", function="sign")
    reset_pin(session, card_token=token, function="auth", new_pin="6173", actor="staff:3")
    suspend_card(session, card_id=card.card_id, channel="phone", actor="staff:7", now=now)
    session.commit()
    refused(lambda: sign_challenge(session, card_token=token, pin="6173", challenge=b"n"), session)
    refused(
        lambda: verify_login(
            session,
            certificate_pem=signed.certificate_pem,
            challenge=b"n1",
            signature=signed.signature,
        ),
        session,
    )
    lift_suspension(session, card_id=card.card_id, actor="staff:7", now=now)
    on_address_change(session, person_id=person.id, actor="staff:3", now=now)
    renew_signing_certificate(
        session, card_token=token, sign_pin="RENEWED77X", ca_key=ca_key, actor="staff:9", now=now
    )
    later = now + timedelta(days=1)
    new = reissue_card(
        session,
        person_id=person.id,
        auth_pin="5047",
        sign_pin="REISSUE88Y",
        ca_key=ca_key,
        actor="staff:3",
        now=later,
    )
    session.commit()
    short_pins["new auth PIN"] = "5047"
    long_pins["new sign PIN"] = "REISSUE88Y"
    refused(lambda: sign_challenge(session, card_token=token, pin="6173", challenge=b"n"), session)
    refused(
        lambda: sign_challenge(session, card_token=token[::-1], pin="6173", challenge=b"n"), session
    )
    current_crl(session, ca_key=ca_key, now=later)
    session.commit()

    secrets = {"old token": token.encode(), "new token": new.card_token.encode()}
    secrets |= {name: pin.encode() for name, pin in long_pins.items()}
    assert_nowhere(session, secrets)
    assert_no_short_pin(session, short_pins)


def test_private_keys_are_never_stored_in_the_clear(
    session: Session, issue: Issue, ca_key: bytes, now: datetime
) -> None:
    issued = [issue(), issue()]
    current_crl(session, ca_key=ca_key, now=now)
    session.commit()
    values = [value for _, _, value in stored_values(session)]
    for value in values:
        assert b"BEGIN PRIVATE KEY" not in value and b"BEGIN EC PRIVATE KEY" not in value

    private_keys = []
    for card in issued:
        row = session.get(Card, card.card_id)
        assert row is not None
        key = chip.storage_key(card.card_token, row.key_salt)
        for card_key in row.keys:
            function = CardFunction(card_key.function)
            private_keys.append(chip.unseal(key, function, card_key.private_key_sealed))
    authority = session.get(CertificateAuthority, 1)
    assert authority is not None
    assert authority.private_key_pem_encrypted.startswith("-----BEGIN ENCRYPTED PRIVATE KEY")
    private_keys.append(decrypt_authority_key(authority.private_key_pem_encrypted, ca_key))

    for private_key in private_keys:
        der = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        scalar = private_key.private_numbers().private_value.to_bytes(32, "big")
        for secret in (der, scalar):
            for value in values:
                for variant in variants(secret):
                    assert variant not in value


def test_without_the_token_the_chip_keys_cannot_be_used(
    session: Session, issue: Issue, auth_pin: str
) -> None:
    issued = issue()
    card = session.get(Card, issued.card_id)
    assert card is not None
    sealed = card.key(CardFunction.AUTH).private_key_sealed
    # Everything the database holds about the token, tried as the token: nothing opens the seal.
    for guess in (card.token_hash, card.key_salt.hex(), issued.card_token + "x", ""):
        with pytest.raises(chip.SealBroken):
            chip.unseal(chip.storage_key(guess, card.key_salt), CardFunction.AUTH, sealed)
    # The signing key's seal does not open as the auth key (bound to its function).
    right = chip.storage_key(issued.card_token, card.key_salt)
    with pytest.raises(chip.SealBroken):
        chip.unseal(right, CardFunction.AUTH, card.key(CardFunction.SIGN).private_key_sealed)
    # And the service, shown the stored hash instead of the card, refuses to sign.
    with pytest.raises(CardRefused):
        sign_challenge(session, card_token=card.token_hash, pin=auth_pin, challenge=b"c")


def test_no_repr_or_error_shows_a_token_or_pin(
    session: Session, issue: Issue, auth_pin: str, sign_pin: str
) -> None:
    issued = issue()
    card = session.get(Card, issued.card_id)
    assert card is not None
    texts = [repr(issued), str(issued), repr(card), *map(repr, card.keys)]
    texts += [repr(certificate) for certificate in session.scalars(select(Certificate))]
    texts += [repr(key) for key in session.scalars(select(CardKey))]
    for pin in ("0000", auth_pin):
        try:
            sign_challenge(session, card_token=issued.card_token, pin=pin, challenge=b"c")
        except CardRefused as error:
            texts += [error.message, repr(error), repr(vars(error))]
    try:
        sign_challenge(session, card_token=issued.card_token + "?", pin=auth_pin, challenge=b"c")
    except CardRefused as error:
        texts += [error.message, repr(error), repr(vars(error))]
    for text in texts:
        for secret in (issued.card_token, auth_pin, sign_pin, card.token_hash):
            assert secret not in text


def test_an_altered_sealed_key_is_refused_and_audited(
    session: Session, issue: Issue, auth_pin: str
) -> None:
    import json

    from fukaiji.audit.models import AuditEntry

    issued = issue()
    key = session.get(CardKey, (issued.card_id, "auth"))
    assert key is not None
    tampered = bytearray(key.private_key_sealed)
    tampered[-1] ^= 0x01
    key.private_key_sealed = bytes(tampered)
    session.commit()
    refused(
        lambda: sign_challenge(session, card_token=issued.card_token, pin=auth_pin, challenge=b"c"),
        session,
    )
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "jpki.card.refused")
    ).one()
    assert json.loads(entry.details)["fault"] == "seal_broken"
