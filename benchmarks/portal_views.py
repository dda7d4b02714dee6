"""The portal's paged views at the size of a long life: one person with ``--size`` records (10⁴),
as many 副本 and as many お知らせ, on SQLite and, with ``--postgres``, on PostgreSQL (in a database
of its own, dropped afterwards).

Measured, each ``--rounds`` times (p50 and p99, milliseconds):
- ``records_page`` and ``self_info_page`` (the display functions the portal pages through), for
  the first page and for a deep one (a cursor nine tenths down the history), 50 items a page;
- ``GET /api/v1/portal/folder`` (the first page of all three views) and ``GET …/records`` with
  the deep cursor, through the ASGI app as a browser would call it, with the body size;
- beside them, the whole-history functions the exposure check still reads
  (``disclosable_records``, ``disclosable_self_info``), a few rounds only.

The rows are written straight into the tables (what is measured is the reading), then the
database's statistics are gathered (ANALYZE), as a live database keeps them.

    python benchmarks/portal_views.py                 # 10⁴ each, SQLite in a temporary directory
    python benchmarks/portal_views.py --size 1000 --rounds 20
    python benchmarks/portal_views.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from linkage import postgres_engine, sqlite_engine
from rich.console import Console
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.config import Settings
from fukaiji.db import transaction, upgrade
from fukaiji.db.keyset import Direction, Position
from fukaiji.intermediate.display import (
    disclosable_records,
    disclosable_self_info,
    records_page,
    self_info_page,
)
from fukaiji.intermediate.models import SelfInfoItem
from fukaiji.jpki import service as jpki
from fukaiji.jpki.service import CA_KEY_PURPOSE
from fukaiji.network.codes import NETWORK_KEY_PURPOSE, person_reference
from fukaiji.network.institutions import get_institution, load_local_governments
from fukaiji.network.models import LinkageRecord
from fukaiji.portal.models import InboxMessage, PortalAccount
from fukaiji.portal.public_ids import cursor
from fukaiji.registry import service as registry
from fukaiji.web import create_app

SETTINGS = Settings(secret_key="benchmark-" + "k" * 40)
NETWORK_KEY = SETTINGS.derive_key(NETWORK_KEY_PURPOSE)
MY_NUMBER_KEY = bytes(range(32, 64))
AUTH_PIN, SIGN_PIN = "7395", "HIBARI48TSUBAME"
ACTOR = "benchmark"
PLACES = ("131016", "141003", "011002", "401005", "271004")
PAGE = 50
START = datetime(2000, 4, 1, tzinfo=UTC)

console = Console(stderr=True)


def populate(engine: Engine, size: int) -> tuple[uuid.UUID, str]:
    """One person with a card, a folder, and ``size`` records, 副本 and お知らせ over decades."""
    with transaction(engine) as session:
        load_local_governments(session, actor=ACTOR)
        person = registry.register_resident(
            session,
            municipality_code="131016",
            family_name="山田",
            given_name="花子",
            family_name_kana="ヤマダ",
            given_name_kana="ハナコ",
            birth_date=date(1960, 4, 1),
            address_line="千代田一丁目1番1号",
            moved_in_on=date(1990, 4, 1),
            my_number_key=MY_NUMBER_KEY,
            actor=ACTOR,
        )
        card = jpki.issue_card(
            session,
            person_id=person.id,
            auth_pin=AUTH_PIN,
            sign_pin=SIGN_PIN,
            ca_key=SETTINGS.derive_key(CA_KEY_PURPOSE),
            actor=ACTOR,
        )
        places = []
        for code in PLACES:
            institution = get_institution(session, code)
            enrolled = intermediate.enrol(
                session,
                institution=institution,
                person_id=person.id,
                network_key=NETWORK_KEY,
                actor=ACTOR,
            )
            places.append((institution.id, str(enrolled.addressee_number)))
        account = PortalAccount(person_id=person.id, created_by=ACTOR)
        session.add(account)
        session.flush()
        _write_history(session, person.id, account.id, places, size)
    return person.id, card.card_token


def _write_history(
    session: Session, person_id: uuid.UUID, account_id: int, places: list, size: int
) -> None:
    ref = person_reference(NETWORK_KEY, person_id)
    step = timedelta(days=25 * 365) / size
    for offset in range(0, size, 2_000):
        records, items, messages = [], [], []
        for index in range(offset, min(size, offset + 2_000)):
            at = START + step * index
            institution_id, number = places[index % len(places)]
            other_id = places[(index + 1) % len(places)][0]
            records.append(
                {
                    "requested_at": at,
                    "requester_institution_id": institution_id,
                    "provider_institution_id": other_id,
                    "affair_code": "JM01000000000010",
                    "item_code": "TM02000000000001",
                    "legal_basis_entry": 1,
                    "person_ref": ref,
                    "status": "provided",
                    "requester_undisclosed": index % 50 == 0,
                    "provider_undisclosed": False,
                }
            )
            items.append(
                {
                    "institution_id": institution_id,
                    "addressee_number": number,
                    "item_code": f"TM02{index:012d}",
                    "version": 1,
                    "content": json.dumps({"年度": 2000 + index % 26, "所得割額": index}),
                    "publish_from": date(2000, 4, 1),
                    "undisclosed": index % 50 == 0,
                    "registered_at": at,
                    "registered_by": ACTOR,
                }
            )
            messages.append(
                {
                    "account_id": account_id,
                    "institution_id": institution_id,
                    "category": "tax",
                    "title": f"お知らせ第{index}号",
                    "body": "手続が完了しました。",
                    "delivered_at": at,
                }
            )
        session.execute(insert(LinkageRecord), records)
        session.execute(insert(SelfInfoItem), items)
        session.execute(insert(InboxMessage), messages)


def _timed(rounds: int, call: Callable[[], object]) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
    }


def _deep(session: Session, column, id_column, where) -> Position:
    """The position nine tenths down the newest-first history."""
    total = len(session.execute(select(id_column).where(where)).all())
    row = session.execute(
        select(column, id_column)
        .where(where)
        .order_by(column.desc(), id_column.desc())
        .offset(total * 9 // 10)
        .limit(1)
    ).one()
    return Position(row[0].replace(tzinfo=row[0].tzinfo or UTC), row[1])


def measure_functions(engine: Engine, person_id: uuid.UUID, rounds: int) -> dict:
    results: dict[str, dict] = {}
    with Session(engine) as session:
        ref = person_reference(NETWORK_KEY, person_id)
        deep_record = _deep(
            session, LinkageRecord.requested_at, LinkageRecord.id, LinkageRecord.person_ref == ref
        )
        deep_item = _deep(
            session, SelfInfoItem.registered_at, SelfInfoItem.id, SelfInfoItem.version == 1
        )
        calls = {
            "records_page_first": lambda: records_page(
                session, person_id, network_key=NETWORK_KEY, limit=PAGE + 1
            ),
            "records_page_deep": lambda: records_page(
                session, person_id, network_key=NETWORK_KEY, start=deep_record, limit=PAGE + 1
            ),
            "self_info_page_first": lambda: self_info_page(
                session, person_id, network_key=NETWORK_KEY, limit=PAGE + 1
            ),
            "self_info_page_deep": lambda: self_info_page(
                session, person_id, network_key=NETWORK_KEY, start=deep_item, limit=PAGE + 1
            ),
        }
        for name, call in calls.items():
            call()
            results[name] = _timed(rounds, call)
            session.rollback()
        whole = {
            "disclosable_records_whole": lambda: disclosable_records(
                session, person_id, network_key=NETWORK_KEY
            ),
            "disclosable_self_info_whole": lambda: disclosable_self_info(
                session, person_id, network_key=NETWORK_KEY
            ),
        }
        for name, call in whole.items():
            results[name] = _timed(3, call) | {"items": len(call())}  # type: ignore[arg-type]
            session.rollback()
    return results | {"deep_record": deep_record, "deep_item": deep_item}


def measure_api(engine: Engine, card_token: str, deep: Position, rounds: int) -> dict:
    app = create_app(SETTINGS, engine)
    results: dict[str, dict] = {}
    with TestClient(app) as client:
        challenge = client.post("/api/v1/portal/login/challenge").json()
        with transaction(engine) as session:
            signed = jpki.card_signature(
                session,
                card_token=card_token,
                pin=AUTH_PIN,
                challenge=base64.b64decode(challenge["challenge"]),
            )
        login = client.post(
            "/api/v1/portal/login",
            json={
                "challenge": challenge["challenge"],
                "certificate_pem": signed.certificate_pem.decode(),
                "signature": base64.b64encode(signed.signature).decode(),
            },
        )
        login.raise_for_status()
        with Session(engine) as session:
            account_id = session.scalar(select(PortalAccount.id))
        token = cursor("records", account_id, deep, Direction.OLDER)
        for name, path in (
            ("folder", "/api/v1/portal/folder"),
            ("records_deep", f"/api/v1/portal/records?cursor={token}"),
        ):
            sizes = []

            def get(path: str = path, sizes: list = sizes) -> None:
                response = client.get(path)
                response.raise_for_status()
                sizes.append(len(response.content))

            get()
            results[f"api_{name}"] = _timed(rounds, get) | {"body_bytes": sizes[-1]}
    return results


def run(engine: Engine, size: int, rounds: int) -> dict:
    upgrade(engine)
    started = time.perf_counter()
    person_id, card_token = populate(engine, size)
    with engine.connect() as connection:  # the statistics a live database keeps (autovacuum)
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    console.print(f"built in {time.perf_counter() - started:.1f} s")
    functions = measure_functions(engine, person_id, rounds)
    deep_record = functions.pop("deep_record")
    functions.pop("deep_item")
    return (
        {"size": size, "page": PAGE, "rounds": rounds}
        | functions
        | measure_api(engine, card_token, deep_record, rounds)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="records, 副本 and お知らせ each")
    parser.add_argument("--rounds", type=int, default=100, help="calls of each measured thing")
    parser.add_argument("--postgres", help="a server URL whose user may create databases")
    arguments = parser.parse_args()
    results = {}
    with sqlite_engine() as engine:
        results["sqlite"] = run(engine, arguments.size, arguments.rounds)
    if arguments.postgres:
        with postgres_engine(arguments.postgres) as engine:
            results["postgresql"] = run(engine, arguments.size, arguments.rounds)
    print(json.dumps({"portal_views": results}, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
