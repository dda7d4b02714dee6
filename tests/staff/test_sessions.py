"""Login sessions: 30 minutes idle ends them, every login rotates the token, disabling ends all."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.audit.models import AuditEntry
from fukaiji.staff import (
    IDLE_TIMEOUT,
    InactiveStaff,
    StaffAccount,
    StaffSession,
    disable_staff,
    end_session,
    open_session,
    reset_totp,
    resolve_session,
)

MakeStaff = Callable[..., tuple[StaffAccount, str]]


def test_a_new_session_resolves_and_stores_only_the_hash_of_its_token(
    session: Session, make_staff: MakeStaff, now: datetime
) -> None:
    staff, _ = make_staff()
    token, row = open_session(session, staff, now=now)
    session.commit()
    assert len(token) >= 43  # 32 random bytes
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, row.csrf_token}
    assert len(row.csrf_token) >= 43
    assert resolve_session(session, token, now=now) is row
    assert resolve_session(session, "not-a-token", now=now) is None


def test_idle_for_30_minutes_ends_the_session(
    session: Session, make_staff: MakeStaff, now: datetime
) -> None:
    staff, _ = make_staff()
    token, row = open_session(session, staff, now=now)
    almost = now + IDLE_TIMEOUT - timedelta(seconds=1)
    assert resolve_session(session, token, now=almost) is row
    # Activity restarts the idle clock.
    assert resolve_session(session, token, now=almost + IDLE_TIMEOUT - timedelta(seconds=1))
    expired_at = almost + IDLE_TIMEOUT - timedelta(seconds=1) + IDLE_TIMEOUT
    assert resolve_session(session, token, now=expired_at) is None
    assert row.ended_at == expired_at
    session.commit()
    # Ended for good: coming back at once does not revive it.
    assert resolve_session(session, token, now=expired_at) is None
    ended = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "staff.session_ended")
    ).one()
    assert json.loads(ended.details) == {"session_id": row.id, "reason": "idle_timeout"}


def test_idle_timeout_is_thirty_minutes() -> None:
    assert timedelta(minutes=30) == IDLE_TIMEOUT


def test_a_new_login_gets_a_new_token_and_ends_the_session_it_replaces(
    session: Session, make_staff: MakeStaff, now: datetime
) -> None:
    staff, _ = make_staff()
    old_token, old = open_session(session, staff, now=now)
    new_token, new = open_session(session, staff, replacing_token=old_token, now=now)
    assert new_token != old_token and new.id != old.id
    assert old.ended_at == now
    assert resolve_session(session, old_token, now=now) is None
    assert resolve_session(session, new_token, now=now) is new
    opened = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "staff.session_opened")
        .order_by(AuditEntry.seq)
    ).all()
    assert json.loads(opened[-1].details) == {
        "session_id": new.id,
        "replaced_session_id": old.id,
    }


def test_a_replacing_token_that_names_nothing_live_is_ignored(
    session: Session, make_staff: MakeStaff, now: datetime
) -> None:
    staff, _ = make_staff()
    token, _ = open_session(session, staff, replacing_token="stale-cookie", now=now)
    assert resolve_session(session, token, now=now) is not None


def test_logging_out_ends_the_session(
    session: Session, make_staff: MakeStaff, now: datetime
) -> None:
    staff, _ = make_staff()
    token, row = open_session(session, staff, now=now)
    assert end_session(session, token, now=now)
    assert not end_session(session, token, now=now)
    assert resolve_session(session, token, now=now) is None
    assert row.ended_at == now


def test_disabling_ends_every_session_at_once(
    session: Session, make_staff: MakeStaff, now: datetime
) -> None:
    staff, _ = make_staff()
    other, _ = make_staff("sato")
    tokens = [open_session(session, staff, now=now)[0] for _ in range(3)]
    other_token, _ = open_session(session, other, now=now)
    session.commit()
    disable_staff(session, staff.id, actor="cli:root", now=now)
    session.commit()
    session.expire_all()
    rows = session.scalars(select(StaffSession).where(StaffSession.staff_id == staff.id)).all()
    assert [row.ended_at for row in rows] == [now, now, now]
    assert all(resolve_session(session, token, now=now) is None for token in tokens)
    assert resolve_session(session, other_token, now=now) is not None
    disabled = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "staff.disabled")
    ).one()
    assert json.loads(disabled.details) == {"sessions_ended": 3}


def test_resetting_totp_ends_every_session(
    session: Session, make_staff: MakeStaff, now: datetime, totp_key: bytes
) -> None:
    staff, old_secret = make_staff()
    token, _ = open_session(session, staff, now=now)
    new_secret = reset_totp(session, staff.id, totp_key=totp_key, actor="cli:root", now=now)
    assert new_secret != old_secret
    assert resolve_session(session, token, now=now) is None


def test_a_locked_staff_members_session_stops_working_and_stays_ended(
    session: Session, make_staff: MakeStaff, now: datetime
) -> None:
    staff, _ = make_staff()
    token, row = open_session(session, staff, now=now)
    staff.locked_at = now
    assert resolve_session(session, token, now=now) is None
    assert row.ended_at == now
    staff.locked_at = None  # unlocking does not bring the old tab back
    assert resolve_session(session, token, now=now) is None


def test_a_session_cannot_be_opened_for_an_inactive_account(
    session: Session, make_staff: MakeStaff, now: datetime
) -> None:
    staff, _ = make_staff()
    staff.disabled_at = now
    with pytest.raises(InactiveStaff):
        open_session(session, staff, now=now)
