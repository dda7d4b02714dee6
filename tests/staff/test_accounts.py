"""Creating, reading, listing and changing staff accounts; refusals change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fukaiji.audit.models import AuditEntry
from fukaiji.network.models import Institution
from fukaiji.staff import (
    DepartmentOfAnotherInstitution,
    DuplicateUsername,
    InvalidUsername,
    MissingRoles,
    PasswordPolicyError,
    StaffAccount,
    StaffError,
    StaffRole,
    UnknownDepartment,
    UnknownInstitution,
    UnknownStaff,
    create_staff,
    disable_staff,
    find_staff_id,
    get_staff,
    list_staff,
    set_roles,
    unlock_staff,
)
from fukaiji.staff.service import _insert_account
from fukaiji.staff.totp import decrypt_secret

MakeStaff = Callable[..., tuple[StaffAccount, str]]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def audit_entries(session: Session, action: str | None = None) -> list[AuditEntry]:
    statement = select(AuditEntry).order_by(AuditEntry.seq)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    return list(session.scalars(statement))


def test_create_staff_stores_the_account_roles_and_an_audit_entry(
    session: Session, make_staff: MakeStaff, chiyoda: Institution, totp_key: bytes
) -> None:
    staff, secret = make_staff(roles=(StaffRole.ADMINISTRATOR, StaffRole.CONSULTATION_DESK))
    session.expire_all()
    stored = session.get(StaffAccount, staff.id)
    assert stored is not None
    assert stored.username == "tanaka"
    assert stored.display_name == "田中 花子"
    assert stored.institution_id == chiyoda.id
    assert stored.department.name == "市民課"
    assert stored.roles == {StaffRole.ADMINISTRATOR, StaffRole.CONSULTATION_DESK}
    assert stored.failed_logins == 0
    assert stored.locked_at is None and stored.disabled_at is None
    assert stored.password_hash.startswith("$argon2id$")
    assert decrypt_secret(totp_key, stored.totp_secret_encrypted) == secret
    [entry] = audit_entries(session, "staff.created")
    assert entry.actor == "cli:root"
    assert entry.institution == "131016"
    assert entry.subject == f"staff:{staff.id}"
    assert json.loads(entry.details) == {
        "username": "tanaka",
        "department_id": stored.department_id,
        "roles": ["consultation_desk", "administrator"],
    }


def test_the_totp_secret_is_not_stored_in_plain_text(
    session: Session, make_staff: MakeStaff
) -> None:
    staff, secret = make_staff()
    session.expire_all()
    stored = session.get(StaffAccount, staff.id)
    assert stored is not None
    assert secret.encode() not in stored.totp_secret_encrypted
    assert secret.lower().encode() not in stored.totp_secret_encrypted.lower()


def _department_id(institution: Institution, name: str) -> int:
    return next(d.id for d in institution.departments if d.name == name)


def _attempt(session: Session, institution: Institution, **changes: object) -> None:
    arguments: dict[str, object] = {
        "institution_id": institution.id,
        "department_id": _department_id(institution, "市民課"),
        "username": "suzuki",
        "display_name": "鈴木 一郎",
        "password": "kasumigaseki-aozora-2026",
        "roles": [StaffRole.BUSINESS_DESK],
        "totp_key": bytes(range(32)),
        "actor": "cli:root",
    }
    arguments.update(changes)
    create_staff(session, **arguments)  # type: ignore[arg-type]


REFUSALS: list[tuple[str, Callable[[Institution, Institution], dict[str, object]], type]] = [
    ("unknown institution", lambda c, o: {"institution_id": 999_999}, UnknownInstitution),
    ("unknown department", lambda c, o: {"department_id": 999_999}, UnknownDepartment),
    (
        "department of another institution",
        lambda c, o: {"department_id": _department_id(o, "区政課")},
        DepartmentOfAnotherInstitution,
    ),
    ("duplicate username", lambda c, o: {"username": "tanaka"}, DuplicateUsername),
    ("bad username", lambda c, o: {"username": "Suzuki Ichiro"}, InvalidUsername),
    ("password policy", lambda c, o: {"password": "suzuki"}, PasswordPolicyError),
    ("empty roles", lambda c, o: {"roles": []}, MissingRoles),
]


@pytest.mark.parametrize(
    ("changes", "error"),
    [pytest.param(changes, error, id=name) for name, changes, error in REFUSALS],
)
def test_refused_creations_raise_a_typed_error_and_change_nothing(
    session: Session,
    make_staff: MakeStaff,
    chiyoda: Institution,
    osaka: Institution,
    changes: Callable[[Institution, Institution], dict[str, object]],
    error: type[StaffError],
) -> None:
    make_staff()
    before = (count(session, StaffAccount), count(session, AuditEntry))
    with pytest.raises(error) as raised:
        _attempt(session, chiyoda, **changes(chiyoda, osaka))
    assert raised.value.message.split(":")[0]  # names the field before the colon
    assert "(" in raised.value.message and raised.value.message.endswith(")")
    session.commit()
    assert (count(session, StaffAccount), count(session, AuditEntry)) == before


def test_a_racing_duplicate_is_caught_by_the_constraint_and_the_transaction_survives(
    session: Session, make_staff: MakeStaff
) -> None:
    original, _ = make_staff()
    twin = StaffAccount(
        institution_id=original.institution_id,
        department_id=original.department_id,
        username="tanaka",
        display_name="別人",
        password_hash="x",
        totp_secret_encrypted=b"x",
        failed_logins=0,
    )
    with pytest.raises(DuplicateUsername):
        _insert_account(session, twin)
    assert twin not in session  # the savepoint rolled back and let go of it
    assert count(session, StaffAccount) == 1  # the transaction can still be used
    session.commit()


def test_lookup_by_username(session: Session, make_staff: MakeStaff, chiyoda: Institution) -> None:
    staff, _ = make_staff()
    assert find_staff_id(session, "TANAKA") == staff.id
    for nobody in ("nobody", "tanaka\x00", "\x00"):
        with pytest.raises(UnknownStaff):
            find_staff_id(session, nobody)


def test_get_and_list_are_audited_and_kept_to_the_institution(
    session: Session, make_staff: MakeStaff, chiyoda: Institution, osaka: Institution
) -> None:
    tanaka, _ = make_staff("tanaka")
    make_staff("sato")
    yamada, _ = make_staff("yamada", institution=osaka)
    assert [s.username for s in list_staff(session, chiyoda.id, actor="staff:1")] == [
        "sato",
        "tanaka",
    ]
    assert get_staff(session, tanaka.id, actor="staff:1", institution_id=chiyoda.id) is tanaka
    with pytest.raises(UnknownStaff):
        get_staff(session, yamada.id, actor="staff:1", institution_id=chiyoda.id)
    [listed] = audit_entries(session, "staff.listed")
    assert (listed.actor, listed.institution, json.loads(listed.details)) == (
        "staff:1",
        "131016",
        {"count": 2},
    )
    [read] = audit_entries(session, "staff.read")
    assert read.subject == f"staff:{tanaka.id}"


def test_set_roles_replaces_the_grants_and_audits_before_and_after(
    session: Session, make_staff: MakeStaff
) -> None:
    staff, _ = make_staff(roles=(StaffRole.CONSULTATION_DESK, StaffRole.BUSINESS_DESK))
    set_roles(session, staff.id, [StaffRole.BUSINESS_DESK, StaffRole.NOTICE_SENDER], actor="x")
    session.commit()
    session.expire_all()
    assert session.get(StaffAccount, staff.id).roles == {  # type: ignore[union-attr]
        StaffRole.BUSINESS_DESK,
        StaffRole.NOTICE_SENDER,
    }
    [entry] = audit_entries(session, "staff.roles_changed")
    assert json.loads(entry.details) == {
        "before": ["business_desk", "consultation_desk"][::-1],
        "after": ["business_desk", "notice_sender"],
    }
    with pytest.raises(MissingRoles):
        set_roles(session, staff.id, [], actor="x")


def test_staff_of_another_institution_cannot_be_changed_through_this_one(
    session: Session, make_staff: MakeStaff, chiyoda: Institution, osaka: Institution
) -> None:
    yamada, _ = make_staff("yamada", institution=osaka)
    for operation in (disable_staff, unlock_staff):
        with pytest.raises(UnknownStaff):
            operation(session, yamada.id, actor="staff:1", institution_id=chiyoda.id)
    with pytest.raises(UnknownStaff):
        set_roles(session, yamada.id, ["administrator"], actor="x", institution_id=chiyoda.id)


def test_disable_and_unlock_are_audited(
    session: Session, make_staff: MakeStaff, now: datetime
) -> None:
    staff, _ = make_staff()
    staff.locked_at, staff.failed_logins = now, 5
    unlock_staff(session, staff.id, actor="cli:root")
    assert (staff.locked_at, staff.failed_logins) == (None, 0)
    disable_staff(session, staff.id, actor="cli:root", now=now)
    assert staff.disabled_at == now
    session.commit()
    actions = [entry.action for entry in audit_entries(session)]
    assert actions[-2:] == ["staff.unlocked", "staff.disabled"]


@pytest.mark.parametrize("staff_id", [0, -1, 2**31, 2**63, 2**100])
def test_an_id_no_row_can_have_is_unknown_not_a_driver_error(
    session: Session, chiyoda: Institution, staff_id: int
) -> None:
    with pytest.raises(UnknownStaff):
        disable_staff(session, staff_id, actor="x")
    with pytest.raises(UnknownStaff):
        get_staff(session, staff_id, actor="x")
    with pytest.raises(UnknownInstitution):
        list_staff(session, staff_id, actor="x")
    with pytest.raises(UnknownDepartment):
        _attempt(session, chiyoda, department_id=staff_id)
