"""転出→転入 as the resident register does it: the municipality of residence records the 転出届,
only the named destination completes it within the legal period, and it sees the 前住所 only."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fukaiji import audit, events
from fukaiji.audit.models import AuditEntry
from fukaiji.events import PersonEvent, PersonEventKind
from fukaiji.identifiers import MyNumber
from fukaiji.registry import moves, rules, service
from fukaiji.registry.errors import (
    AlreadyResident,
    InvalidResident,
    MoveInDateRefused,
    MoveInRefused,
    MoveOutRefused,
    NoMoveOutHere,
    NoOpenMoveOut,
    ResidentElsewhere,
    UnknownPerson,
)
from fukaiji.registry.models import MoveKind, MoveOut, MoveOutChannel, Person, Residence

KEY = b"k" * 32
NOW = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # 2026年12月3日 in Japan
TODAY = date(2026, 12, 3)
CHIYODA, SHINJUKU, YOKOHAMA, OSAKA, SAKAI = "131016", "131041", "141003", "271004", "271403"


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[PersonEvent]:
    """Every person event announced, as well as handed to the real listeners."""
    seen: list[PersonEvent] = []
    real = events.announce

    def announce(session: Session, event: PersonEvent) -> None:
        seen.append(event)
        real(session, event)

    monkeypatch.setattr(events, "announce", announce)
    return seen


def register(session: Session, municipality_code: str = CHIYODA) -> Person:
    return service.register_resident(
        session,
        municipality_code=municipality_code,
        family_name="山田",
        given_name="花子",
        family_name_kana="ヤマダ",
        given_name_kana="ハナコ",
        birth_date=date(1990, 4, 1),
        address_line="千代田一丁目1番1号",
        moved_in_on=date(2020, 4, 1),
        my_number_key=KEY,
        actor="staff:chiyoda",
        now=NOW - timedelta(days=400),
    )


def move_out(
    session: Session,
    person: Person,
    destination: str = OSAKA,
    *,
    by: str | None = CHIYODA,
    planned_on: date = TODAY,
    now: datetime = NOW,
) -> MoveOut:
    return moves.record_move_out(
        session,
        person_id=person.id,
        destination_code=destination,
        planned_on=planned_on,
        actor=f"staff:{by}",
        municipality_code=by,
        now=now,
    )


def move_in(
    session: Session,
    person: Person,
    at: str = OSAKA,
    *,
    moved_on: date = TODAY,
    address_line: str = "中央区本町二丁目3番4号",
    now: datetime = NOW,
) -> Person:
    return moves.complete_move_in(
        session,
        municipality_code=at,
        my_number=service.current_my_number(session, person.id),
        address_line=address_line,
        moved_on=moved_on,
        actor=f"staff:{at}",
        now=now,
    )


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def residence_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Residence)) or 0


# ---- the happy path -----------------------------------------------------------------------------


def test_a_move_out_by_the_municipality_then_a_move_in_at_the_destination(
    session: Session, told: list[PersonEvent]
) -> None:
    person = register(session)
    recorded = move_out(session, person, planned_on=TODAY + timedelta(days=5))
    assert (recorded.from_municipality_code, recorded.destination_code) == (CHIYODA, OSAKA)
    assert recorded.channel == MoveOutChannel.WINDOW
    assert moves.open_move_out(session, person.id) == recorded

    moved = move_in(session, person, moved_on=TODAY)

    old, new = moved.residences
    assert (old.moved_out_on, new.municipality_code, new.kind) == (TODAY, OSAKA, MoveKind.MOVE_IN)
    assert recorded.completed_at == NOW and moves.open_move_out(session, person.id) is None
    assert {"registry.move_out_recorded", "registry.moved_in"} <= set(actions(session))
    by_kind = {event.kind: event for event in told}
    assert by_kind[PersonEventKind.MOVE_OUT].institution_code == CHIYODA
    assert by_kind[PersonEventKind.MOVE_OUT].details == {
        "destination": OSAKA,
        "planned_on": "2026年12月8日",
    }
    assert by_kind[PersonEventKind.MOVE_IN].institution_code == OSAKA
    assert all("本町" not in str(event.details) for event in told)  # never an address line
    assert audit.verify(session).intact


def test_the_person_herself_records_a_move_out_on_the_portal(
    session: Session, told: list[PersonEvent]
) -> None:
    person = register(session)
    recorded = move_out(session, person, by=None)
    assert recorded.channel == MoveOutChannel.PORTAL
    assert recorded.from_municipality_code == CHIYODA
    assert told[-1].kind == PersonEventKind.MOVE_OUT and told[-1].institution_code is None
    move_in(session, person)
    assert service.get_person(session, person.id).current_residence.municipality_code == OSAKA


# ---- who may record and cancel a 転出届 ----------------------------------------------------------


def test_a_municipality_where_she_does_not_live_cannot_record_her_move_out(
    session: Session, told: list[PersonEvent]
) -> None:
    person = register(session)
    with pytest.raises(ResidentElsewhere) as refused:
        move_out(session, person, SHINJUKU, by=YOKOHAMA)
    with pytest.raises(UnknownPerson) as nobody:
        moves.record_move_out(
            session,
            person_id=uuid.uuid4(),
            destination_code=SHINJUKU,
            planned_on=TODAY,
            actor="staff:yokohama",
            municipality_code=YOKOHAMA,
            now=NOW,
        )
    # No oracle: the same error, field and message as for someone who does not exist.
    assert isinstance(refused.value, UnknownPerson)
    assert (refused.value.field, refused.value.message) == (
        nobody.value.field,
        nobody.value.message,
    )
    assert refused.value.keep_changes  # the attempt is audited and told
    assert "registry.move_out_refused" in actions(session)
    assert told[-1].kind == PersonEventKind.LOOKUP and told[-1].details == {"refused": True}
    assert moves.open_move_out(session, person.id) is None


@pytest.mark.parametrize(
    ("destination", "planned_on", "field"),
    [
        ("130001", TODAY, "転出先"),  # 東京都: a prefecture
        ("131017", TODAY, "転出先"),  # a bad check digit
        (CHIYODA, TODAY, "転出先"),  # where she lives: a 転居
        (OSAKA, TODAY + timedelta(days=15), "転出予定日"),
        (OSAKA, TODAY - timedelta(days=15), "転出予定日"),
    ],
)
def test_a_bad_move_out_is_refused_naming_the_field(
    session: Session, destination: str, planned_on: date, field: str
) -> None:
    person = register(session)
    with pytest.raises(MoveOutRefused) as refused:
        move_out(session, person, destination, planned_on=planned_on)
    assert refused.value.field == field
    assert "(" not in refused.value.message  # Japanese only


def test_the_planned_day_cannot_precede_the_current_move_in(session: Session) -> None:
    person = register(session)
    move_out(session, person, OSAKA, now=NOW - timedelta(days=20), planned_on=TODAY - timedelta(20))
    move_in(session, person, moved_on=TODAY - timedelta(days=3), now=NOW - timedelta(days=3))
    with pytest.raises(MoveOutRefused) as refused:
        move_out(session, person, SAKAI, by=OSAKA, planned_on=TODAY - timedelta(days=5))
    assert "住み始めた日" in refused.value.message
    # On the portal no answer depends on where she lives: that check is left to the 転入.
    move_out(session, person, SAKAI, by=None, planned_on=TODAY - timedelta(days=5))


def test_one_open_move_out_at_a_time_and_cancelling_it(session: Session) -> None:
    person = register(session)
    move_out(session, person)
    with pytest.raises(MoveOutRefused):
        move_out(session, person, YOKOHAMA)
    with pytest.raises(ResidentElsewhere):
        moves.cancel_move_out(
            session, person_id=person.id, actor="staff:osaka", municipality_code=OSAKA, now=NOW
        )
    cancelled = moves.cancel_move_out(
        session, person_id=person.id, actor="staff:chiyoda", municipality_code=CHIYODA, now=NOW
    )
    assert cancelled.cancelled_at == NOW
    with pytest.raises(NoOpenMoveOut):
        moves.cancel_move_out(session, person_id=person.id, actor="person", municipality_code=None)
    with pytest.raises(NoMoveOutHere):
        move_in(session, person)  # a cancelled 転出届 completes nothing
    move_out(session, person, YOKOHAMA, by=None)  # a new one may be made
    assert "registry.move_out_cancelled" in actions(session)


# ---- the 転入 and its refusals -----------------------------------------------------------------


def test_a_move_in_without_a_move_out_is_refused_audited_and_changes_nothing(
    session: Session, told: list[PersonEvent]
) -> None:
    person = register(session)
    before = residence_count(session)
    with pytest.raises(NoMoveOutHere) as without:
        move_in(session, person, SHINJUKU)
    assert without.value.keep_changes and isinstance(without.value, MoveInRefused)
    assert residence_count(session) == before
    assert service.get_person(session, person.id).current_residence.municipality_code == CHIYODA
    refused = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "registry.move_in_refused")
    ).one()
    assert (refused.institution, refused.subject) == (SHINJUKU, f"person:{person.id}")
    assert told[-1].kind == PersonEventKind.MOVE_REFUSED
    assert told[-1].institution_code == SHINJUKU

    # With a 転出届 to elsewhere, 新宿区 is answered exactly alike (and so is an unknown number).
    move_out(session, person, OSAKA)
    with pytest.raises(NoMoveOutHere) as elsewhere:
        move_in(session, person, SHINJUKU)
    with pytest.raises(NoMoveOutHere) as unknown:
        moves.complete_move_in(
            session,
            municipality_code=SHINJUKU,
            my_number=MyNumber("123456789018"),
            address_line="西新宿1番",
            moved_on=TODAY,
            actor="staff:shinjuku",
            now=NOW,
        )
    assert without.value.message == elsewhere.value.message == unknown.value.message
    assert without.value.field == elsewhere.value.field == unknown.value.field == "個人番号"
    assert "大阪" not in elsewhere.value.message
    reasons = session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "registry.move_in_refused")
    ).all()
    assert len(set(reasons)) == 1  # the audit entry does not tell them apart either
    assert moves.open_move_out(session, person.id) is not None


def test_a_future_move_in_is_refused_even_with_a_move_out(session: Session) -> None:
    person = register(session)
    move_out(session, person, planned_on=TODAY + timedelta(days=10))
    with pytest.raises(MoveInDateRefused) as refused:
        move_in(session, person, moved_on=TODAY + timedelta(days=1))
    assert refused.value.field == "異動日" and "未来" in refused.value.message
    assert service.get_person(session, person.id).current_residence.municipality_code == CHIYODA


def test_a_move_in_after_the_legal_period_is_refused_and_the_move_out_stays(
    session: Session,
) -> None:
    person = register(session)
    filed = NOW - timedelta(days=40)
    recorded = move_out(session, person, planned_on=TODAY - timedelta(days=40), now=filed)
    with pytest.raises(MoveInDateRefused) as too_late:
        move_in(session, person, moved_on=TODAY - timedelta(days=2))
    assert "30 日" in too_late.value.message and "2026年10月24日" in too_late.value.message
    with pytest.raises(MoveInDateRefused) as not_filed_in_time:
        move_in(session, person, moved_on=TODAY - timedelta(days=15))
    assert "14 日以内" in not_filed_in_time.value.message
    assert recorded.is_open  # for 千代田区 to handle
    assert service.get_person(session, person.id).current_residence.municipality_code == CHIYODA


def test_a_move_in_long_before_the_planned_day_is_refused(session: Session) -> None:
    person = register(session)
    move_out(session, person, planned_on=TODAY + timedelta(days=14))
    with pytest.raises(MoveInDateRefused) as refused:
        move_in(session, person, moved_on=TODAY - timedelta(days=1))
    assert "14 日より前" in refused.value.message
    move_in(session, person, moved_on=TODAY)  # 14 days early is still within the rule


def test_the_destination_that_is_her_own_municipality_is_a_relocation(session: Session) -> None:
    """A 転出届 to her own municipality can only come from the portal (which must not tell where
    she lives); the municipality itself is told to record a 転居 instead."""
    person = register(session)
    move_out(session, person, CHIYODA, by=None)
    with pytest.raises(AlreadyResident):
        move_in(session, person, CHIYODA)


# ---- 転居 ---------------------------------------------------------------------------------------


def test_a_relocation_is_recorded_by_the_municipality_of_residence_only(session: Session) -> None:
    person = register(session)
    with pytest.raises(ResidentElsewhere):
        moves.relocate(
            session,
            municipality_code=OSAKA,
            person_id=person.id,
            address_line="北区1番",
            moved_on=TODAY,
            actor="staff:osaka",
            now=NOW,
        )
    with pytest.raises(InvalidResident) as future:
        moves.relocate(
            session,
            municipality_code=CHIYODA,
            person_id=person.id,
            address_line="千代田二丁目",
            moved_on=TODAY + timedelta(days=1),
            actor="staff:chiyoda",
            now=NOW,
        )
    assert future.value.field == "異動日"
    residence = moves.relocate(
        session,
        municipality_code=CHIYODA,
        person_id=person.id,
        address_line="千代田二丁目",
        moved_on=TODAY,
        actor="staff:chiyoda",
        now=NOW,
    )
    assert residence.kind == MoveKind.RELOCATION
    assert "registry.relocated" in actions(session)


# ---- what a municipality sees ------------------------------------------------------------------


def test_each_municipality_sees_its_own_stay_and_the_previous_address_only(
    session: Session,
) -> None:
    """千代田区 → 大阪市 (the shelter) → 堺市: 堺市 sees 大阪市's address as 前住所 and nothing of
    千代田区; 新宿区, where she never lived, sees nothing; 大阪市, which she left, nothing."""
    person = register(session)
    move_out(session, person, OSAKA, planned_on=TODAY - timedelta(days=10), now=NOW - timedelta(10))
    move_in(session, person, OSAKA, moved_on=TODAY - timedelta(days=8), now=NOW - timedelta(8))
    moves.relocate(
        session,
        municipality_code=OSAKA,
        person_id=person.id,
        address_line="西区九条一丁目5番6号",
        moved_on=TODAY - timedelta(days=6),
        actor="staff:osaka",
        now=NOW - timedelta(days=6),
    )
    move_out(session, person, SAKAI, by=OSAKA, planned_on=TODAY - timedelta(2))
    move_in(session, person, SAKAI, address_line="堺区南瓦町3番1号", moved_on=TODAY)
    person = service.get_person(session, person.id)

    seen = rules.residences_visible_to(person, SAKAI)
    assert [(r.municipality_code, r.address_line) for r in seen] == [
        (OSAKA, "西区九条一丁目5番6号"),
        (SAKAI, "堺区南瓦町3番1号"),
    ]
    assert rules.residences_visible_to(person, SHINJUKU) == []
    assert rules.residences_visible_to(person, OSAKA) == []
    assert rules.residences_visible_to(person, CHIYODA) == []


@given(
    path=st.lists(st.sampled_from([CHIYODA, OSAKA, SAKAI]), min_size=1, max_size=8),
    viewer=st.sampled_from([CHIYODA, OSAKA, SAKAI, SHINJUKU]),
)
def test_nothing_older_than_the_previous_address_is_ever_visible(
    path: list[str], viewer: str
) -> None:
    person = Person(id=uuid.uuid4())
    for day, code in enumerate(path):
        if person.residences:
            person.residences[-1].moved_out_on = date(2020, 1, 1) + timedelta(days=day)
        person.residences.append(
            Residence(
                municipality_code=code,
                address_line=f"{day}",
                kind=MoveKind.MOVE_IN,
                moved_in_on=date(2020, 1, 1) + timedelta(days=day),
            )
        )
    seen = rules.residences_visible_to(person, viewer)
    if path[-1] != viewer:
        assert seen == []
        return
    first = len(person.residences) - len(seen)
    assert seen == person.residences[first:]  # the most recent addresses, without a gap
    assert all(r.municipality_code == viewer for r in seen[1:])
    if seen[0].municipality_code == viewer:
        assert first == 0  # she has lived nowhere else: there is no 前住所
    else:
        assert first + 1 < len(path) and path[first + 1] == viewer  # the 前住所, only


# ---- reads --------------------------------------------------------------------------------------


def test_reads_are_told_whether_they_succeed_or_are_refused(
    session: Session, told: list[PersonEvent]
) -> None:
    person = register(session)
    service.read_resident(session, municipality_code=CHIYODA, person_id=person.id, actor="s:1")
    assert told[-1].kind == PersonEventKind.LOOKUP and told[-1].details == {"refused": False}
    with pytest.raises(ResidentElsewhere):
        service.read_resident(session, municipality_code=OSAKA, person_id=person.id, actor="s:2")
    assert told[-1].details == {"refused": True} and told[-1].institution_code == OSAKA
    assert actions(session)[-2:] == ["registry.read", "registry.read_refused"]
    count = len(told)
    with pytest.raises(UnknownPerson):
        service.read_resident(session, municipality_code=OSAKA, person_id=uuid.uuid4(), actor="x")
    assert len(told) == count  # nobody found, nobody to tell
