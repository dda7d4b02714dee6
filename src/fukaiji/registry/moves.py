"""転出→転入 and 転居, as the resident register does them.

A move to another municipality is two steps. The municipality where the person lives records the
転出届 (the destination and the 転出予定日) at its window, or the person records it herself on
マイナポータル with her card (引越し手続). Then only the municipality named as destination can
complete it with the 転入, within the legal period, and it receives only the immediately previous
address (``rules.residences_visible_to``). A 転入 without a 転出届 naming the municipality, or dated
in the future, is refused: one message whether she has no 転出届 or one to elsewhere, audited, and
told to the desks that protect her (a MOVE_REFUSED event). A 転居 stays within the municipality
and is recorded by it alone.

The periods (``rules``): a 転出届 from 14 days before the planned day to 14 days after it; the
転入 not in the future, not more than 14 days before the planned day, filed within 14 days of
moving in and within 30 days after the planned day. A 転出届 whose 転入 comes too late stays open
for the old municipality to cancel.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji import audit, events
from fukaiji.db.base import utc_now
from fukaiji.events import PersonEvent, PersonEventKind
from fukaiji.identifiers import InvalidIdentifier, MyNumber, lookup_local_government
from fukaiji.registry import rules
from fukaiji.registry.errors import (
    AlreadyResident,
    InvalidResident,
    MoveInDateRefused,
    MoveInRefused,
    MoveOutRefused,
    NoMoveOutHere,
    NoOpenMoveOut,
)
from fukaiji.registry.models import (
    MoveKind,
    MoveOut,
    MoveOutChannel,
    MyNumberRecord,
    Person,
    Residence,
)
from fukaiji.registry.service import (
    checked_municipality,
    current_residence_or_none,
    get_person,
    person_subject,
    reach_resident,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo_date(at: datetime) -> date:
    """The calendar day in Japan at an instant: the periods of a move are Japanese days."""
    return at.astimezone(TOKYO).date()


def open_move_out(session: Session, person_id: uuid.UUID) -> MoveOut | None:
    """The person's 転出届 that is neither completed nor cancelled, if any."""
    return session.scalars(
        select(MoveOut).where(
            MoveOut.person_id == person_id,
            MoveOut.completed_at.is_(None),
            MoveOut.cancelled_at.is_(None),
        )
    ).one_or_none()


# ---- 転出届 -------------------------------------------------------------------------------------


def record_move_out(
    session: Session,
    *,
    person_id: uuid.UUID,
    destination_code: str,
    planned_on: date,
    actor: str,
    municipality_code: str | None,
    now: datetime | None = None,
) -> MoveOut:
    """転出届. ``municipality_code`` is the municipality recording it at its window, which must be
    where the person lives now (otherwise ``UnknownPerson``, exactly as ``resident_of``); None is
    the person herself on the portal, whom the caller has identified by her card. On the portal
    no answer depends on where she lives: the perpetrator may hold her card."""
    now = now or utc_now()
    if municipality_code is None:
        person = get_person(session, person_id)
    else:
        person = reach_resident(
            session,
            municipality_code=municipality_code,
            person_id=person_id,
            actor=actor,
            action="registry.move_out",
            now=now,
        )
    current = _current(person)
    at_window = municipality_code is not None
    destination = _destination(destination_code, current.municipality_code if at_window else None)
    rules.check_planned_day(planned_on, tokyo_date(now), current.moved_in_on if at_window else None)
    if open_move_out(session, person.id) is not None:
        raise MoveOutRefused(
            "転出届",
            "すでに転出届を受け付けています。内容を変えるときは、先に取り消してください。",
        )
    channel = MoveOutChannel.WINDOW if at_window else MoveOutChannel.PORTAL
    move_out = MoveOut(
        person_id=person.id,
        from_municipality_code=current.municipality_code,
        destination_code=destination,
        planned_on=planned_on,
        channel=channel,
        recorded_at=now,
        recorded_by=actor,
    )
    session.add(move_out)
    session.flush()
    _audit(session, actor, "registry.move_out_recorded", municipality_code, person, now, channel)
    _announce(
        session,
        PersonEventKind.MOVE_OUT,
        person,
        municipality_code,
        actor,
        now,
        destination=destination,
        planned_on=rules.japanese_date(planned_on),
    )
    return move_out


def cancel_move_out(
    session: Session,
    *,
    person_id: uuid.UUID,
    actor: str,
    municipality_code: str | None,
    now: datetime | None = None,
) -> MoveOut:
    """Cancel the open 転出届: by the municipality where the person lives (which it is from), or
    by the person herself on the portal (``municipality_code`` None)."""
    now = now or utc_now()
    if municipality_code is not None:
        reach_resident(
            session,
            municipality_code=municipality_code,
            person_id=person_id,
            actor=actor,
            action="registry.move_out_cancel",
            now=now,
        )
    move_out = open_move_out(session, person_id)
    if move_out is None:
        raise NoOpenMoveOut()
    move_out.cancelled_at = now
    session.flush()
    person = get_person(session, person_id)
    channel = MoveOutChannel.WINDOW if municipality_code else MoveOutChannel.PORTAL
    _audit(session, actor, "registry.move_out_cancelled", municipality_code, person, now, channel)
    return move_out


def _current(person: Person) -> Residence:
    current = current_residence_or_none(person)
    if current is None:
        raise MoveOutRefused("住所", "住民票のある住所がないため、転出届を受け付けられません。")
    return current


def _destination(code: str, current_code: str | None) -> str:
    """The destination: a municipality of the official list, other than the current one (checked
    at the window only: on the portal that refusal would say where she lives)."""
    try:
        government = lookup_local_government(code.strip())
    except InvalidIdentifier as error:
        raise MoveOutRefused(
            "転出先", f"転出先の市区町村コードが正しくありません（{error.fault_ja}）。"
        ) from error
    if government.is_prefecture:
        raise MoveOutRefused("転出先", "転出先には、都道府県ではなく市区町村を指定してください。")
    if str(government.code) == current_code:
        raise MoveOutRefused(
            "転出先",
            "転出先が今の市区町村と同じです。市区町村の中での引越しは、転居として届け出てください。",
        )
    return str(government.code)


# ---- 転入 ---------------------------------------------------------------------------------------


def complete_move_in(
    session: Session,
    *,
    municipality_code: str,
    my_number: MyNumber,
    address_line: str,
    moved_on: date,
    actor: str,
    now: datetime | None = None,
) -> Person:
    """転入 at ``municipality_code``, completing the person's open 転出届 that names it. Every
    refusal (``MoveInRefused``: commit it) is audited, and told where a person was found."""
    now = now or utc_now()
    today = tokyo_date(now)
    here = str(checked_municipality(municipality_code).code)
    address = rules.clean_address_line(address_line)
    person = _person_or_none(session, my_number)
    refusal = _MoveInRefusal(session, person, here, actor, now)
    if (fault := rules.future_move_fault(moved_on, today)) is not None:
        refusal.refuse("future_date", MoveInDateRefused(fault))
    move_out = _move_out_to(session, person, here)
    if person is None or move_out is None:
        refusal.refuse("no_move_out", NoMoveOutHere())
    if _held_back(session, move_out, person, here, actor, now):
        # Told to her desks as held; to this municipality it looks like no 転出届 at all.
        refusal.refuse("no_move_out", NoMoveOutHere(), told="held_for_protection")
    current = _current(person)
    if current.municipality_code == here:
        refusal.refuse("already_resident", AlreadyResident())
    fault = rules.move_in_fault(
        moved_on=moved_on,
        planned_on=move_out.planned_on,
        lived_there_since=current.moved_in_on,
        today=today,
    )
    if fault is not None:
        refusal.refuse("out_of_period", MoveInDateRefused(fault))
    _open_residence(session, person, current, here, address, moved_on, MoveKind.MOVE_IN)
    move_out.completed_at = now
    session.flush()
    _audit(session, actor, "registry.moved_in", here, person, now, MoveOutChannel(move_out.channel))
    _announce(
        session,
        PersonEventKind.MOVE_IN,
        person,
        here,
        actor,
        now,
        moved_on=rules.japanese_date(moved_on),
    )
    return person


class _MoveInRefusal:
    """Audit a refused 転入, tell it where a person was found, and raise."""

    def __init__(
        self, session: Session, person: Person | None, here: str, actor: str, now: datetime
    ) -> None:
        self.session = session
        self.person = person
        self.here = here
        self.actor = actor
        self.now = now

    def refuse(self, reason: str, error: MoveInRefused, *, told: str | None = None) -> NoReturn:
        audit.record(
            self.session,
            actor=self.actor,
            action="registry.move_in_refused",
            institution=self.here,
            subject=None if self.person is None else person_subject(self.person.id),
            details={"reason": reason},
            at=self.now,
        )
        if self.person is not None:
            _announce(
                self.session,
                PersonEventKind.MOVE_REFUSED,
                self.person,
                self.here,
                self.actor,
                self.now,
                reason=told or reason,
            )
        raise error


def _held_back(
    session: Session, move_out: MoveOut, person: Person, here: str, actor: str, now: datetime
) -> bool:
    """A 転出届 made on the portal may have been made by whoever holds her card: whether it may
    be completed is asked of the protection measures (``events.objections``). A 転出届 taken at
    the window, where she showed herself, is not asked about."""
    if MoveOutChannel(move_out.channel) is not MoveOutChannel.PORTAL:
        return False
    event = PersonEvent(
        kind=PersonEventKind.MOVE_IN,
        person_id=person.id,
        institution_code=here,
        actor=actor,
        at=now,
    )
    return bool(events.objections(session, event))


def _person_or_none(session: Session, number: MyNumber) -> Person | None:
    """The person a current 個人番号 belongs to; None for a number unknown or retired."""
    person_id = session.scalar(
        select(MyNumberRecord.person_id).where(
            MyNumberRecord.number == str(number), MyNumberRecord.retired_at.is_(None)
        )
    )
    return None if person_id is None else get_person(session, person_id)


def _move_out_to(session: Session, person: Person | None, here: str) -> MoveOut | None:
    if person is None:
        return None
    move_out = open_move_out(session, person.id)
    if move_out is None or move_out.destination_code != here:
        return None
    return move_out


# ---- 転居 ---------------------------------------------------------------------------------------


def relocate(
    session: Session,
    *,
    municipality_code: str,
    person_id: uuid.UUID,
    address_line: str,
    moved_on: date,
    actor: str,
    now: datetime | None = None,
) -> Residence:
    """転居 within the municipality where the person lives, recorded by it alone."""
    now = now or utc_now()
    person = reach_resident(
        session,
        municipality_code=municipality_code,
        person_id=person_id,
        actor=actor,
        action="registry.relocation",
        now=now,
    )
    if (fault := rules.future_move_fault(moved_on, tokyo_date(now))) is not None:
        raise InvalidResident("異動日", fault)
    current = person.current_residence
    if moved_on < current.moved_in_on:
        raise InvalidResident(
            "異動日",
            "異動日が、今の住所に住み始めた日より前です。実際に住み始めた日を入力してください。",
        )
    residence = _open_residence(
        session,
        person,
        current,
        municipality_code,
        rules.clean_address_line(address_line),
        moved_on,
        MoveKind.RELOCATION,
    )
    _audit(session, actor, "registry.relocated", municipality_code, person, now, None)
    return residence


# ---- shared -------------------------------------------------------------------------------------


def _open_residence(
    session: Session,
    person: Person,
    current: Residence,
    municipality_code: str,
    address_line: str,
    moved_on: date,
    kind: MoveKind,
) -> Residence:
    """Close the current address on ``moved_on`` and open the new one; history is kept."""
    current.moved_out_on = moved_on
    session.flush()
    residence = Residence(
        person=person,
        municipality_code=municipality_code,
        address_line=address_line,
        kind=kind,
        moved_in_on=moved_on,
    )
    session.add(residence)
    session.flush()
    return residence


def _audit(
    session: Session,
    actor: str,
    action: str,
    institution: str | None,
    person: Person,
    now: datetime,
    channel: MoveOutChannel | None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        institution=institution,
        subject=person_subject(person.id),
        details={} if channel is None else {"channel": channel.value},
        at=now,
    )


def _announce(
    session: Session,
    kind: PersonEventKind,
    person: Person,
    institution_code: str | None,
    actor: str,
    now: datetime,
    **details: object,
) -> None:
    """Tell the desks that protect the person; never an address line."""
    events.announce(
        session,
        PersonEvent(
            kind=kind,
            person_id=person.id,
            institution_code=institution_code,
            actor=actor,
            at=now,
            details=details,
        ),
    )
