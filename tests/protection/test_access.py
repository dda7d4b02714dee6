"""機関内での情報共有 and need to know: the registering desk sees the facts and the region;
another department of the same institution sees only that the person is to be watched; another
institution sees nothing, not even whether a protection exists. Every attempt is audited."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from fukaiji.audit.models import AuditEntry
from fukaiji.protection import service
from fukaiji.protection.errors import ProtectionAccessDenied, UnknownProtection
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.service import View


def audit_of(session, protection_id) -> list[tuple[str, str, dict]]:
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject == f"protection:{protection_id}")
        .order_by(AuditEntry.seq)
    )
    return [(entry.action, entry.actor, json.loads(entry.details)) for entry in entries]


def test_only_the_registering_desk_sees_the_facts_and_the_region(desk) -> None:
    session = desk.world.session
    protection = desk.register(desk.world.resident(), card_left_behind=True, region=["270008"])

    _, view = service.access_protection(session, protection_id=protection.id, viewer=desk.desk)
    assert view is View.FULL
    _, view = service.access_protection(session, protection_id=protection.id, viewer=desk.tax)
    assert view is View.WATCH_ONLY
    with pytest.raises(ProtectionAccessDenied):
        service.desk_protection(session, protection_id=protection.id, viewer=desk.tax)
    with pytest.raises(ProtectionAccessDenied):
        service.update_protection(
            session,
            protection_id=protection.id,
            viewer=desk.tax,
            facts=CaseFacts(False, False, False, False),
        )
    session.commit()

    trail = audit_of(session, protection.id)
    assert ("protection.read", "staff:osaka-desk") in {(a, who) for a, who, _ in trail}
    tax = [
        (action, details.get("view") or details.get("reason"))
        for action, who, details in trail
        if who == "staff:osaka-tax"
    ]
    assert tax == [
        ("protection.read", "watch_only"),
        ("protection.read", "watch_only"),
        ("protection.read_refused", "not_registering_desk"),
        ("protection.read", "watch_only"),
        ("protection.read_refused", "not_registering_desk"),
    ]
    # The log keeps neither the region nor the facts.
    assert all("270008" not in str(details) for _, _, details in trail)
    assert all("card_left_behind" not in str(details) for _, _, details in trail)


def test_another_institution_is_told_not_found_exactly_as_for_no_protection(desk) -> None:
    session = desk.world.session
    protection = desk.register(desk.world.resident())
    with pytest.raises(UnknownProtection) as theirs:
        service.access_protection(session, protection_id=protection.id, viewer=desk.outsider)
    with pytest.raises(UnknownProtection) as nothing:
        service.access_protection(session, protection_id=uuid.uuid4(), viewer=desk.outsider)
    assert (theirs.value.field, theirs.value.message) == (
        nothing.value.field,
        nothing.value.message,
    )
    assert UnknownProtection.keep_changes  # so the refused attempt's audit entry is committed
    assert [a for a, who, _ in audit_of(session, protection.id) if who == desk.outsider.actor] == [
        "protection.read_refused"
    ]


def test_a_department_only_lists_its_own_protections(desk) -> None:
    session = desk.world.session
    protection = desk.register(desk.world.resident())
    assert [p.id for p in service.list_desk_protections(session, viewer=desk.desk)] == [
        protection.id
    ]
    assert service.list_desk_protections(session, viewer=desk.tax) == []
    assert service.list_desk_protections(session, viewer=desk.outsider) == []
