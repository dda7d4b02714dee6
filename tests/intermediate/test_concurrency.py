"""A 不開示フラグ set while a query is running, or a query made while the flag is being set: either
way the record ends up flagged. (PostgreSQL: row locks on the 符号; SQLite: BEGIN IMMEDIATE.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.intermediate import NondisclosureRequester
from fukaiji.network.institutions import get_institution
from fukaiji.network.models import LinkageRecord

CHILD_ALLOWANCE = "JM01000000000010"
LOCAL_TAX = "TM02000000000001"
BLOCKED_FOR = 0.5


def setup(engine: Engine, make_world) -> tuple[str, str]:
    with Session(engine, expire_on_commit=False) as session:
        world = make_world(session)
        person = world.person()
        numbers = (world.enrol(person, world.chiyoda), world.enrol(person, world.yokohama))
        session.commit()
    return numbers


def query(session: Session, number: str) -> int:
    return intermediate.query(
        session,
        requester=get_institution(session, "131016"),
        addressee_number=number,
        provider_code="141003",
        affair_code=CHILD_ALLOWANCE,
        item_code=LOCAL_TAX,
        actor="test",
    ).record_id


def flag(session: Session, number: str, institution: str = "131016") -> int:
    return intermediate.set_nondisclosure_flag(
        session,
        institution=get_institution(session, institution),
        addressee_number=number,
        requested_by=NondisclosureRequester.PERSON,
        actor="test",
    ).records_flagged


def second_waits_for_first(
    engine: Engine, first: Callable[[Session], object], second: Callable[[Session], object]
) -> object:
    """Run ``first`` in an open transaction, start ``second`` in another thread, check that it
    waits, commit the first, and return what the second returned."""
    outcome: list[object] = []
    with Session(engine, expire_on_commit=False) as holder:
        first(holder)
        holder.flush()

        def run() -> None:
            with Session(engine, expire_on_commit=False) as other:
                outcome.append(second(other))
                other.commit()

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(BLOCKED_FOR)
        assert thread.is_alive(), "the second transaction should wait for the first"
        holder.commit()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return outcome[0]


@pytest.mark.parametrize("side", ["requester", "provider"])
def test_a_flag_set_during_a_query_flags_the_record_the_query_writes(
    engine: Engine, make_world, side: str
) -> None:
    at_chiyoda, at_yokohama = setup(engine, make_world)
    flagging = ("131016", at_chiyoda) if side == "requester" else ("141003", at_yokohama)
    flagged = second_waits_for_first(
        engine, lambda s: query(s, at_chiyoda), lambda s: flag(s, flagging[1], flagging[0])
    )
    assert flagged == 1


@pytest.mark.parametrize("side", ["requester", "provider"])
def test_a_query_made_while_the_flag_is_set_is_flagged(
    engine: Engine, make_world, side: str
) -> None:
    at_chiyoda, at_yokohama = setup(engine, make_world)
    flagging = ("131016", at_chiyoda) if side == "requester" else ("141003", at_yokohama)
    record_id = second_waits_for_first(
        engine, lambda s: flag(s, flagging[1], flagging[0]), lambda s: query(s, at_chiyoda)
    )
    with Session(engine) as session:
        record = session.get_one(LinkageRecord, record_id)
        assert getattr(record, f"{side}_undisclosed")
