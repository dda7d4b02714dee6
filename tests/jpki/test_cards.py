"""交付, 一時停止, 解除, 廃止, 再交付 and 住所変更: the life of a card and its certificates."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction
from fukaiji.jpki import (
    AuthorityKeyUnreadable,
    AuthorityNotCreated,
    Card,
    CardAbolished,
    CardAlreadyIssued,
    CardFunction,
    CardNotActive,
    CardNotSuspended,
    CardStatus,
    CardSuspended,
    Certificate,
    CertificateAuthority,
    CertificateStatus,
    InvalidChoice,
    InvalidPin,
    IssuedCard,
    NoCard,
    NoCertificate,
    PersonWithoutAddress,
    UnknownCard,
    UnknownPerson,
    abolish_card,
    card_is_usable,
    certificate_is_usable,
    certificate_status,
    current_crl,
    export_ca_certificate,
    find_card_for_person,
    issue_card,
    lift_suspension,
    on_address_change,
    reissue_card,
    renew_signing_certificate,
    sign_challenge,
    suspend_card,
)
from fukaiji.registry.models import MoveKind, Person, Residence

MakePerson = Callable[..., Person]
Issue = Callable[..., IssuedCard]


def certificates(session: Session, card_id: int) -> dict[str, Certificate]:
    rows = session.scalars(
        select(Certificate).where(Certificate.card_id == card_id).order_by(Certificate.id)
    )
    return {f"{row.function}:{row.id}": row for row in rows}


def by_function(session: Session, card_id: int, function: CardFunction) -> list[Certificate]:
    return [c for c in certificates(session, card_id).values() if c.function == function]


def audit_details(session: Session, action: str) -> list[dict[str, object]]:
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    )
    return [json.loads(entry.details) for entry in entries]


def loaded(row: Certificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(row.pem.encode())


# ---- issue -----------------------------------------------------------------------------------


def test_issue_makes_two_certificates_and_hands_the_token_over_once(
    session: Session, issue: Issue, now: datetime
) -> None:
    issued = issue()
    assert len(issued.card_token) >= 43
    assert issued.card_token not in repr(issued) and issued.card_token not in str(issued)
    card = session.get(Card, issued.card_id)
    assert card is not None and card.status == CardStatus.ACTIVE
    assert issued.card_token not in repr(card)
    auth, sign = (by_function(session, issued.card_id, f)[0] for f in CardFunction)
    assert int(auth.serial, 16) == issued.auth_certificate_serial
    assert int(sign.serial, 16) == issued.sign_certificate_serial
    assert auth.serial != sign.serial
    for row in (auth, sign):
        assert row.status == CertificateStatus.VALID
        assert row.not_before == now
    entry = audit_details(session, "jpki.card.issued")[0]
    assert entry["auth_serial"] == auth.serial and entry["sign_serial"] == sign.serial


def test_the_auth_certificate_names_nobody_and_the_sign_one_names_holder_and_address(
    session: Session, issue: Issue, make_person: MakePerson
) -> None:
    person = make_person(family_name="佐藤", given_name="美咲", address_line="千代田区一番町3-4")
    issued = issue(person)
    auth = loaded(by_function(session, issued.card_id, CardFunction.AUTH)[0])
    sign = loaded(by_function(session, issued.card_id, CardFunction.SIGN)[0])

    auth_subject = auth.subject.rfc4514_string()
    assert "佐藤" not in auth_subject and "一番町" not in auth_subject
    assert auth.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.startswith(
        "JPKI-AUTH-"
    )
    assert sign.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "佐藤 美咲"
    assert sign.subject.get_attributes_for_oid(NameOID.SURNAME)[0].value == "佐藤"
    assert sign.subject.get_attributes_for_oid(NameOID.GIVEN_NAME)[0].value == "美咲"
    street = sign.subject.get_attributes_for_oid(NameOID.STREET_ADDRESS)[0].value
    assert street == "131016 千代田区一番町3-4"

    auth_usage = auth.extensions.get_extension_for_class(x509.KeyUsage).value
    sign_usage = sign.extensions.get_extension_for_class(x509.KeyUsage).value
    assert auth_usage.digital_signature and not auth_usage.content_commitment
    assert sign_usage.digital_signature and sign_usage.content_commitment
    for certificate in (auth, sign):
        assert certificate.version is x509.Version.v3
        assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)


def test_a_long_name_is_cut_in_the_common_name_and_kept_whole_elsewhere(
    session: Session, issue: Issue, make_person: MakePerson
) -> None:
    long_family = "長" * 30
    issued = issue(make_person(family_name=long_family, given_name="名前"))
    sign = loaded(by_function(session, issued.card_id, CardFunction.SIGN)[0])
    common_name = sign.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(common_name, str) and len(common_name.encode()) <= 64
    assert sign.subject.get_attributes_for_oid(NameOID.SURNAME)[0].value == long_family


def test_validity_ends_on_the_fifth_birthday_after_issue(
    session: Session, issue: Issue, make_person: MakePerson
) -> None:
    issued = issue(make_person(birth_date=date(2000, 2, 29)))
    for row in certificates(session, issued.card_id).values():
        certificate = loaded(row)
        # Issued 2026-11-27: 2027-02-28, 2028-02-29, 2029-02-28, 2030-02-28, 2031-02-28.
        assert certificate.not_valid_after_utc.isoformat() == "2031-02-28T14:59:59+00:00"
        assert row.not_after == certificate.not_valid_after_utc


def test_one_card_per_person_and_a_refused_issue_writes_nothing(
    session: Session, issue: Issue, make_person: MakePerson, ca_key: bytes, now: datetime
) -> None:
    person = make_person()
    issue(person)
    cards_before = session.scalar(select(func.count()).select_from(Card))
    with pytest.raises(CardAlreadyIssued) as raised:
        issue(person)
    assert raised.value.field == "person_id"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Card)) == cards_before


@pytest.mark.parametrize(
    ("auth_pin", "sign_pin", "field"),
    [("123", "HIBARI48TSUBAME", "auth_pin"), ("7395", "hibari48", "sign_pin")],
)
def test_badly_formed_pins_are_refused_before_anything_is_written(
    session: Session,
    make_person: MakePerson,
    ca_key: bytes,
    now: datetime,
    auth_pin: str,
    sign_pin: str,
    field: str,
) -> None:
    person = make_person()
    with pytest.raises(InvalidPin) as raised:
        issue_card(
            session,
            person_id=person.id,
            auth_pin=auth_pin,
            sign_pin=sign_pin,
            ca_key=ca_key,
            actor="staff:3",
            now=now,
        )
    assert raised.value.field == field
    assert session.scalar(select(func.count()).select_from(Card)) == 0
    assert session.scalar(select(func.count()).select_from(CertificateAuthority)) == 0


def test_an_unknown_person_or_one_without_address_gets_no_card(
    session: Session, make_person: MakePerson, ca_key: bytes, now: datetime
) -> None:
    import uuid

    arguments = {"auth_pin": "7395", "sign_pin": "HIBARI48TSUBAME", "ca_key": ca_key}
    with pytest.raises(UnknownPerson):
        issue_card(session, person_id=uuid.uuid4(), actor="staff:3", now=now, **arguments)
    person = make_person()
    person.residences[0].moved_out_on = date(2026, 1, 1)  # 国外転出
    session.commit()
    with pytest.raises(PersonWithoutAddress):
        issue_card(session, person_id=person.id, actor="staff:3", now=now, **arguments)


# ---- the CA ----------------------------------------------------------------------------------


def test_the_ca_is_created_once_on_first_use_and_is_a_real_ca(
    session: Session, issue: Issue, ca_key: bytes, now: datetime
) -> None:
    with pytest.raises(AuthorityNotCreated):
        export_ca_certificate(session)
    issue()
    issue()
    assert session.scalar(select(func.count()).select_from(CertificateAuthority)) == 1
    assert len(audit_details(session, "jpki.ca.created")) == 1
    ca = x509.load_pem_x509_certificate(export_ca_certificate(session, now=now))
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "fukaiji 公的個人認証 ローカル認証局"
    )
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "fukaiji (simulation of J-LIS)"
    )
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert ca.not_valid_after_utc - ca.not_valid_before_utc >= timedelta(days=20 * 365)


def test_a_wrong_ca_key_cannot_use_the_ca(session: Session, issue: Issue, now: datetime) -> None:
    issue()
    with pytest.raises(AuthorityKeyUnreadable):
        current_crl(session, ca_key=b"another key of thirty-two bytes!", now=now)


def test_two_processes_creating_the_ca_at_once_end_with_one(
    engine: Engine, ca_key: bytes, now: datetime
) -> None:
    created = threading.Event()
    pems: list[bytes] = []
    failures: list[BaseException] = []

    def first() -> None:
        try:
            with transaction(engine) as session:
                pems.append(export_ca_certificate(session, ca_key=ca_key, now=now))
                created.set()
                # Hold the uncommitted CA while the second process tries to create its own.
                threading.Event().wait(0.5)
        except BaseException as error:
            failures.append(error)
            created.set()

    def second() -> None:
        created.wait()
        try:
            with transaction(engine) as session:
                pems.append(export_ca_certificate(session, ca_key=ca_key, now=now))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert len(pems) == 2 and pems[0] == pems[1]
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(CertificateAuthority)) == 1


def test_crl_numbers_only_increase(
    session: Session, issue: Issue, ca_key: bytes, now: datetime
) -> None:
    issue()
    numbers = []
    for hours in range(3):
        der = current_crl(session, ca_key=ca_key, now=now + timedelta(hours=hours))
        crl = x509.load_der_x509_crl(der)
        numbers.append(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
    assert numbers == [1, 2, 3]


# ---- suspension --------------------------------------------------------------------------------


def test_suspension_by_phone_puts_both_certificates_on_hold_at_once(
    session: Session, issue: Issue, make_person: MakePerson, now: datetime, auth_pin: str
) -> None:
    person = make_person()
    issued = issue(person)
    card = find_card_for_person(session, person.id)
    assert card is not None and card.id == issued.card_id
    later = now + timedelta(hours=1)
    suspend_card(session, card_id=card.id, channel="phone", actor="staff:7", now=later)
    session.commit()

    assert card.status == CardStatus.SUSPENDED and card.suspended_via == "phone"
    assert not card_is_usable(session, card.id)
    for serial in (issued.auth_certificate_serial, issued.sign_certificate_serial):
        assert certificate_status(session, serial) == CertificateStatus.ON_HOLD
        assert not certificate_is_usable(session, serial, now=later)
    for row in certificates(session, card.id).values():
        assert row.revocation_reason == "certificateHold" and row.revoked_at == later
    with pytest.raises(CardSuspended) as raised:
        sign_challenge(
            session, card_token=issued.card_token, pin=auth_pin, challenge=b"x", now=later
        )
    assert raised.value.keep_changes
    session.commit()
    assert audit_details(session, "jpki.card.refused")[-1]["reason"] == "suspended"
    # The toll-free line still finds the suspended card by person.
    assert find_card_for_person(session, person.id) is card


def test_suspending_twice_changes_nothing_but_is_audited(
    session: Session, issue: Issue, now: datetime
) -> None:
    issued = issue()
    suspend_card(session, card_id=issued.card_id, channel="phone", actor="staff:7", now=now)
    later = now + timedelta(days=1)
    suspend_card(session, card_id=issued.card_id, channel="window", actor="staff:8", now=later)
    session.commit()
    card = session.get(Card, issued.card_id)
    assert card is not None and card.suspended_at == now and card.suspended_via == "phone"
    assert [
        entry["already_suspended"] for entry in audit_details(session, "jpki.card.suspended")
    ] == [
        False,
        True,
    ]


def test_lifting_the_suspension_brings_the_certificates_back(
    session: Session, issue: Issue, now: datetime, auth_pin: str
) -> None:
    issued = issue()
    suspend_card(session, card_id=issued.card_id, channel="window", actor="staff:7", now=now)
    lift_suspension(session, card_id=issued.card_id, actor="staff:7", now=now)
    session.commit()
    assert card_is_usable(session, issued.card_id)
    for row in certificates(session, issued.card_id).values():
        assert row.status == CertificateStatus.VALID and row.revoked_at is None
    sign_challenge(session, card_token=issued.card_token, pin=auth_pin, challenge=b"x", now=now)
    with pytest.raises(CardNotSuspended):
        lift_suspension(session, card_id=issued.card_id, actor="staff:7", now=now)


def test_bad_channel_and_unknown_card_are_refused(session: Session, issue: Issue) -> None:
    issued = issue()
    with pytest.raises(InvalidChoice) as raised:
        suspend_card(session, card_id=issued.card_id, channel="fax", actor="staff:7")
    assert raised.value.field == "channel"
    for card_id in (issued.card_id + 100, 2**40, 0):
        with pytest.raises(UnknownCard):
            suspend_card(session, card_id=card_id, channel="phone", actor="staff:7")
        assert not card_is_usable(session, card_id)


# ---- abolition and reissue ---------------------------------------------------------------------


def test_reissue_revokes_the_old_card_for_ever_and_issues_new_keys(
    session: Session, issue: Issue, make_person: MakePerson, ca_key: bytes, now: datetime
) -> None:
    person = make_person()
    old = issue(person)
    suspend_card(session, card_id=old.card_id, channel="phone", actor="staff:7", now=now)
    later = now + timedelta(days=3)
    new = reissue_card(
        session,
        person_id=person.id,
        auth_pin="2468",
        sign_pin="NEWPIN2026",
        ca_key=ca_key,
        actor="staff:3",
        now=later,
    )
    session.commit()

    old_card = session.get(Card, old.card_id)
    assert old_card is not None and old_card.status == CardStatus.ABOLISHED
    assert old_card.abolition_reason == "reissued"
    for row in certificates(session, old.card_id).values():
        assert row.status == CertificateStatus.REVOKED
        assert row.revocation_reason == "superseded" and row.revoked_at == later
    assert new.card_id != old.card_id and new.card_token != old.card_token
    assert {new.auth_certificate_serial, new.sign_certificate_serial}.isdisjoint(
        {old.auth_certificate_serial, old.sign_certificate_serial}
    )
    assert find_card_for_person(session, person.id).id == new.card_id  # type: ignore[union-attr]
    assert card_is_usable(session, new.card_id) and not card_is_usable(session, old.card_id)

    with pytest.raises(CardAbolished):
        sign_challenge(session, card_token=old.card_token, pin="7395", challenge=b"x", now=later)
    session.commit()
    refused = audit_details(session, "jpki.card.refused")[-1]
    assert refused["reason"] == "abolished"
    sign_challenge(session, card_token=new.card_token, pin="2468", challenge=b"x", now=later)
    issued_entry = audit_details(session, "jpki.card.issued")[-1]
    assert issued_entry["replaces"] == old.card_id


def test_reissue_needs_a_card_and_an_abolished_card_stays_abolished(
    session: Session, issue: Issue, make_person: MakePerson, ca_key: bytes, now: datetime
) -> None:
    person = make_person()
    arguments = {"auth_pin": "7395", "sign_pin": "HIBARI48TSUBAME", "ca_key": ca_key}
    with pytest.raises(NoCard):
        reissue_card(session, person_id=person.id, actor="staff:3", now=now, **arguments)
    issued = issue(person)
    abolish_card(session, card_id=issued.card_id, actor="staff:3", now=now)
    session.commit()
    for row in certificates(session, issued.card_id).values():
        assert row.revocation_reason == "cessationOfOperation"
    for operation in (
        lambda: abolish_card(session, card_id=issued.card_id, actor="staff:3"),
        lambda: suspend_card(session, card_id=issued.card_id, channel="phone", actor="staff:3"),
        lambda: lift_suspension(session, card_id=issued.card_id, actor="staff:3"),
    ):
        with pytest.raises(CardAbolished):
            operation()
    # With the card abolished, a new one may be issued.
    issue(person)


# ---- address change ----------------------------------------------------------------------------


def move(session: Session, person: Person, municipality_code: str, address_line: str) -> None:
    person.residences[-1].moved_out_on = date(2026, 12, 1)
    session.flush()
    person.residences.append(
        Residence(
            municipality_code=municipality_code,
            address_line=address_line,
            kind=MoveKind.MOVE_IN,
            moved_in_on=date(2026, 12, 1),
        )
    )
    session.flush()


def test_an_address_change_revokes_only_the_signing_certificate(
    session: Session,
    issue: Issue,
    make_person: MakePerson,
    ca_key: bytes,
    now: datetime,
    auth_pin: str,
    sign_pin: str,
) -> None:
    person = make_person()
    issued = issue(person)
    move(session, person, "271004", "大阪市北区中之島1-3-20")
    later = now + timedelta(days=5)
    revoked = on_address_change(session, person_id=person.id, actor="staff:3", now=later)
    session.commit()

    assert [int(row.serial, 16) for row in revoked] == [issued.sign_certificate_serial]
    assert certificate_status(session, issued.sign_certificate_serial) == CertificateStatus.REVOKED
    assert revoked[0].revocation_reason == "affiliationChanged"
    assert certificate_status(session, issued.auth_certificate_serial) == CertificateStatus.VALID
    assert certificate_is_usable(session, issued.auth_certificate_serial, now=later)
    assert card_is_usable(session, issued.card_id)
    token = issued.card_token
    sign_challenge(session, card_token=token, pin=auth_pin, challenge=b"login", now=later)
    with pytest.raises(NoCertificate):
        sign_challenge(
            session, card_token=token, pin=sign_pin, challenge=b"doc", function="sign", now=later
        )
    session.commit()

    renewed = renew_signing_certificate(
        session, card_token=token, sign_pin="OSAKA2026", ca_key=ca_key, actor="staff:9", now=later
    )
    session.commit()
    street = loaded(renewed).subject.get_attributes_for_oid(NameOID.STREET_ADDRESS)[0].value
    assert street == "271004 大阪市北区中之島1-3-20"
    assert renewed.status == CertificateStatus.VALID
    sign_challenge(
        session, card_token=token, pin="OSAKA2026", challenge=b"doc", function="sign", now=later
    )


def test_an_address_change_without_a_card_is_recorded_and_changes_nothing(
    session: Session, make_person: MakePerson, now: datetime
) -> None:
    person = make_person()
    assert on_address_change(session, person_id=person.id, actor="staff:3", now=now) == []
    assert audit_details(session, "jpki.address_changed") == [{"card": None}]


def test_renewing_the_signing_certificate_supersedes_a_valid_one_and_needs_an_active_card(
    session: Session, issue: Issue, ca_key: bytes, now: datetime
) -> None:
    issued = issue()
    token = issued.card_token
    renewed = renew_signing_certificate(
        session, card_token=token, sign_pin="RENEW2026", ca_key=ca_key, actor="staff:9", now=now
    )
    old = certificates(session, issued.card_id)
    superseded = [
        row for row in old.values() if int(row.serial, 16) == issued.sign_certificate_serial
    ]
    assert superseded[0].revocation_reason == "superseded"
    assert renewed.status == CertificateStatus.VALID
    suspend_card(session, card_id=issued.card_id, channel="phone", actor="staff:7", now=now)
    with pytest.raises(CardNotActive):
        renew_signing_certificate(
            session, card_token=token, sign_pin="RENEW2027", ca_key=ca_key, actor="staff:9"
        )
