"""住民基本台帳: registration, moves with history, and 個人番号の変更 that never reuses a number."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.jp import in_

from fukaiji import audit
from fukaiji.registry import moves, service
from fukaiji.registry.errors import InvalidResident, UnknownMyNumber
from fukaiji.registry.models import MoveKind, MyNumberRecord, Person

KEY = b"k" * 32
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def register(session: Session, **overrides: object) -> Person:
    fields: dict[str, object] = {
        "municipality_code": "131016",
        "family_name": "山田",
        "given_name": "花子",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "はなこ",
        "birth_date": date(1990, 4, 1),
        "address_line": "千代田一丁目1番1号",
        "moved_in_on": date(2020, 4, 1),
        "my_number_key": KEY,
        "actor": "staff:1",
        "now": NOW,
    }
    fields.update(overrides)
    return service.register_resident(session, **fields)  # type: ignore[arg-type]


def test_a_registered_resident_gets_a_resident_record_code_and_a_valid_my_number(
    session: Session,
) -> None:
    person = register(session)
    number = service.current_my_number(session, person.id)
    assert in_.is_valid(str(number))
    assert len(person.resident_record_code) == 11
    assert person.given_name_kana == "ハナコ"
    assert person.current_residence.municipality_code == "131016"
    assert service.find_by_my_number(session, str(number)).id == person.id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"municipality_code": "130001"}, "住所"),
        ({"municipality_code": "131017"}, "住所"),
        ({"family_name": "  "}, "氏"),
        ({"given_name_kana": "Hanako"}, "名（カナ）"),
        ({"birth_date": date(2027, 1, 1)}, "生年月日"),
        ({"address_line": ""}, "住所"),
    ],
)
def test_bad_resident_data_is_refused_naming_the_field_and_changes_nothing(
    session: Session, overrides: dict[str, object], field: str
) -> None:
    before = session.scalar(select(func.count()).select_from(Person))
    with pytest.raises(InvalidResident) as refused:
        register(session, **overrides)
    assert refused.value.field == field
    assert session.scalar(select(func.count()).select_from(Person)) == before


def test_moves_keep_the_history_and_tell_relocation_from_move_in(session: Session) -> None:
    person = register(session)
    relocation = moves.relocate(
        session,
        municipality_code="131016",
        person_id=person.id,
        address_line="千代田二丁目2番2号",
        moved_on=date(2023, 1, 10),
        actor="staff:1",
        now=NOW,
    )
    moves.record_move_out(
        session,
        person_id=person.id,
        destination_code="141003",
        planned_on=date(2026, 11, 20),
        actor="staff:1",
        municipality_code="131016",
        now=NOW,
    )
    moves.complete_move_in(
        session,
        municipality_code="141003",
        my_number=service.current_my_number(session, person.id),
        address_line="横浜市中区1番",
        moved_on=date(2026, 11, 22),
        actor="staff:2",
        now=NOW,
    )
    history = service.get_person(session, person.id).residences
    assert (relocation.kind, history[-1].kind) == (MoveKind.RELOCATION, MoveKind.MOVE_IN)
    assert [r.municipality_code for r in history] == ["131016", "131016", "141003"]
    assert [r.moved_out_on for r in history] == [date(2023, 1, 10), date(2026, 11, 22), None]
    assert [p.id for p in service.residents_of(session, "141003")] == [person.id]
    assert service.residents_of(session, "131016") == []
    with pytest.raises(InvalidResident):
        moves.relocate(
            session,
            municipality_code="141003",
            person_id=person.id,
            address_line="戻り",
            moved_on=date(2024, 1, 1),
            actor="staff:2",
            now=NOW,
        )


def test_after_a_change_the_old_number_finds_no_one_and_the_person_stays_the_same(
    session: Session,
) -> None:
    person = register(session)
    old = service.current_my_number(session, person.id)
    new = service.change_my_number(
        session, person_id=person.id, reason="漏えいのおそれ", my_number_key=KEY, actor="staff:1"
    )
    assert new != old
    assert service.find_by_my_number(session, new).id == person.id
    with pytest.raises(UnknownMyNumber) as retired:
        service.find_by_my_number(session, old)
    assert str(old) not in str(retired.value)
    with pytest.raises(UnknownMyNumber) as never_issued:
        service.find_by_my_number(session, "123456789018")
    # Any institution may ask: "retired" would tell it that she changed her number.
    assert retired.value.message == never_issued.value.message
    assert audit.verify(session).intact


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.sampled_from(["register", "change"]), min_size=1, max_size=25))
def test_many_changes_never_reuse_a_number_and_every_number_is_valid(
    session: Session, steps: list[str]
) -> None:
    people: list[Person] = []
    for step in steps:
        if step == "register" or not people:
            people.append(register(session))
        else:
            service.change_my_number(
                session, person_id=people[-1].id, reason="変更", my_number_key=KEY, actor="t"
            )
    numbers = session.scalars(select(MyNumberRecord.number)).all()
    assert len(numbers) == len(set(numbers))
    assert all(in_.is_valid(number) for number in numbers)
    for person in people:
        current = session.scalars(
            select(MyNumberRecord).where(
                MyNumberRecord.person_id == person.id, MyNumberRecord.retired_at.is_(None)
            )
        ).all()
        assert len(current) == 1
    session.rollback()
