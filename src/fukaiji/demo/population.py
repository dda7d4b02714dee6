"""A synthetic population at national scale, for the scale benchmarks and the tests that send a
notice to tens of thousands: residents with addressee numbers, 機関別符号 and folders at one
institution, and protected persons among them — some still excluded, some whose usage-stop
procedures are complete.

It writes rows in bulk (Core inserts of a chunk at a time), not through the services one person
at a time: 10⁵ protected persons would otherwise take hours to build. The rows are those the
services would have left; ``expected`` says what the exclusion question must answer for each.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from fukaiji.db import transaction
from fukaiji.db.base import utc_now
from fukaiji.intermediate.models import Addressee, IntermediateCode
from fukaiji.jpki.models import Card
from fukaiji.network.errors import UnknownDepartment
from fukaiji.network.institutions import get_department, get_institution
from fukaiji.network.models import Department
from fukaiji.portal.models import PortalAccount
from fukaiji.protection.models import ProtectedRegionCode, Protection, risk_since_of
from fukaiji.registry.models import Person

CHUNK = 10_000
ACTOR = "demo:population"
DESK = "DV相談窓口"


@dataclass(frozen=True, slots=True)
class Population:
    institution_id: int
    department_id: int
    numbers: list[str]  # every addressee number, in the order built
    excluded: frozenset[str]  # protected, a path still open: no notice may reach them
    lifted: frozenset[str]  # protected, usage-stop complete: notices reach them again
    without_folder: frozenset[str]  # no live folder: recorded as not delivered


def populate(
    engine: Engine,
    *,
    institution_code: str,
    addressees: int,
    protected: int,
    lifted: int = 0,
    without_folder_share: float = 0.1,
    seed: int = 1,
    on_chunk: Callable[[int], None] | None = None,
) -> Population:
    """Build ``addressees`` residents of the institution, the first ``protected`` of them
    protected by its consultation desk, ``lifted`` of those with their usage-stop complete.
    Every number is new: a second population beside the first does not collide."""
    if not 0 <= lifted <= protected <= addressees:
        raise ValueError("populate: 0 <= lifted <= protected <= addressees")
    rng = random.Random(seed)  # noqa: S311 -- synthetic data, nothing secret
    with transaction(engine) as session:
        institution_id = get_institution(session, institution_code).id
        department_id = _desk(session, institution_code)
    prefix = f"{rng.randrange(10**5):05d}"  # five digits of the run, ten of the resident
    numbers, excluded, lifted_numbers, without = [], set(), set(), set()
    for start in range(0, addressees, CHUNK):
        people = [
            _Resident.make(prefix, index, rng, protected, lifted, without_folder_share)
            for index in range(start, min(addressees, start + CHUNK))
        ]
        with transaction(engine) as session:
            _write(session, institution_id, department_id, institution_code, people)
        for person in people:
            numbers.append(person.number)
            if person.kind == "excluded":
                excluded.add(person.number)
            elif person.kind == "lifted":
                lifted_numbers.add(person.number)
            if not person.folder:
                without.add(person.number)
        if on_chunk is not None:
            on_chunk(len(people))
    return Population(
        institution_id,
        department_id,
        numbers,
        frozenset(excluded),
        frozenset(lifted_numbers),
        frozenset(without),
    )


@dataclass(frozen=True, slots=True)
class _Resident:
    id: uuid.UUID
    number: str
    kind: str  # plain, excluded, lifted
    folder: bool

    @classmethod
    def make(
        cls,
        prefix: str,
        index: int,
        rng: random.Random,
        protected: int,
        lifted: int,
        without_folder_share: float,
    ) -> _Resident:
        kind = "plain" if index >= protected else "lifted" if index < lifted else "excluded"
        # A protected person whose usage-stop is complete has her new folder by definition.
        folder = kind == "lifted" or rng.random() >= without_folder_share
        return cls(uuid.uuid4(), f"{prefix}{index:010d}", kind, folder)


def _desk(session: Session, institution_code: str) -> int:
    try:
        return get_department(session, institution_code=institution_code, name=DESK).id
    except UnknownDepartment:
        department = Department(institution=get_institution(session, institution_code), name=DESK)
        session.add(department)
        session.flush()
        return department.id


def _write(
    session: Session,
    institution_id: int,
    department_id: int,
    region_code: str,
    people: list[_Resident],
) -> None:
    now = utc_now()
    registered = now - timedelta(days=30)
    fled = (registered - timedelta(days=3)).date()
    risk = risk_since_of(fled, registered)
    session.execute(insert(Person), [_person(person, now) for person in people])
    session.execute(
        insert(Addressee),
        [
            {
                "institution_id": institution_id,
                "addressee_number": person.number,
                "person_id": person.id,
                "assigned_at": now,
            }
            for person in people
        ],
    )
    session.execute(
        insert(IntermediateCode),
        [
            {
                "institution_id": institution_id,
                "addressee_number": person.number,
                "code": secrets.token_hex(26),
                "acquired_at": now,
            }
            for person in people
        ],
    )
    session.execute(insert(Card), [card for person in people for card in _cards(person, risk)])
    folders = [person for person in people if person.folder]
    if folders:
        session.execute(
            insert(PortalAccount),
            [
                {
                    "person_id": person.id,
                    "created_by": ACTOR,
                    # A lifted person's folder is the new one, opened after the risk.
                    "created_at": risk + timedelta(days=1) if person.kind == "lifted" else now,
                }
                for person in folders
            ],
        )
    protected = [person for person in people if person.kind != "plain"]
    if protected:
        rows = _protections(institution_id, department_id, protected, registered, fled, risk)
        session.execute(insert(Protection), rows)
        # She is protected where she now lives: the desk's own municipality, the shelter's.
        session.execute(
            insert(ProtectedRegionCode),
            [{"protection_id": row["id"], "code": region_code} for row in rows],
        )


def _person(person: _Resident, now: datetime) -> dict[str, object]:
    return {
        "id": person.id,
        "resident_record_code": person.number[-11:],
        "family_name": "山田",
        "given_name": "花子",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "ハナコ",
        "birth_date": date(1990, 4, 1),
        "created_at": now,
    }


def _cards(person: _Resident, risk: datetime) -> Iterator[dict[str, object]]:
    """Her card, active, issued before the risk — the one left behind. A lifted person's was
    abolished and a new one issued after the risk."""

    def card(status: str, issued_at: datetime) -> dict[str, object]:
        return {
            "person_id": person.id,
            "status": status,
            "token_hash": secrets.token_hex(32),
            "key_salt": b"population",
            "issued_at": issued_at,
            "abolished_at": issued_at + timedelta(days=2) if status == "abolished" else None,
            "abolition_reason": "reissued" if status == "abolished" else None,
        }

    if person.kind == "lifted":
        yield card("abolished", risk - timedelta(days=400))
        yield card("active", risk + timedelta(hours=12))
    else:
        yield card("active", risk - timedelta(days=400))


def _protections(
    institution_id: int,
    department_id: int,
    people: list[_Resident],
    registered: datetime,
    fled: date,
    risk: datetime,
) -> list[dict[str, object]]:
    return [
        {
            "id": uuid.uuid4(),
            "institution_id": institution_id,
            "department_id": department_id,
            "person_id": person.id,
            "addressee_number": person.number,
            "own_procedures": True,
            "card_left_behind": True,
            "perpetrator_is_proxy": False,
            "perpetrator_is_legal_representative": False,
            "perpetrator_id": None,
            "fled_on": fled,
            "requested_by": "person",
            "registered_at": registered,
            "registered_by": ACTOR,
            # Core inserts skip the ORM's event: risk_since is given as it would derive it.
            "risk_since": risk,
            "usage_stop_complete_seen": person.kind == "lifted",
        }
        for person in people
    ]
