"""Hypothesis: for any sequence of enrolments, 副本 registrations, queries, 不開示フラグ and flags
by hand, the display functions never return anything of an institution that flagged the person at
the time it was made or after, nor anything flagged, and return exactly everything else.

Each example runs in one transaction that is rolled back, so examples do not see each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.network import linkage as network_linkage

CHILD_ALLOWANCE = "JM01000000000010"
ITEMS = ("TM02000000000001", "TM01000000000001")  # 地方税関係情報, 住民票関係情報
INSTITUTIONS = ("chiyoda", "yokohama", "osaka")
PEOPLE = 2
# Where each person lives: a 住民票関係情報 query is routed there by the network.
RESIDENCES = (("chiyoda", "131016"), ("osaka", "271004"))
ROUTED_ITEM = "TM01000000000001"

institution = st.sampled_from(INSTITUTIONS)
person = st.integers(0, PEOPLE - 1)
item = st.sampled_from(ITEMS)
operation = st.one_of(
    st.tuples(st.just("register"), institution, person, item, st.booleans()),
    st.tuples(st.just("query"), institution, institution, person, item, st.booleans()),
    st.tuples(st.just("flag"), institution, person),
    st.tuples(st.just("undisclose_record"), st.integers(0, 30)),
    st.tuples(st.just("undisclose_item"), st.integers(0, 30)),
)


@dataclass
class Model:
    """What should be visible, kept apart from the code under test."""

    flagged: set[tuple[str, int]] = field(default_factory=set)
    # record id -> [requester, provider, person, hidden by hand or by the item answered with]
    records: dict[int, list] = field(default_factory=dict)
    # (institution, person, item code) -> [[item id, hidden], ...] in version order
    items: dict[tuple[str, int, str], list[list]] = field(default_factory=dict)
    item_owner: dict[int, tuple[str, int, str]] = field(default_factory=dict)

    def current(self, key: tuple[str, int, str]) -> list | None:
        versions = self.items.get(key)
        return versions[-1] if versions else None

    def visible_records(self, who: int) -> set[int]:
        return {
            record_id
            for record_id, (requester, provider, of, hidden) in self.records.items()
            if of == who
            and not hidden
            and (requester, who) not in self.flagged
            and (provider, who) not in self.flagged
        }

    def visible_items(self, who: int) -> set[int]:
        return {
            versions[-1][0]
            for (place, of, _), versions in self.items.items()
            if of == who and not versions[-1][1] and (place, who) not in self.flagged
        }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, max_size=25))
def test_display_never_shows_what_a_flagging_institution_took_part_in(
    engine: Engine, make_world, operations: list[tuple]
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        try:
            world = make_world(session)
            run(world, operations)
        finally:
            session.rollback()


def run(world, operations: list[tuple]) -> None:
    people = [world.person(f"{index}", RESIDENCES[index][1]) for index in range(PEOPLE)]
    places = {name: getattr(world, name) for name in INSTITUTIONS}
    numbers: dict[tuple[str, int], str] = {}
    model = Model()

    def number(place: str, who: int) -> str:
        if (place, who) not in numbers:
            numbers[place, who] = world.enrol(people[who], places[place])
        return numbers[place, who]

    for op in operations:
        match op:
            case ("register", place, who, code, undisclosed):
                made = world.register(
                    places[place], number(place, who), code, undisclosed=undisclosed
                )
                hidden = undisclosed or (place, who) in model.flagged
                assert made.undisclosed == hidden
                model.items.setdefault((place, who, code), []).append([made.id, hidden])
                model.item_owner[made.id] = (place, who, code)
            case ("query", requester, provider, who, code, undisclosed) if (
                requester != (RESIDENCES[who][0] if code == ROUTED_ITEM else provider)
            ):
                routed = code == ROUTED_ITEM
                provider = RESIDENCES[who][0] if routed else provider
                result = world.query(
                    places[requester],
                    number(requester, who),
                    None if routed else places[provider],
                    CHILD_ALLOWANCE,
                    code,
                    undisclosed=undisclosed,
                )
                answered = model.current((provider, who, code))
                hidden = undisclosed or bool(answered and answered[1])
                model.records[result.record_id] = [requester, provider, who, hidden]
            case ("flag", place, who):
                world.flag(places[place], number(place, who))
                model.flagged.add((place, who))
                for key, versions in model.items.items():
                    if key[:2] == (place, who):
                        for version in versions:
                            version[1] = True
            case ("undisclose_record", index) if model.records:
                record_id = sorted(model.records)[index % len(model.records)]
                requester = model.records[record_id][0]
                network_linkage.undisclose_record(
                    world.session,
                    institution=places[requester],
                    record_id=record_id,
                    actor="test",
                )
                model.records[record_id][3] = True
            case ("undisclose_item", index) if model.item_owner:
                item_id = sorted(model.item_owner)[index % len(model.item_owner)]
                place = model.item_owner[item_id][0]
                intermediate.undisclose_self_info_item(
                    world.session, institution=places[place], item_id=item_id, actor="test"
                )
                for version in model.items[model.item_owner[item_id]]:
                    if version[0] == item_id:
                        version[1] = True
            case _:
                pass

    for who, person in enumerate(people):
        flagging = {places[place].code for place, of in model.flagged if of == who}
        records = world.records(person)
        items = world.self_info(person)
        # The property itself, independent of the model.
        for shown in [*records, *items]:
            assert not flagging & {institution.code for institution in shown.institutions}
        # And the model: exactly what should be shown is shown.
        assert {record.record_id for record in records} == model.visible_records(who)
        assert {item.item_id for item in items} == model.visible_items(who)
