"""API keys: shown once, stored hashed, found by prefix, revoked at once, kept per institution."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.audit.models import AuditEntry
from fukaiji.network.models import Institution
from fukaiji.staff import (
    ApiKey,
    InvalidApiKeyName,
    MissingRoles,
    StaffRole,
    UnknownApiKey,
    UnknownInstitution,
    create_api_key,
    list_api_keys,
    resolve_api_key,
    revoke_api_key,
)


def issue(
    session: Session, institution: Institution, name: str = "宛名システム連携"
) -> tuple[ApiKey, str]:
    key, plaintext = create_api_key(
        session,
        institution_id=institution.id,
        name=name,
        roles=[StaffRole.NOTICE_SENDER],
        actor="staff:1",
    )
    session.commit()
    return key, plaintext


def test_the_plaintext_has_the_documented_shape_and_only_a_hash_is_kept(
    session: Session, chiyoda: Institution
) -> None:
    key, plaintext = issue(session, chiyoda)
    scheme, prefix, secret = plaintext.split("_", 2)
    assert scheme == "fkj" and prefix == key.prefix and len(prefix) == 8
    assert len(secret) >= 43
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert key.roles == {StaffRole.NOTICE_SENDER}
    assert (key.created_by, key.institution_id) == ("staff:1", chiyoda.id)
    assert not hasattr(key, "secret") and not hasattr(key, "plaintext")


def test_a_key_resolves_and_records_its_last_use(
    session: Session, chiyoda: Institution, now: datetime
) -> None:
    key, plaintext = issue(session, chiyoda)
    assert resolve_api_key(session, plaintext, now=now) is key
    assert key.last_used_at == now


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: "",
        lambda p: "fkj",
        lambda p: p.replace("fkj_", "abc_", 1),
        lambda p: p[:-10],
        lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"),
        lambda p: "fkj_zzzzzzzz_" + p.split("_", 2)[2],
        lambda p: "fkj_" + p.split("_", 2)[1].upper() + "_" + p.split("_", 2)[2],
        lambda p: p + "x" * 300,
    ],
    ids=[
        "empty",
        "scheme-only",
        "other-scheme",
        "truncated",
        "wrong-secret",
        "unknown-prefix",
        "upper-case-prefix",
        "too-long",
    ],
)
def test_malformed_unknown_or_wrong_keys_resolve_to_none(
    session: Session, chiyoda: Institution, now: datetime, mangle
) -> None:
    _, plaintext = issue(session, chiyoda)
    assert resolve_api_key(session, mangle(plaintext), now=now) is None


def test_a_wrong_secret_for_a_known_prefix_is_audited_as_someone_trying(
    session: Session, chiyoda: Institution, now: datetime
) -> None:
    key, plaintext = issue(session, chiyoda)
    assert resolve_api_key(session, plaintext[:-2] + "zz", now=now) is None
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "apikey.refused")).one()
    assert entry.subject == f"apikey:{key.id}"
    assert json.loads(entry.details) == {"reason": "wrong_secret"}


def test_a_revoked_key_resolves_to_none_at_once(
    session: Session, chiyoda: Institution, now: datetime
) -> None:
    key, plaintext = issue(session, chiyoda)
    assert resolve_api_key(session, plaintext, now=now) is key
    revoke_api_key(session, key.id, institution_id=chiyoda.id, actor="staff:1", now=now)
    assert resolve_api_key(session, plaintext, now=now + timedelta(microseconds=1)) is None
    session.commit()
    assert key.revoked_at == now
    # Revoking again keeps the first time.
    revoke_api_key(session, key.id, institution_id=chiyoda.id, actor="staff:1")
    assert key.revoked_at == now
    details = [
        json.loads(entry.details)
        for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "apikey.revoked").order_by(AuditEntry.seq)
        )
    ]
    assert details == [{"already_revoked": False}, {"already_revoked": True}]


def test_another_institution_can_neither_revoke_nor_list_a_key(
    session: Session, chiyoda: Institution, osaka: Institution, now: datetime
) -> None:
    key, plaintext = issue(session, chiyoda)
    with pytest.raises(UnknownApiKey, match=f"API キー {key.id}: この機関に登録されていません"):
        revoke_api_key(session, key.id, institution_id=osaka.id, actor="staff:9")
    for unknown in (999_999, 0, 2**63):
        with pytest.raises(UnknownApiKey):
            revoke_api_key(session, unknown, institution_id=chiyoda.id, actor="staff:9")
    assert resolve_api_key(session, plaintext, now=now) is key
    assert list_api_keys(session, osaka.id, actor="staff:9") == []
    assert list_api_keys(session, chiyoda.id, actor="staff:1") == [key]


def test_creation_refuses_bad_input_and_changes_nothing(
    session: Session, chiyoda: Institution
) -> None:
    for arguments, error in [
        ({"institution_id": 999_999}, UnknownInstitution),
        ({"name": "  "}, InvalidApiKeyName),
        ({"roles": []}, MissingRoles),
    ]:
        call = {
            "institution_id": chiyoda.id,
            "name": "連携",
            "roles": ["notice_sender"],
            "actor": "x",
        }
        call.update(arguments)
        with pytest.raises(error):
            create_api_key(session, **call)  # type: ignore[arg-type]
    assert session.scalars(select(ApiKey)).all() == []


def test_creation_and_listing_are_audited_without_the_key(
    session: Session, chiyoda: Institution
) -> None:
    key, _ = issue(session, chiyoda)
    list_api_keys(session, chiyoda.id, actor="staff:1")
    created = session.scalars(select(AuditEntry).where(AuditEntry.action == "apikey.created")).one()
    assert created.subject == f"apikey:{key.id}"
    assert json.loads(created.details) == {"name": "宛名システム連携", "roles": ["notice_sender"]}
    listed = session.scalars(select(AuditEntry).where(AuditEntry.action == "apikey.listed")).one()
    assert json.loads(listed.details) == {"count": 1}
