"""Operations on staff accounts, logins, sessions and API keys.

Every operation that reads or changes staff data appends to the audit log inside the caller's
transaction. Two deliberate exceptions, both on the per-request path: a session or API key that
resolves successfully is not audited (the operation the request then performs is, with the actor
``staff:N`` or ``apikey:N``), because one audit entry per request would serialise every request on
the audit chain. Refusals and expiries on that path are audited.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import MAX_ID, utc_now
from fukaiji.network.models import Department, Institution
from fukaiji.staff.errors import (
    DepartmentOfAnotherInstitution,
    DuplicateUsername,
    InactiveStaff,
    UnknownApiKey,
    UnknownDepartment,
    UnknownInstitution,
    UnknownStaff,
)
from fukaiji.staff.models import (
    ApiKey,
    ApiKeyRoleGrant,
    StaffAccount,
    StaffRoleGrant,
    StaffSession,
)
from fukaiji.staff.names import (
    check_username,
    clean_api_key_name,
    clean_display_name,
    is_valid_username,
)
from fukaiji.staff.passwords import (
    check_password_policy,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from fukaiji.staff.roles import StaffRole, parse_roles, sorted_roles
from fukaiji.staff.totp import decrypt_secret, encrypt_secret, new_totp_secret, verify_totp

MAX_FAILED_LOGINS = 5
IDLE_TIMEOUT = timedelta(minutes=30)
TOKEN_BYTES = 32

API_KEY_SCHEME = "fkj"
API_KEY_PREFIX_LENGTH = 8
_API_KEY_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_API_KEY_PREFIX_PATTERN = re.compile(rf"[a-z0-9]{{{API_KEY_PREFIX_LENGTH}}}")
# Far longer than any key we issue; stops a caller from making us hash megabytes.
_API_KEY_MAX_PRESENTED_LENGTH = 200

# Ids are INTEGER columns (32-bit on PostgreSQL). A larger number names no row, and must be
# answered as unknown rather than reach a driver that cannot even bind it.

# Who the audit log names for a login attempt that has not (yet) proved an identity, and for a
# lock the system applies by rule.
ANONYMOUS_ACTOR = "anonymous"
SYSTEM_ACTOR = "system"


class LoginFailure(StrEnum):
    UNKNOWN_USER = "unknown_user"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105  a failure reason, not a password
    WRONG_TOTP = "wrong_totp"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome of a login. The reason is for the audit log and the administrator; a login
    page must show one and the same message for every failure, or it tells a guesser which
    usernames exist and which passwords are right."""

    staff: StaffAccount | None
    failure: LoginFailure | None

    @property
    def succeeded(self) -> bool:
        return self.failure is None


def staff_subject(staff_id: int) -> str:
    return f"staff:{staff_id}"


def api_key_subject(api_key_id: int) -> str:
    return f"apikey:{api_key_id}"


# ---- look-ups by the names people use ------------------------------------------------------


def find_staff_id(session: Session, username: str) -> int:
    """The id of the account called ``username``; only the id, so nothing of the account is read
    here — the operation the caller performs next is the one that is audited."""
    wanted = username.strip().lower()
    staff_id = (
        session.scalar(select(StaffAccount.id).where(StaffAccount.username == wanted))
        if is_valid_username(wanted)
        else None
    )
    if staff_id is None:
        raise UnknownStaff(username)
    return staff_id


# ---- accounts ------------------------------------------------------------------------------


def create_staff(
    session: Session,
    *,
    institution_id: int,
    department_id: int,
    username: str,
    display_name: str,
    password: str,
    roles: Iterable[StaffRole],
    totp_key: bytes,
    actor: str,
) -> tuple[StaffAccount, str]:
    """A new account and its TOTP secret, to be shown once for enrolment and never again.

    Everything is checked before anything is written, so a refusal changes nothing.
    """
    role_set = parse_roles(roles)
    check_username(username)
    display_name = clean_display_name(display_name)
    check_password_policy(password, username)
    institution = _institution(session, institution_id)
    _check_department(session, institution_id, department_id)
    if session.scalar(select(StaffAccount.id).where(StaffAccount.username == username)):
        raise DuplicateUsername(username)
    secret = new_totp_secret()
    staff = StaffAccount(
        institution_id=institution_id,
        department_id=department_id,
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        totp_secret_encrypted=encrypt_secret(totp_key, secret),
        failed_logins=0,
        role_grants=[StaffRoleGrant(role=role) for role in sorted_roles(role_set)],
    )
    _insert_account(session, staff)
    audit.record(
        session,
        actor=actor,
        action="staff.created",
        institution=institution.code,
        subject=staff_subject(staff.id),
        details={
            "username": username,
            "department_id": department_id,
            "roles": [str(role) for role in sorted_roles(role_set)],
        },
    )
    return staff, secret


def _insert_account(session: Session, staff: StaffAccount) -> None:
    # A concurrent create of the same username passes the check above; the unique constraint
    # catches it, and the savepoint keeps the caller's transaction usable.
    try:
        with session.begin_nested():
            session.add(staff)
    except IntegrityError as error:
        raise DuplicateUsername(staff.username) from error


def _valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


def _institution(session: Session, institution_id: int) -> Institution:
    institution = session.get(Institution, institution_id) if _valid_id(institution_id) else None
    if institution is None:
        raise UnknownInstitution(institution_id)
    return institution


def _check_department(session: Session, institution_id: int, department_id: int) -> None:
    department = session.get(Department, department_id) if _valid_id(department_id) else None
    if department is None:
        raise UnknownDepartment(department_id)
    if department.institution_id != institution_id:
        raise DepartmentOfAnotherInstitution(department_id)


def _staff(
    session: Session, staff_id: int, institution_id: int | None, *, for_update: bool = False
) -> StaffAccount:
    if not _valid_id(staff_id):
        raise UnknownStaff(staff_id)
    statement = select(StaffAccount).where(StaffAccount.id == staff_id)
    if for_update:
        statement = statement.with_for_update()
    staff = session.scalars(statement).one_or_none()
    if staff is None or (institution_id is not None and staff.institution_id != institution_id):
        raise UnknownStaff(staff_id)
    return staff


def _audit_staff(
    session: Session, staff: StaffAccount, *, actor: str, action: str, **details: object
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        institution=staff.institution.code,
        subject=staff_subject(staff.id),
        details=details,
    )


def get_staff(
    session: Session, staff_id: int, *, actor: str, institution_id: int | None = None
) -> StaffAccount:
    """One account. With ``institution_id``, an account of another institution is unknown."""
    staff = _staff(session, staff_id, institution_id)
    _audit_staff(session, staff, actor=actor, action="staff.read")
    return staff


def list_staff(session: Session, institution_id: int, *, actor: str) -> list[StaffAccount]:
    institution = _institution(session, institution_id)
    accounts = list(
        session.scalars(
            select(StaffAccount)
            .where(StaffAccount.institution_id == institution_id)
            .order_by(StaffAccount.username)
        )
    )
    audit.record(
        session,
        actor=actor,
        action="staff.listed",
        institution=institution.code,
        details={"count": len(accounts)},
    )
    return accounts


def disable_staff(
    session: Session,
    staff_id: int,
    *,
    actor: str,
    institution_id: int | None = None,
    now: datetime | None = None,
) -> StaffAccount:
    """Disable an account and end all its sessions at once: someone who has left must not keep
    a browser tab that still works."""
    now = now or utc_now()
    staff = _staff(session, staff_id, institution_id, for_update=True)
    if staff.disabled_at is None:
        staff.disabled_at = now
    ended = _end_all_sessions(session, staff.id, now)
    _audit_staff(session, staff, actor=actor, action="staff.disabled", sessions_ended=ended)
    return staff


def unlock_staff(
    session: Session, staff_id: int, *, actor: str, institution_id: int | None = None
) -> StaffAccount:
    staff = _staff(session, staff_id, institution_id, for_update=True)
    was_locked = staff.locked_at is not None
    staff.locked_at = None
    staff.failed_logins = 0
    _audit_staff(session, staff, actor=actor, action="staff.unlocked", was_locked=was_locked)
    return staff


def reset_totp(
    session: Session,
    staff_id: int,
    *,
    totp_key: bytes,
    actor: str,
    institution_id: int | None = None,
    now: datetime | None = None,
) -> str:
    """A new TOTP secret (for a lost phone), shown once. Ends every session, since whoever
    holds the old device may be the one logged in."""
    now = now or utc_now()
    staff = _staff(session, staff_id, institution_id, for_update=True)
    secret = new_totp_secret()
    staff.totp_secret_encrypted = encrypt_secret(totp_key, secret)
    staff.totp_last_step = None
    ended = _end_all_sessions(session, staff.id, now)
    _audit_staff(session, staff, actor=actor, action="staff.totp_reset", sessions_ended=ended)
    return secret


def set_roles(
    session: Session,
    staff_id: int,
    roles: Iterable[StaffRole],
    *,
    actor: str,
    institution_id: int | None = None,
) -> StaffAccount:
    role_set = parse_roles(roles)
    staff = _staff(session, staff_id, institution_id, for_update=True)
    before = staff.roles
    # Change only the difference: deleting and re-adding a grant with the same key in one
    # flush would collide on the primary key.
    for grant in [grant for grant in staff.role_grants if grant.role not in role_set]:
        staff.role_grants.remove(grant)
    for role in sorted_roles(role_set - before):
        staff.role_grants.append(StaffRoleGrant(role=role))
    session.flush()
    _audit_staff(
        session,
        staff,
        actor=actor,
        action="staff.roles_changed",
        before=[str(role) for role in sorted_roles(before)],
        after=[str(role) for role in sorted_roles(role_set)],
    )
    return staff


# ---- login ---------------------------------------------------------------------------------


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    totp_code: str,
    totp_key: bytes,
    now: datetime | None = None,
) -> LoginResult:
    """Check a password and a TOTP code. Never raises for bad credentials: the failure counter
    and the audit entry must be committed by the caller even though the login failed."""
    now = now or utc_now()
    staff = _staff_for_login(session, username.strip().lower())
    if staff is None:
        # Spend the same time as for a real account, so timing does not reveal which exist.
        verify_password(dummy_hash(), password)
        # The name tried is not recorded: the audit log can never forget, and people do type
        # their password into the username field.
        audit.record(
            session,
            actor=ANONYMOUS_ACTOR,
            action="staff.login_refused",
            details={"reason": str(LoginFailure.UNKNOWN_USER)},
        )
        return LoginResult(None, LoginFailure.UNKNOWN_USER)
    failure, step = _check_credentials(staff, password, totp_code, totp_key, now)
    if failure is None:
        _accept_login(session, staff, password, step)
        return LoginResult(staff, None)
    _refuse_login(session, staff, failure, now)
    return LoginResult(None, failure)


def _staff_for_login(session: Session, username: str) -> StaffAccount | None:
    # A name that breaks the username rule cannot exist; not asking the database keeps input
    # such as a NUL byte (which PostgreSQL cannot even bind) away from it.
    if not is_valid_username(username):
        return None
    return session.scalars(
        select(StaffAccount).where(StaffAccount.username == username).with_for_update()
    ).one_or_none()


def _check_credentials(
    staff: StaffAccount, password: str, totp_code: str, totp_key: bytes, now: datetime
) -> tuple[LoginFailure | None, int | None]:
    password_ok = verify_password(staff.password_hash, password)
    if staff.disabled_at is not None:
        return LoginFailure.DISABLED, None
    if staff.locked_at is not None:
        return LoginFailure.LOCKED, None
    # The code is checked even when the password is wrong, so that the response time does not
    # tell a guesser that the password was right.
    secret = decrypt_secret(totp_key, staff.totp_secret_encrypted)
    step = verify_totp(secret, totp_code, now, staff.totp_last_step)
    if not password_ok:
        return LoginFailure.WRONG_PASSWORD, None
    if step is None:
        return LoginFailure.WRONG_TOTP, None
    return None, step


def _accept_login(session: Session, staff: StaffAccount, password: str, step: int | None) -> None:
    staff.failed_logins = 0
    staff.totp_last_step = step
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    _audit_staff(session, staff, actor=staff_subject(staff.id), action="staff.login")


def _refuse_login(
    session: Session, staff: StaffAccount, failure: LoginFailure, now: datetime
) -> None:
    counts = failure in (LoginFailure.WRONG_PASSWORD, LoginFailure.WRONG_TOTP)
    if counts:
        staff.failed_logins += 1
    _audit_staff(
        session,
        staff,
        actor=ANONYMOUS_ACTOR,
        action="staff.login_refused",
        reason=str(failure),
        failed_logins=staff.failed_logins,
    )
    if counts and staff.failed_logins >= MAX_FAILED_LOGINS:
        staff.locked_at = now
        _audit_staff(
            session,
            staff,
            actor=SYSTEM_ACTOR,
            action="staff.locked",
            failed_logins=staff.failed_logins,
        )


# ---- sessions ------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    session: Session,
    staff: StaffAccount,
    *,
    replacing_token: str | None = None,
    now: datetime | None = None,
) -> tuple[str, StaffSession]:
    """A new session with a new random token, returned once; only its hash is stored.

    A new token at every login (rotation) means a token planted in a browser before login
    (session fixation) is worthless afterwards; ``replacing_token`` is the browser's previous
    token, whose session is ended.
    """
    now = now or utc_now()
    if not staff.is_active:
        raise InactiveStaff(staff.id)
    replaced = _live_session(session, replacing_token) if replacing_token else None
    if replaced is not None:
        replaced.ended_at = now
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = StaffSession(
        token_hash=_token_hash(token),
        staff_id=staff.id,
        csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    _audit_staff(
        session,
        staff,
        actor=staff_subject(staff.id),
        action="staff.session_opened",
        session_id=row.id,
        replaced_session_id=replaced.id if replaced else None,
    )
    return token, row


def resolve_session(
    session: Session, token: str, *, now: datetime | None = None
) -> StaffSession | None:
    """The live session ``token`` names, its idle clock restarted; None if there is none.

    A session idle for IDLE_TIMEOUT, or of a staff member since disabled or locked, is ended here
    for good, so that unlocking an account does not bring an old browser tab back to life.
    """
    now = now or utc_now()
    row = _live_session(session, token)
    if row is None:
        return None
    if not row.staff.is_active:
        _end(session, row, now, reason="staff_inactive")
        return None
    if now - row.last_seen_at >= IDLE_TIMEOUT:
        _end(session, row, now, reason="idle_timeout")
        return None
    row.last_seen_at = now
    return row


def end_session(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Log out. True if a live session was ended."""
    row = _live_session(session, token)
    if row is None:
        return False
    _end(session, row, now or utc_now(), reason="logout")
    return True


def _live_session(session: Session, token: str) -> StaffSession | None:
    row = session.scalars(
        select(StaffSession).where(StaffSession.token_hash == _token_hash(token))
    ).one_or_none()
    return row if row is not None and row.ended_at is None else None


def _end(session: Session, row: StaffSession, now: datetime, *, reason: str) -> None:
    row.ended_at = now
    actor = staff_subject(row.staff_id) if reason == "logout" else SYSTEM_ACTOR
    _audit_staff(
        session,
        row.staff,
        actor=actor,
        action="staff.session_ended",
        session_id=row.id,
        reason=reason,
    )


def _end_all_sessions(session: Session, staff_id: int, now: datetime) -> int:
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


# ---- API keys ------------------------------------------------------------------------------


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: Session,
    *,
    institution_id: int,
    name: str,
    roles: Iterable[StaffRole],
    actor: str,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its plaintext ``fkj_<prefix>_<secret>``, shown once and never stored."""
    role_set = parse_roles(roles)
    name = clean_api_key_name(name)
    institution = _institution(session, institution_id)
    prefix = _unused_prefix(session)
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    key = ApiKey(
        institution_id=institution_id,
        name=name,
        prefix=prefix,
        secret_hash=_secret_hash(secret),
        created_by=actor,
        created_at=now or utc_now(),
        role_grants=[ApiKeyRoleGrant(role=role) for role in sorted_roles(role_set)],
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="apikey.created",
        institution=institution.code,
        subject=api_key_subject(key.id),
        details={"name": name, "roles": [str(role) for role in sorted_roles(role_set)]},
    )
    return key, f"{API_KEY_SCHEME}_{prefix}_{secret}"


def _unused_prefix(session: Session) -> str:
    # 36^8 prefixes: a collision is rare enough that retrying is simpler than anything else.
    while True:
        prefix = "".join(
            secrets.choice(_API_KEY_PREFIX_ALPHABET) for _ in range(API_KEY_PREFIX_LENGTH)
        )
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            return prefix


def resolve_api_key(
    session: Session, presented: str, *, now: datetime | None = None
) -> ApiKey | None:
    """The live key ``presented`` is, or None (malformed, unknown, wrong secret or revoked).

    A wrong secret or a revoked key is audited: a key that is known but does not match is
    someone trying. The caller must commit even when this returns None.
    """
    parsed = _parse_api_key(presented)
    if parsed is None:
        return None
    prefix, secret = parsed
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    if key is None:
        return None
    if not hmac.compare_digest(key.secret_hash, _secret_hash(secret)):
        _audit_key_refused(session, key, "wrong_secret")
        return None
    if key.revoked_at is not None:
        _audit_key_refused(session, key, "revoked")
        return None
    key.last_used_at = now or utc_now()
    return key


def _parse_api_key(presented: str) -> tuple[str, str] | None:
    if len(presented) > _API_KEY_MAX_PRESENTED_LENGTH:
        return None
    # The secret is URL-safe base64 and may itself contain "_"; split at the first two only.
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_SCHEME or not parts[2]:
        return None
    if _API_KEY_PREFIX_PATTERN.fullmatch(parts[1]) is None:
        return None
    return parts[1], parts[2]


def _audit_key_refused(session: Session, key: ApiKey, reason: str) -> None:
    audit.record(
        session,
        actor=ANONYMOUS_ACTOR,
        action="apikey.refused",
        institution=key.institution.code,
        subject=api_key_subject(key.id),
        details={"reason": reason},
    )


def revoke_api_key(
    session: Session,
    api_key_id: int,
    *,
    institution_id: int,
    actor: str,
    now: datetime | None = None,
) -> ApiKey:
    """Revoke at once: the next request with the key is refused. Revoking twice keeps the
    first time."""
    if not _valid_id(api_key_id):
        raise UnknownApiKey(api_key_id)
    key = session.scalars(
        select(ApiKey).where(ApiKey.id == api_key_id).with_for_update()
    ).one_or_none()
    if key is None or key.institution_id != institution_id:
        raise UnknownApiKey(api_key_id)
    already = key.revoked_at is not None
    if not already:
        key.revoked_at = now or utc_now()
    audit.record(
        session,
        actor=actor,
        action="apikey.revoked",
        institution=key.institution.code,
        subject=api_key_subject(key.id),
        details={"already_revoked": already},
    )
    return key


def list_api_keys(session: Session, institution_id: int, *, actor: str) -> list[ApiKey]:
    institution = _institution(session, institution_id)
    keys = list(
        session.scalars(
            select(ApiKey).where(ApiKey.institution_id == institution_id).order_by(ApiKey.id)
        )
    )
    audit.record(
        session,
        actor=actor,
        action="apikey.listed",
        institution=institution.code,
        details={"count": len(keys)},
    )
    return keys
