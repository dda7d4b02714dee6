"""Each query of the portal's paged views reads its table through the index made for it, never
by a full scan: checked with the database's own EXPLAIN, on SQLite and on PostgreSQL.

The statements are the very ones the views send (captured as they run), with a cursor and each
filter. On PostgreSQL a table of a few dozen rows is cheaper to scan, so sequential scans are
switched off for the EXPLAIN's transaction only: what is checked is that an index can serve the
query, as it will when the table holds the country.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from tests.portal.conftest import build_portal_world
from tests.portal.test_paging import START, fill_folder

from fukaiji.db.keyset import Direction
from fukaiji.portal.paging import PageRequest, folder_page, page_request
from fukaiji.portal.public_ids import configure
from fukaiji.portal.states import ViewKind

INDEXES = {
    "linkage_records": "ix_linkage_records_person_time",
    "self_info_items": "ix_self_info_items_addressee_time",
    "portal_inbox_messages": "ix_portal_inbox_messages_account_time",
}


@pytest.fixture
def world(engine: Engine) -> Iterator:
    configure(bytes(range(32)))
    with Session(engine, expire_on_commit=False) as session:
        yield build_portal_world(session)


def _view_statements(world, engine: Engine, part: ViewKind, **texts: str) -> list[tuple]:
    """Every statement one page of ``part`` sends that reads its table, with its parameters."""
    person = world.resident()
    account_id = fill_folder(world, person, 12)
    request = page_request(world.session, part, account_id=account_id, limit="3", **texts)
    first = _page(world, person, account_id, part, request)
    captured: list[tuple] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith("SELECT") and _table(part) in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        start = first.next.get(part)
        _page(world, person, account_id, part, PageRequest(request.where, start, limit=3))
        if start is not None:
            newer = PageRequest(request.where, start, Direction.NEWER, 3)
            _page(world, person, account_id, part, newer)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert captured
    return captured


def _page(world, person, account_id: int, part: ViewKind, request: PageRequest):
    return folder_page(
        world.session,
        account_id=account_id,
        viewer_person_id=person.id,
        card_id=None,
        network_key=world.network_key,
        parts=(part,),
        request=request,
        on=START.date(),
    )


def _table(part: ViewKind) -> str:
    return {
        ViewKind.RECORDS: "linkage_records",
        ViewKind.SELF_INFO: "self_info_items",
        ViewKind.INBOX: "portal_inbox_messages",
    }[part]


def _plan(session: Session, statement: str, parameters) -> str:
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(row[-1] for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
    return "\n".join(row[0] for row in rows)


def _full_scans(plan: str, table: str) -> list[str]:
    sqlite_scan = re.compile(rf"^SCAN {table}\b(?!.*USING (COVERING )?INDEX)")
    return [
        line
        for line in plan.splitlines()
        if sqlite_scan.match(line.strip()) or f"Seq Scan on {table}" in line
    ]


FILTERS = [
    pytest.param({}, id="none"),
    pytest.param({"institution": "141003"}, id="institution"),
    pytest.param({"since": "2026-05-01", "until": "2026-05-02"}, id="period"),
]


@pytest.mark.parametrize("texts", FILTERS)
@pytest.mark.parametrize("part", list(ViewKind))
def test_each_view_query_reads_its_table_by_its_index(
    world, engine: Engine, part: ViewKind, texts: dict[str, str]
) -> None:
    table = _table(part)
    for statement, parameters in _view_statements(world, engine, part, **texts):
        plan = _plan(world.session, statement, parameters)
        world.session.rollback()
        assert INDEXES[table] in plan, plan
        assert _full_scans(plan, table) == [], plan
