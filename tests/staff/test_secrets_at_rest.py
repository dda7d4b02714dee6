"""No password, TOTP secret or code, session token or API key is readable from the database.

A whole working day of staff activity is run, and then every text and binary column of every row
of every table is searched for each secret that was handed out or typed in.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import LargeBinary, String, Text, select
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.audit.models import AuditEntry
from fukaiji.db import Base
from fukaiji.db.migrations.registry import import_all_models
from fukaiji.network.models import Institution
from fukaiji.staff import (
    StaffAccount,
    StaffRole,
    authenticate,
    create_api_key,
    end_session,
    open_session,
    reset_totp,
    resolve_api_key,
    resolve_session,
    revoke_api_key,
)

MakeStaff = Callable[..., tuple[StaffAccount, str]]


def stored_values(session: Session) -> Iterator[tuple[str, str, str | bytes]]:
    import_all_models()
    for table in Base.metadata.sorted_tables:
        columns = [
            column
            for column in table.columns
            if isinstance(column.type, String | Text | LargeBinary)
        ]
        if not columns:  # a table of numbers and dates holds no secret
            continue
        for row in session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value is not None:
                    yield table.name, column.name, value


def variants(secret: str) -> list[bytes]:
    """The secret as text, and the forms an encoder might have left it in."""
    raw = secret.encode()
    return [raw, raw.lower(), raw.upper(), base64.b64encode(raw), raw.hex().encode()]


def assert_nowhere(session: Session, secrets: dict[str, str]) -> None:
    for table, column, value in stored_values(session):
        haystack = value if isinstance(value, bytes) else value.encode()
        for name, secret in secrets.items():
            for variant in variants(secret):
                assert variant not in haystack, f"{name} found in {table}.{column}"


def test_no_secret_is_stored_anywhere_or_written_to_the_audit_log(
    session: Session,
    make_staff: MakeStaff,
    chiyoda: Institution,
    now: datetime,
    totp_key: bytes,
    password: str,
) -> None:
    staff, first_secret = make_staff(roles=(StaffRole.ADMINISTRATOR,))
    secrets = {"password": password, "first TOTP secret": first_secret}

    wrong = "a-wrong-password-typed-in"
    secrets["wrong password"] = wrong
    authenticate(
        session,
        username="tanaka",
        password=wrong,
        totp_code=pyotp.TOTP(first_secret).at(now),
        totp_key=totp_key,
        now=now,
    )
    authenticate(session, username=password, password=password, totp_code="", totp_key=totp_key)
    code = pyotp.TOTP(first_secret).at(now + timedelta(seconds=30))
    secrets["TOTP code"] = code
    assert authenticate(
        session,
        username="tanaka",
        password=password,
        totp_code=code,
        totp_key=totp_key,
        now=now + timedelta(seconds=30),
    ).succeeded

    token, _ = open_session(session, staff, now=now)
    rotated, _ = open_session(session, staff, replacing_token=token, now=now)
    resolve_session(session, rotated, now=now)
    end_session(session, rotated, now=now)
    secrets |= {"session token": token, "rotated session token": rotated}

    second_secret = reset_totp(session, staff.id, totp_key=totp_key, actor=f"staff:{staff.id}")
    secrets["second TOTP secret"] = second_secret

    key, plaintext = create_api_key(
        session,
        institution_id=chiyoda.id,
        name="連携",
        roles=[StaffRole.NOTICE_SENDER],
        actor=f"staff:{staff.id}",
    )
    api_secret = plaintext.split("_", 2)[2]
    secrets |= {"API key": plaintext, "API key secret": api_secret}
    resolve_api_key(session, plaintext, now=now)
    resolve_api_key(session, plaintext[:-1] + "!", now=now)
    revoke_api_key(session, key.id, institution_id=chiyoda.id, actor=f"staff:{staff.id}")
    session.commit()

    assert_nowhere(session, secrets)
    details = " ".join(session.scalars(select(AuditEntry.details)))
    for name, secret in secrets.items():
        assert secret not in details, f"{name} in the audit log"
    assert audit.verify(session).intact
