"""Operations of the card authority: the CA, issue and reissue, the chip, suspension, the CRL,
and the login check the portal calls.

Every operation appends to the audit log inside the caller's transaction. Refusals that change
something (a wrong PIN counts towards the lock) or that are worth knowing about (a suspended card
presented, an abolished card tried again) are audited too and raise an error whose
``keep_changes`` is true: the caller must commit after catching it. The per-request checks of the
portal (``card_is_usable``, ``certificate_is_usable``) read only and are not audited, for the
same reason staff sessions are not (one audit entry per request would serialise every request).

Locking: every operation on a card first selects the card row ``FOR UPDATE`` (on SQLite the
transaction already holds the write lock), so two wrong PINs typed at once cannot both see the
counter at zero. One live card per person is a partial unique index; one CA is a fixed primary
key. A concurrent loser of either collision fails cleanly inside a savepoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from fukaiji import audit
from fukaiji.db.base import MAX_ID, utc_now
from fukaiji.jpki import chip
from fukaiji.jpki.certificates import (
    CaKeyUnreadable,
    CrlEntry,
    Holder,
    card_certificate,
    decrypt_authority_key,
    encrypt_authority_key,
    issued_by,
    new_authority,
    revocation_list,
    serial_hex,
)
from fukaiji.jpki.errors import (
    AuthorityKeyUnreadable,
    AuthorityNotCreated,
    CardAbolished,
    CardAlreadyIssued,
    CardNotActive,
    CardNotSuspended,
    CardRefused,
    CardSuspended,
    InvalidChallenge,
    InvalidChoice,
    InvalidSerial,
    LoginRefusal,
    LoginRefused,
    NoCard,
    NoCertificate,
    PersonWithoutAddress,
    PinLocked,
    UnknownCard,
    UnknownCertificate,
    UnknownPerson,
    UnrecognisedCard,
    WrongPin,
)
from fukaiji.jpki.models import AUTHORITY_ROW_ID, Card, CardKey, Certificate, CertificateAuthority
from fukaiji.jpki.pins import MAX_WRONG_PINS, check_pin, hash_pin, verify_pin
from fukaiji.jpki.states import (
    AbolitionReason,
    CardFunction,
    CardStatus,
    CertificateStatus,
    SuspensionChannel,
)
from fukaiji.jpki.validity import certificate_not_after, within_validity
from fukaiji.registry.models import Person
from fukaiji.registry.service import person_subject

# Who the audit log names for what the card does in the holder's hand (the chip has no account),
# and for what the authority does by itself.
# The purpose under which the caller derives the CA key (Settings.derive_key).
CA_KEY_PURPOSE = "jpki-ca"
CARD_HOLDER_ACTOR = "card-holder"
SYSTEM_ACTOR = "system"
MAX_CHALLENGE_BYTES = 1024
# Ids are INTEGER columns (32-bit on PostgreSQL); a larger number names no card.


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """The card handed over at the window. The token is shown here once and stored nowhere."""

    card_id: int
    person_id: uuid.UUID
    auth_certificate_serial: int
    sign_certificate_serial: int
    card_token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CardSignature:
    """What a card reader returns: the signature and the certificate it was made for."""

    certificate_serial: int
    certificate_pem: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class _Authority:
    row: CertificateAuthority
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def card_subject(card_id: int) -> str:
    return f"card:{card_id}"


def parse_serial(text: str) -> int:
    """A serial as openssl prints it: hexadecimal, any case, with or without colons or ``0x``."""
    cleaned = text.strip().lower().replace(":", "").removeprefix("0x")
    if not cleaned or len(cleaned) > 40 or any(c not in "0123456789abcdef" for c in cleaned):
        raise InvalidSerial(text)
    return int(cleaned, 16)


def _function(value: str) -> CardFunction:
    try:
        return CardFunction(value)
    except ValueError:
        raise InvalidChoice(
            "function", "機能", value, [function.value for function in CardFunction]
        ) from None


def _channel(value: str) -> SuspensionChannel:
    try:
        return SuspensionChannel(value)
    except ValueError:
        raise InvalidChoice(
            "channel", "受付経路", value, [channel.value for channel in SuspensionChannel]
        ) from None


def _check_challenge(challenge: bytes) -> None:
    if not 1 <= len(challenge) <= MAX_CHALLENGE_BYTES:
        raise InvalidChallenge(MAX_CHALLENGE_BYTES)


def _audit_card(
    session: Session, card: Card, *, actor: str, action: str, now: datetime, **details: object
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        subject=card_subject(card.id),
        details={"person": str(card.person_id), **details},
        at=now,
    )


def _fresh(statement: Select[Any]) -> Select[Any]:
    # A long-lived session may hold these rows from an earlier transaction; a PIN counter or a
    # status read from that copy instead of the database would be a lost update.
    return statement.execution_options(populate_existing=True)


def _certificates_of(session: Session, card: Card) -> list[Certificate]:
    return list(
        session.scalars(
            _fresh(
                select(Certificate).where(Certificate.card_id == card.id).order_by(Certificate.id)
            )
        )
    )


def _key_of(session: Session, card: Card, function: CardFunction) -> CardKey:
    return session.scalars(
        _fresh(select(CardKey).where(CardKey.card_id == card.id, CardKey.function == function))
    ).one()


# ---- the certificate authority -------------------------------------------------------------


def _authority_row(session: Session, *, for_update: bool = False) -> CertificateAuthority | None:
    statement = select(CertificateAuthority).where(CertificateAuthority.id == AUTHORITY_ROW_ID)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement.execution_options(populate_existing=True)).one_or_none()


def _authority(
    session: Session, *, ca_key: bytes, now: datetime, actor: str, for_update: bool = False
) -> _Authority:
    """The CA, created on first use; its key decrypted for this operation only."""
    row = _authority_row(session, for_update=for_update)
    if row is None:
        _create_authority(session, ca_key=ca_key, now=now, actor=actor)
        row = _authority_row(session, for_update=for_update)
        assert row is not None  # noqa: S101  created above, by us or by the racer that won
    try:
        key = decrypt_authority_key(row.private_key_pem_encrypted, ca_key)
    except CaKeyUnreadable as error:
        raise AuthorityKeyUnreadable() from error
    return _Authority(row, x509.load_pem_x509_certificate(row.certificate_pem.encode()), key)


def _create_authority(session: Session, *, ca_key: bytes, now: datetime, actor: str) -> None:
    key, certificate = new_authority(now)
    row = CertificateAuthority(
        id=AUTHORITY_ROW_ID,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        private_key_pem_encrypted=encrypt_authority_key(key, ca_key),
        crl_number=0,
        created_at=now,
    )
    # Another process creating it at the same moment collides on the primary key; the savepoint
    # keeps our transaction usable, and the caller reads the winner's row.
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return
    audit.record(
        session,
        actor=actor,
        action="jpki.ca.created",
        subject="jpki:ca",
        details={"serial": serial_hex(certificate.serial_number)},
        at=now,
    )


def _authority_certificate(session: Session) -> x509.Certificate | None:
    pem = session.scalar(
        select(CertificateAuthority.certificate_pem).where(
            CertificateAuthority.id == AUTHORITY_ROW_ID
        )
    )
    return None if pem is None else x509.load_pem_x509_certificate(pem.encode())


def export_ca_certificate(
    session: Session,
    *,
    ca_key: bytes | None = None,
    now: datetime | None = None,
    actor: str = SYSTEM_ACTOR,
) -> bytes:
    """The CA certificate (PEM). With ``ca_key``, the CA is created if it does not exist yet."""
    now = now or utc_now()
    if ca_key is not None:
        certificate = _authority(session, ca_key=ca_key, now=now, actor=actor).certificate
    else:
        found = _authority_certificate(session)
        if found is None:
            raise AuthorityNotCreated()
        certificate = found
    audit.record(session, actor=actor, action="jpki.ca.exported", subject="jpki:ca", at=now)
    return certificate.public_bytes(serialization.Encoding.PEM)


def current_crl(
    session: Session, *, ca_key: bytes, now: datetime | None = None, actor: str = SYSTEM_ACTOR
) -> bytes:
    """A fresh CRL (DER): every certificate on hold (certificateHold) and every revoked one, with
    its reason and date; valid for one day. Each CRL gets the next CRL number."""
    now = now or utc_now()
    authority = _authority(session, ca_key=ca_key, now=now, actor=actor, for_update=True)
    authority.row.crl_number += 1
    listed = list(
        session.scalars(
            select(Certificate)
            .where(Certificate.status != CertificateStatus.VALID)
            .order_by(Certificate.id)
        )
    )
    crl = revocation_list(
        entries=[_crl_entry(certificate) for certificate in listed],
        number=authority.row.crl_number,
        now=now,
        authority=authority.certificate,
        authority_key=authority.key,
    )
    audit.record(
        session,
        actor=actor,
        action="jpki.crl.issued",
        subject="jpki:ca",
        details={"crl_number": authority.row.crl_number, "entries": len(listed)},
        at=now,
    )
    return crl.public_bytes(serialization.Encoding.DER)


def _crl_entry(certificate: Certificate) -> CrlEntry:
    assert certificate.revoked_at is not None  # noqa: S101  the table's check constraint
    assert certificate.revocation_reason is not None  # noqa: S101
    return CrlEntry(
        serial=int(certificate.serial, 16),
        revoked_at=certificate.revoked_at,
        reason=x509.ReasonFlags(certificate.revocation_reason),
    )


# ---- issue ---------------------------------------------------------------------------------


def _person(session: Session, person_id: uuid.UUID) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise UnknownPerson(person_id)
    return person


def _holder(person: Person) -> Holder:
    residence = next((r for r in reversed(person.residences) if r.moved_out_on is None), None)
    if residence is None:
        raise PersonWithoutAddress(person.id)
    return Holder(
        family_name=person.family_name,
        given_name=person.given_name,
        municipality_code=residence.municipality_code,
        address_line=residence.address_line,
    )


def _live_card(session: Session, person_id: uuid.UUID, *, for_update: bool = False) -> Card | None:
    statement = select(Card).where(Card.person_id == person_id, Card.abolished_at.is_(None))
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(_fresh(statement)).one_or_none()


def _check_pins(auth_pin: str, sign_pin: str) -> None:
    check_pin(CardFunction.AUTH, auth_pin, field="auth_pin")
    check_pin(CardFunction.SIGN, sign_pin, field="sign_pin")


def issue_card(
    session: Session,
    *,
    person_id: uuid.UUID,
    auth_pin: str,
    sign_pin: str,
    ca_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> IssuedCard:
    """交付: a new card with two key pairs made on the chip and two certificates.

    Everything is checked before anything is written, so a refusal changes nothing.
    """
    now = now or utc_now()
    _check_pins(auth_pin, sign_pin)
    person = _person(session, person_id)
    holder = _holder(person)
    if _live_card(session, person_id) is not None:
        raise CardAlreadyIssued(person_id)
    return _issue(session, person, holder, auth_pin, sign_pin, ca_key, actor, now)


def _issue(
    session: Session,
    person: Person,
    holder: Holder,
    auth_pin: str,
    sign_pin: str,
    ca_key: bytes,
    actor: str,
    now: datetime,
    replaces: int | None = None,
) -> IssuedCard:
    authority = _authority(session, ca_key=ca_key, now=now, actor=actor)
    token, salt = chip.new_card_token(), chip.new_salt()
    sealing_key = chip.storage_key(token, salt)
    card = Card(
        person_id=person.id,
        status=CardStatus.ACTIVE,
        token_hash=chip.token_digest(token),
        key_salt=salt,
        issued_at=now,
    )
    serials = {}
    for function, pin in ((CardFunction.AUTH, auth_pin), (CardFunction.SIGN, sign_pin)):
        private_key = chip.new_private_key()
        card.keys.append(_card_key(sealing_key, function, private_key, pin))
        certificate = _new_certificate(
            card, function, private_key.public_key(), holder, person, authority, now
        )
        serials[function] = int(certificate.serial, 16)
    _insert_card(session, card)
    _audit_card(
        session,
        card,
        actor=actor,
        action="jpki.card.issued",
        now=now,
        auth_serial=serial_hex(serials[CardFunction.AUTH]),
        sign_serial=serial_hex(serials[CardFunction.SIGN]),
        replaces=replaces,
    )
    return IssuedCard(
        card_id=card.id,
        person_id=person.id,
        auth_certificate_serial=serials[CardFunction.AUTH],
        sign_certificate_serial=serials[CardFunction.SIGN],
        card_token=token,
    )


def _card_key(
    sealing_key: bytes, function: CardFunction, private_key: ec.EllipticCurvePrivateKey, pin: str
) -> CardKey:
    key = CardKey(function=function)
    _load_key(key, sealing_key, private_key, pin)
    return key


def _load_key(
    key: CardKey, sealing_key: bytes, private_key: ec.EllipticCurvePrivateKey, pin: str
) -> None:
    """Put a new key pair's private half and a new PIN on the chip; the counter starts afresh."""
    function = CardFunction(key.function)  # read back from the database it is a plain str
    key.private_key_sealed = chip.seal(sealing_key, function, private_key)
    key.pin_hash = hash_pin(function, pin)
    key.failed_attempts = 0
    key.locked_at = None


def _new_certificate(
    card: Card,
    function: CardFunction,
    public_key: ec.EllipticCurvePublicKey,
    holder: Holder,
    person: Person,
    authority: _Authority,
    now: datetime,
) -> Certificate:
    issued = card_certificate(
        function=function,
        serial=x509.random_serial_number(),
        public_key=public_key,
        holder=holder,
        not_before=now,
        not_after=certificate_not_after(person.birth_date, now),
        authority=authority.certificate,
        authority_key=authority.key,
    )
    certificate = Certificate(
        serial=serial_hex(issued.serial_number),
        function=function,
        status=CertificateStatus.VALID,
        pem=issued.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        not_before=issued.not_valid_before_utc,
        not_after=issued.not_valid_after_utc,
        issued_at=now,
    )
    card.certificates.append(certificate)
    return certificate


def _insert_card(session: Session, card: Card) -> None:
    # A concurrent issue for the same person passes the check before; the partial unique index
    # catches it, and the savepoint keeps the caller's transaction usable.
    try:
        with session.begin_nested():
            session.add(card)
    except IntegrityError as error:
        raise CardAlreadyIssued(card.person_id) from error


# ---- the chip ------------------------------------------------------------------------------


def _card_by_token(session: Session, card_token: str, *, actor: str, now: datetime) -> Card:
    card = session.scalars(
        _fresh(
            select(Card).where(Card.token_hash == chip.token_digest(card_token)).with_for_update()
        )
    ).one_or_none()
    if card is None:
        audit.record(
            session,
            actor=actor,
            action="jpki.card.refused",
            details={"reason": UnrecognisedCard.reason},
            at=now,
        )
        raise UnrecognisedCard()
    return card


def _refuse(
    session: Session,
    card: Card,
    error: CardRefused,
    *,
    actor: str,
    now: datetime,
    **details: object,
) -> CardRefused:
    """Audit a refusal by the chip and return the error to raise; the entry survives it."""
    _audit_card(
        session,
        card,
        actor=actor,
        action="jpki.card.refused",
        now=now,
        reason=error.reason,
        **details,
    )
    return error


def _usable_card(session: Session, card: Card, *, actor: str, now: datetime) -> None:
    if card.status == CardStatus.ABOLISHED:
        raise _refuse(session, card, CardAbolished(card.id), actor=actor, now=now)
    if card.status == CardStatus.SUSPENDED:
        raise _refuse(session, card, CardSuspended(card.id), actor=actor, now=now)


def _held_certificate(session: Session, card: Card, function: CardFunction) -> Certificate | None:
    """The certificate the chip holds for ``function``: the newest one not revoked."""
    held = [
        certificate
        for certificate in _certificates_of(session, card)
        if certificate.function == function and certificate.status != CertificateStatus.REVOKED
    ]
    return held[-1] if held else None


def _check_pin_on_chip(
    session: Session, card: Card, function: CardFunction, pin: str, *, actor: str, now: datetime
) -> CardKey:
    key = _key_of(session, card, function)
    if key.locked_at is not None:
        raise _refuse(session, card, PinLocked(function), actor=actor, now=now, function=function)
    if not verify_pin(function, key.pin_hash, pin):
        key.failed_attempts += 1
        remaining = max(MAX_WRONG_PINS - key.failed_attempts, 0)
        if remaining == 0:
            key.locked_at = now
        raise _refuse(
            session,
            card,
            WrongPin(function, remaining),
            actor=actor,
            now=now,
            function=function,
            failed_attempts=key.failed_attempts,
            locked=remaining == 0,
        )
    key.failed_attempts = 0
    return key


def _sign(
    session: Session,
    *,
    card_token: str,
    pin: str,
    challenge: bytes,
    function: str,
    now: datetime | None,
    actor: str,
) -> tuple[Certificate, bytes]:
    chosen = _function(function)
    _check_challenge(challenge)
    # A PIN that breaks the format cannot be right; it is refused like a typo on the keypad,
    # before the chip, and does not count towards the lock.
    check_pin(chosen, pin, field="pin")
    now = now or utc_now()
    card = _card_by_token(session, card_token, actor=actor, now=now)
    _usable_card(session, card, actor=actor, now=now)
    certificate = _held_certificate(session, card, chosen)
    if certificate is None:
        raise _refuse(session, card, NoCertificate(card.id, chosen), actor=actor, now=now)
    key = _check_pin_on_chip(session, card, chosen, pin, actor=actor, now=now)
    try:
        private_key = chip.unseal(
            chip.storage_key(card_token, card.key_salt), chosen, key.private_key_sealed
        )
    except chip.SealBroken:
        # The token matched its hash, so the row itself was altered.
        raise _refuse(
            session, card, UnrecognisedCard(), actor=actor, now=now, fault="seal_broken"
        ) from None
    signature = chip.sign(private_key, challenge)
    _audit_card(
        session,
        card,
        actor=actor,
        action="jpki.card.signed",
        now=now,
        function=chosen,
        serial=certificate.serial,
    )
    return certificate, signature


def sign_challenge(
    session: Session,
    *,
    card_token: str,
    pin: str,
    challenge: bytes,
    function: str = CardFunction.AUTH,
    now: datetime | None = None,
    actor: str = CARD_HOLDER_ACTOR,
) -> bytes:
    """The chip signs ``challenge`` (ECDSA P-256, SHA-256, DER) with the key of ``function``.

    Refused (``CardRefused``, audited; commit after catching it) for an unknown token, a suspended
    or abolished card, a function without a usable certificate, a locked PIN, and a wrong PIN —
    which counts: the third in a row locks the function until ``reset_pin``.
    """
    _, signature = _sign(
        session,
        card_token=card_token,
        pin=pin,
        challenge=challenge,
        function=function,
        now=now,
        actor=actor,
    )
    return signature


def card_signature(
    session: Session,
    *,
    card_token: str,
    pin: str,
    challenge: bytes,
    now: datetime | None = None,
    actor: str = CARD_HOLDER_ACTOR,
) -> CardSignature:
    """The card reader: an authentication signature over ``challenge`` and the 利用者証明用
    certificate it belongs to, ready for ``verify_login``."""
    certificate, signature = _sign(
        session,
        card_token=card_token,
        pin=pin,
        challenge=challenge,
        function=CardFunction.AUTH,
        now=now,
        actor=actor,
    )
    return CardSignature(
        certificate_serial=int(certificate.serial, 16),
        certificate_pem=certificate.pem.encode("ascii"),
        signature=signature,
    )


def reset_pin(
    session: Session,
    *,
    card_token: str,
    function: str,
    new_pin: str,
    actor: str,
    now: datetime | None = None,
) -> None:
    """暗証番号の再設定 at the window, with the card present: a new PIN, and the lock lifted."""
    chosen = _function(function)
    check_pin(chosen, new_pin, field="new_pin")
    now = now or utc_now()
    card = _card_by_token(session, card_token, actor=actor, now=now)
    if card.status == CardStatus.ABOLISHED:
        raise _refuse(session, card, CardAbolished(card.id), actor=actor, now=now)
    key = _key_of(session, card, chosen)
    was_locked = key.locked_at is not None
    key.pin_hash = hash_pin(chosen, new_pin)
    key.failed_attempts = 0
    key.locked_at = None
    _audit_card(
        session,
        card,
        actor=actor,
        action="jpki.pin.reset",
        now=now,
        function=chosen,
        was_locked=was_locked,
    )


# ---- the login check -----------------------------------------------------------------------


def _parse_certificate(certificate_pem: bytes | str) -> x509.Certificate | None:
    data = certificate_pem.encode("ascii") if isinstance(certificate_pem, str) else certificate_pem
    try:
        return x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError):
        return None


def _stored_certificate(session: Session, presented: x509.Certificate) -> Certificate | None:
    """Ours only if a certificate with its serial was issued here and it is that very one."""
    stored = session.scalars(
        _fresh(
            select(Certificate)
            .options(joinedload(Certificate.card))
            .where(Certificate.serial == serial_hex(presented.serial_number))
        )
    ).one_or_none()
    if stored is None:
        return None
    return stored if x509.load_pem_x509_certificate(stored.pem.encode()) == presented else None


def _effective_status(certificate: Certificate) -> CertificateStatus:
    # The card's state is authoritative too: a card abolished or suspended cannot log in even if
    # a certificate row were somehow left behind as valid.
    card_status = certificate.card.status
    if certificate.status == CertificateStatus.REVOKED or card_status == CardStatus.ABOLISHED:
        return CertificateStatus.REVOKED
    if certificate.status == CertificateStatus.ON_HOLD or card_status == CardStatus.SUSPENDED:
        return CertificateStatus.ON_HOLD
    return CertificateStatus.VALID


def _login_refusal(
    stored: Certificate,
    presented: x509.Certificate,
    authority: x509.Certificate,
    challenge: bytes,
    signature: bytes,
    now: datetime,
) -> LoginRefusal | None:
    """The first reason to refuse, in this order: chain, kind, proof of possession, status,
    time. Possession comes before status so that a SUSPENDED or REVOKED entry in the audit log
    means the card itself (with its PIN) was used, not just a copy of its public certificate."""
    if not issued_by(presented, authority):
        return LoginRefusal.UNTRUSTED_CERTIFICATE
    if stored.function != CardFunction.AUTH:
        return LoginRefusal.NOT_AUTH_CERTIFICATE
    if not chip.signature_is_valid(presented.public_key(), challenge, signature):
        return LoginRefusal.BAD_SIGNATURE
    status = _effective_status(stored)
    if status == CertificateStatus.REVOKED:
        return LoginRefusal.REVOKED
    if status == CertificateStatus.ON_HOLD:
        return LoginRefusal.SUSPENDED
    # Within the certificate's validity and the CA's, read as OpenSSL reads them.
    starts = max(stored.not_before, authority.not_valid_before_utc)
    ends = min(stored.not_after, authority.not_valid_after_utc)
    if now < starts:
        return LoginRefusal.NOT_YET_VALID
    if not within_validity(starts, ends, now):
        return LoginRefusal.EXPIRED
    return None


def verify_login(
    session: Session,
    *,
    certificate_pem: bytes | str,
    challenge: bytes,
    signature: bytes,
    now: datetime | None = None,
    actor: str = "portal",
) -> uuid.UUID:
    """The portal's login check: the person whose 利用者証明用 certificate made ``signature``.

    The portal passes what the card reader returned (``CardSignature``: the certificate and the
    signature) and the challenge it issued itself; freshness of the challenge (one use, short
    life) is the portal's to enforce. Checked: the certificate is one this CA issued (same serial,
    same bytes, CA signature), it is an authentication certificate, the signature, its hold or
    revocation status and its card's state, and the validity period at ``now``. Every outcome is
    audited; a refusal raises ``LoginRefused(reason)`` (commit after catching it).
    """
    _check_challenge(challenge)
    now = now or utc_now()
    presented = _parse_certificate(certificate_pem)
    stored = None if presented is None else _stored_certificate(session, presented)
    authority = _authority_certificate(session)
    if presented is None or stored is None or authority is None:
        raise _refuse_login(session, LoginRefusal.UNKNOWN_CERTIFICATE, presented, None, actor, now)
    reason = _login_refusal(stored, presented, authority, challenge, signature, now)
    if reason is not None:
        raise _refuse_login(session, reason, presented, stored, actor, now)
    _audit_card(
        session,
        stored.card,
        actor=actor,
        action="jpki.login.verified",
        now=now,
        serial=stored.serial,
    )
    return stored.card.person_id


def _refuse_login(
    session: Session,
    reason: LoginRefusal,
    presented: x509.Certificate | None,
    stored: Certificate | None,
    actor: str,
    now: datetime,
) -> LoginRefused:
    details: dict[str, object] = {"reason": reason}
    if presented is not None:
        details["serial"] = serial_hex(presented.serial_number)
    if stored is None:
        audit.record(session, actor=actor, action="jpki.login.refused", details=details, at=now)
    else:
        _audit_card(
            session, stored.card, actor=actor, action="jpki.login.refused", now=now, **details
        )
    return LoginRefused(reason)


# ---- per-request checks and look-ups (not audited: see the module docstring) ---------------


def find_card_for_person(session: Session, person_id: uuid.UUID) -> Card | None:
    """The person's card that is not abolished, if any (the toll-free line knows the caller by
    person, not by card). Only the look-up: the operation that follows is audited."""
    return _live_card(session, person_id)


def find_certificate(session: Session, serial: int) -> Certificate | None:
    """The certificate with ``serial`` (its ``card_id`` ties a portal session to a card)."""
    return session.scalars(
        select(Certificate).where(Certificate.serial == serial_hex(serial))
    ).one_or_none()


def card_is_usable(session: Session, card_id: int) -> bool:
    """Whether the card is neither suspended nor abolished; cheap enough for every request."""
    if not 1 <= card_id <= MAX_ID:
        return False
    return session.scalar(select(Card.status).where(Card.id == card_id)) == CardStatus.ACTIVE


def certificate_status(session: Session, serial: int) -> CertificateStatus | None:
    """The stored status of the certificate with ``serial``, or None if this CA never issued it."""
    status = session.scalar(
        select(Certificate.status).where(Certificate.serial == serial_hex(serial))
    )
    return None if status is None else CertificateStatus(status)


def certificate_is_usable(session: Session, serial: int, *, now: datetime | None = None) -> bool:
    """Whether a session opened with this certificate may go on: valid, in its validity period,
    and its card active. One query; meant to be re-checked on every request."""
    now = now or utc_now()
    row = session.execute(
        select(Certificate.status, Certificate.not_before, Certificate.not_after, Card.status)
        .join(Card, Card.id == Certificate.card_id)
        .where(Certificate.serial == serial_hex(serial))
    ).one_or_none()
    if row is None:
        return False
    status, not_before, not_after, card_status = row
    return (
        status == CertificateStatus.VALID
        and card_status == CardStatus.ACTIVE
        and within_validity(not_before, not_after, now)
    )


def export_certificate(
    session: Session, serial: int, *, actor: str, now: datetime | None = None
) -> bytes:
    """A card's certificate (PEM). Audited: a signing certificate carries name and address."""
    certificate = find_certificate(session, serial)
    if certificate is None:
        raise UnknownCertificate(serial_hex(serial))
    _audit_card(
        session,
        certificate.card,
        actor=actor,
        action="jpki.certificate.exported",
        now=now or utc_now(),
        serial=certificate.serial,
        function=certificate.function,
    )
    return certificate.pem.encode("ascii")


# ---- suspension, abolition, reissue ------------------------------------------------------


def _card_for_update(session: Session, card_id: int) -> Card:
    card = None
    if 1 <= card_id <= MAX_ID:
        card = session.scalars(
            _fresh(select(Card).where(Card.id == card_id).with_for_update())
        ).one_or_none()
    if card is None:
        raise UnknownCard(card_id)
    return card


def _withdraw(
    certificates: Iterable[Certificate],
    *,
    status: CertificateStatus,
    reason: x509.ReasonFlags,
    now: datetime,
) -> list[str]:
    """Put each certificate on hold or revoke it; the serials changed, for the audit log."""
    changed = []
    for certificate in certificates:
        certificate.status = status
        certificate.revoked_at = now
        certificate.revocation_reason = reason.value
        changed.append(certificate.serial)
    return changed


def suspend_card(
    session: Session, *, card_id: int, channel: str, actor: str, now: datetime | None = None
) -> Card:
    """一時停止, by phone or at the window: at once, both certificates go on hold. Suspending a
    suspended card changes nothing (a second call is still audited)."""
    via = _channel(channel)
    now = now or utc_now()
    card = _card_for_update(session, card_id)
    if card.status == CardStatus.ABOLISHED:
        raise CardAbolished(card.id)
    already = card.status == CardStatus.SUSPENDED
    held: list[str] = []
    if not already:
        card.status, card.suspended_at, card.suspended_via = CardStatus.SUSPENDED, now, via
        held = _withdraw(
            (c for c in _certificates_of(session, card) if c.status == CertificateStatus.VALID),
            status=CertificateStatus.ON_HOLD,
            reason=x509.ReasonFlags.certificate_hold,
            now=now,
        )
    _audit_card(
        session,
        card,
        actor=actor,
        action="jpki.card.suspended",
        now=now,
        channel=via,
        already_suspended=already,
        held=held,
    )
    return card


def lift_suspension(
    session: Session, *, card_id: int, actor: str, now: datetime | None = None
) -> Card:
    """一時停止の解除 at the window: the held certificates leave the CRL and are valid again."""
    now = now or utc_now()
    card = _card_for_update(session, card_id)
    if card.status == CardStatus.ABOLISHED:
        raise CardAbolished(card.id)
    if card.status != CardStatus.SUSPENDED:
        raise CardNotSuspended(card.id)
    card.status, card.suspended_at, card.suspended_via = CardStatus.ACTIVE, None, None
    restored = []
    for certificate in _certificates_of(session, card):
        if certificate.status == CertificateStatus.ON_HOLD:
            certificate.status = CertificateStatus.VALID
            certificate.revoked_at = certificate.revocation_reason = None
            restored.append(certificate.serial)
    _audit_card(
        session, card, actor=actor, action="jpki.card.suspension_lifted", now=now, restored=restored
    )
    return card


def _abolish(
    session: Session, card: Card, reason: AbolitionReason, *, actor: str, now: datetime
) -> None:
    card.status, card.abolished_at, card.abolition_reason = CardStatus.ABOLISHED, now, reason
    revoked = _withdraw(
        (c for c in _certificates_of(session, card) if c.status != CertificateStatus.REVOKED),
        status=CertificateStatus.REVOKED,
        reason=reason.crl_reason,
        now=now,
    )
    _audit_card(
        session,
        card,
        actor=actor,
        action="jpki.card.abolished",
        now=now,
        reason=reason,
        revoked=revoked,
    )


def abolish_card(
    session: Session,
    *,
    card_id: int,
    actor: str,
    reason: AbolitionReason = AbolitionReason.RETURNED,
    now: datetime | None = None,
) -> Card:
    """廃止: the card can never sign again and its certificates are revoked for ever."""
    now = now or utc_now()
    card = _card_for_update(session, card_id)
    if card.status == CardStatus.ABOLISHED:
        raise CardAbolished(card.id)
    _abolish(session, card, AbolitionReason(reason), actor=actor, now=now)
    return card


def reissue_card(
    session: Session,
    *,
    person_id: uuid.UUID,
    auth_pin: str,
    sign_pin: str,
    ca_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> IssuedCard:
    """再交付: the current card (active or suspended) is abolished, its certificates revoked as
    superseded, and a new card with new keys, certificates and token is issued."""
    now = now or utc_now()
    _check_pins(auth_pin, sign_pin)
    person = _person(session, person_id)
    holder = _holder(person)
    old = _live_card(session, person_id, for_update=True)
    if old is None:
        raise NoCard(person_id)
    _abolish(session, old, AbolitionReason.REISSUED, actor=actor, now=now)
    # The old card must be abolished in the database before the new one meets the unique index.
    session.flush()
    return _issue(session, person, holder, auth_pin, sign_pin, ca_key, actor, now, replaces=old.id)


# ---- address change ------------------------------------------------------------------------


def on_address_change(
    session: Session, *, person_id: uuid.UUID, actor: str, now: datetime | None = None
) -> list[Certificate]:
    """転居・転入: the 署名用 certificate names the old address, so it is revoked
    (affiliationChanged); the 利用者証明用 one names nobody and stays valid. Returns the
    certificates revoked (none if the person has no card)."""
    now = now or utc_now()
    card = _live_card(session, person_id, for_update=True)
    if card is None:
        audit.record(
            session,
            actor=actor,
            action="jpki.address_changed",
            subject=person_subject(person_id),
            details={"card": None},
            at=now,
        )
        return []
    signing = [
        c
        for c in _certificates_of(session, card)
        if c.function == CardFunction.SIGN and c.status != CertificateStatus.REVOKED
    ]
    revoked = _withdraw(
        signing,
        status=CertificateStatus.REVOKED,
        reason=x509.ReasonFlags.affiliation_changed,
        now=now,
    )
    _audit_card(session, card, actor=actor, action="jpki.address_changed", now=now, revoked=revoked)
    return signing


def renew_signing_certificate(
    session: Session,
    *,
    card_token: str,
    sign_pin: str,
    ca_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> Certificate:
    """署名用電子証明書の再発行 at the window, card present: a new signing key on the chip, a
    certificate with the current name and address, and a new signing PIN. A signing certificate
    still valid is superseded."""
    check_pin(CardFunction.SIGN, sign_pin, field="sign_pin")
    now = now or utc_now()
    card = _card_by_token(session, card_token, actor=actor, now=now)
    if card.status == CardStatus.ABOLISHED:
        raise _refuse(session, card, CardAbolished(card.id), actor=actor, now=now)
    if card.status == CardStatus.SUSPENDED:
        raise CardNotActive(card.id)
    person = card.person
    holder = _holder(person)
    authority = _authority(session, ca_key=ca_key, now=now, actor=actor)
    superseded = _withdraw(
        [
            c
            for c in _certificates_of(session, card)
            if c.function == CardFunction.SIGN and c.status != CertificateStatus.REVOKED
        ],
        status=CertificateStatus.REVOKED,
        reason=x509.ReasonFlags.superseded,
        now=now,
    )
    private_key = chip.new_private_key()
    sealing_key = chip.storage_key(card_token, card.key_salt)
    _load_key(_key_of(session, card, CardFunction.SIGN), sealing_key, private_key, sign_pin)
    certificate = _new_certificate(
        card, CardFunction.SIGN, private_key.public_key(), holder, person, authority, now
    )
    session.flush()
    _audit_card(
        session,
        card,
        actor=actor,
        action="jpki.signing_certificate.renewed",
        now=now,
        serial=certificate.serial,
        superseded=superseded,
    )
    return certificate
