"""Login: password and TOTP both required, five failures in a row lock, replay refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.audit.models import AuditEntry
from fukaiji.staff import (
    MAX_FAILED_LOGINS,
    LoginFailure,
    LoginResult,
    StaffAccount,
    TotpSecretUnreadable,
    authenticate,
    disable_staff,
    unlock_staff,
)
from fukaiji.staff import passwords as password_module
from fukaiji.staff import service as service_module

MakeStaff = Callable[..., tuple[StaffAccount, str]]
STEP = timedelta(seconds=30)


class Desk:
    """A login desk with its own clock; each attempt happens one TOTP step after the last, so
    that a correct code is never refused merely as a replay."""

    def __init__(self, session: Session, totp_key: bytes, now: datetime, password: str) -> None:
        self.session, self.totp_key, self.clock, self.password = session, totp_key, now, password

    def login(
        self,
        secret: str,
        *,
        username: str = "tanaka",
        password: str | None = None,
        code: str | None = None,
    ) -> LoginResult:
        self.clock += STEP
        result = authenticate(
            self.session,
            username=username,
            password=self.password if password is None else password,
            totp_code=pyotp.TOTP(secret).at(self.clock) if code is None else code,
            totp_key=self.totp_key,
            now=self.clock,
        )
        self.session.commit()
        return result

    def wrong_password(self, secret: str) -> LoginResult:
        return self.login(secret, password="not-the-password-at-all")

    def wrong_code(self, secret: str) -> LoginResult:
        return self.login(secret, code=wrong_code(secret, self.clock + STEP))


def wrong_code(secret: str, when: datetime) -> str:
    """A well-formed code that is valid at none of the steps accepted at ``when``."""
    totp = pyotp.TOTP(secret)
    valid = {totp.at(when + offset * STEP) for offset in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


@pytest.fixture
def desk(session: Session, totp_key: bytes, now: datetime, password: str) -> Desk:
    return Desk(session, totp_key, now, password)


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_the_right_password_and_code_log_in(
    session: Session, make_staff: MakeStaff, desk: Desk
) -> None:
    staff, secret = make_staff()
    result = desk.login(secret)
    assert result.succeeded and result.staff is staff and result.failure is None
    assert staff.totp_last_step == int(desk.clock.timestamp()) // 30
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.login")).one()
    assert (entry.actor, entry.subject, entry.institution) == (
        f"staff:{staff.id}",
        f"staff:{staff.id}",
        "131016",
    )


def test_a_username_is_matched_regardless_of_case_and_spaces(
    make_staff: MakeStaff, desk: Desk
) -> None:
    _, secret = make_staff()
    assert desk.login(secret, username=" Tanaka ").succeeded


@pytest.mark.parametrize("code", ["", "wrong", "abcdef", "1234567"])
def test_login_without_a_valid_code_is_refused(
    make_staff: MakeStaff, desk: Desk, code: str
) -> None:
    staff, secret = make_staff()
    if code == "wrong":
        code = wrong_code(secret, desk.clock + STEP)
    result = desk.login(secret, code=code)
    assert (result.staff, result.failure) == (None, LoginFailure.WRONG_TOTP)
    assert staff.failed_logins == 1


def test_a_code_cannot_be_used_twice(
    session: Session, make_staff: MakeStaff, totp_key: bytes, now: datetime, password: str
) -> None:
    staff, secret = make_staff()
    code = pyotp.TOTP(secret).at(now)
    first = authenticate(
        session, username="tanaka", password=password, totp_code=code, totp_key=totp_key, now=now
    )
    assert first.succeeded
    replay = authenticate(
        session,
        username="tanaka",
        password=password,
        totp_code=code,
        totp_key=totp_key,
        now=now + timedelta(seconds=10),
    )
    assert replay.failure is LoginFailure.WRONG_TOTP
    assert staff.failed_logins == 1


def test_the_wrong_password_is_refused_even_with_the_right_code(
    make_staff: MakeStaff, desk: Desk
) -> None:
    staff, secret = make_staff()
    result = desk.wrong_password(secret)
    assert (result.staff, result.failure) == (None, LoginFailure.WRONG_PASSWORD)
    assert staff.totp_last_step is None  # a code given with a wrong password is not used up


def test_exactly_five_failures_in_a_row_lock_the_account(
    session: Session, make_staff: MakeStaff, desk: Desk
) -> None:
    staff, secret = make_staff()
    for _ in range(MAX_FAILED_LOGINS - 1):
        desk.wrong_password(secret)
    assert staff.locked_at is None and staff.failed_logins == 4
    fifth = desk.wrong_code(secret)  # a wrong code counts as much as a wrong password
    assert fifth.failure is LoginFailure.WRONG_TOTP
    assert staff.locked_at == desk.clock
    assert actions(session)[-2:] == ["staff.login_refused", "staff.locked"]
    locked = session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.locked")).one()
    assert (locked.actor, json.loads(locked.details)) == ("system", {"failed_logins": 5})


def test_four_failures_then_a_success_then_four_failures_do_not_lock(
    make_staff: MakeStaff, desk: Desk
) -> None:
    staff, secret = make_staff()
    for _ in range(4):
        desk.wrong_password(secret)
    assert desk.login(secret).succeeded
    assert staff.failed_logins == 0
    for _ in range(4):
        desk.wrong_password(secret)
    assert staff.locked_at is None
    assert desk.login(secret).succeeded


def test_a_locked_account_is_refused_with_the_right_password_and_code(
    session: Session, make_staff: MakeStaff, desk: Desk
) -> None:
    staff, secret = make_staff()
    for _ in range(MAX_FAILED_LOGINS):
        desk.wrong_password(secret)
    result = desk.login(secret)
    assert (result.staff, result.failure) == (None, LoginFailure.LOCKED)
    assert staff.totp_last_step is None
    unlock_staff(session, staff.id, actor="cli:root")
    session.commit()
    assert desk.login(secret).succeeded


def test_a_disabled_account_is_refused_with_the_right_password_and_code(
    session: Session, make_staff: MakeStaff, desk: Desk
) -> None:
    staff, secret = make_staff()
    disable_staff(session, staff.id, actor="cli:root")
    session.commit()
    result = desk.login(secret)
    assert result.failure is LoginFailure.DISABLED
    assert staff.failed_logins == 0


def test_an_unknown_username_costs_one_argon2_verification_and_is_audited_without_the_name(
    session: Session,
    make_staff: MakeStaff,
    desk: Desk,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, secret = make_staff()
    verified: list[str] = []
    real = password_module.verify_password

    def counting(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(service_module, "verify_password", counting)
    result = desk.login(secret, username="my-secret-passphrase")
    assert (result.staff, result.failure) == (None, LoginFailure.UNKNOWN_USER)
    assert verified == [password_module.dummy_hash()]
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and entry.action == "staff.login_refused"
    assert json.loads(entry.details) == {"reason": "unknown_user"}
    assert "my-secret-passphrase" not in repr(
        (entry.actor, entry.subject, entry.institution, entry.details)
    )


@pytest.mark.parametrize("username", ["\x00", "tanaka\x00", "", "x" * 10_000, "田中"])
def test_a_name_no_account_can_have_is_an_unknown_user(
    make_staff: MakeStaff, desk: Desk, username: str
) -> None:
    _, secret = make_staff()
    assert desk.login(secret, username=username).failure is LoginFailure.UNKNOWN_USER


def test_every_refusal_is_audited_with_its_reason_and_count(
    session: Session, make_staff: MakeStaff, desk: Desk
) -> None:
    staff, secret = make_staff()
    desk.wrong_password(secret)
    desk.wrong_code(secret)
    refusals = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "staff.login_refused")
        .order_by(AuditEntry.seq)
    ).all()
    assert [json.loads(entry.details) for entry in refusals] == [
        {"reason": "wrong_password", "failed_logins": 1},
        {"reason": "wrong_totp", "failed_logins": 2},
    ]
    assert {entry.subject for entry in refusals} == {f"staff:{staff.id}"}


def test_a_totp_key_that_cannot_decrypt_raises_rather_than_counting_a_failure(
    session: Session, make_staff: MakeStaff, now: datetime, password: str
) -> None:
    staff, secret = make_staff()
    with pytest.raises(TotpSecretUnreadable):
        authenticate(
            session,
            username="tanaka",
            password=password,
            totp_code=pyotp.TOTP(secret).at(now),
            totp_key=bytes(32),
            now=now,
        )
    session.rollback()
    assert staff.failed_logins == 0


def test_a_hash_with_old_parameters_is_upgraded_at_login(
    session: Session, make_staff: MakeStaff, desk: Desk, password: str
) -> None:
    from argon2 import PasswordHasher

    staff, secret = make_staff()
    staff.password_hash = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(password)
    session.commit()
    assert desk.login(secret).succeeded
    assert not password_module.needs_rehash(staff.password_hash)
