"""情報照会 end to end: queries per second through the service a route calls.

Each query goes through ``fukaiji.intermediate.query``: the requester's 符号 and 不開示フラグ, the
legal basis check, 符号 resolution at the network, the provider's current 副本, the 情報提供等記録
and its audit entry. Two figures are measured: one transaction per query (what the API does), and
several queries per transaction (what a batch job could do; the batch size is printed).

    python benchmarks/linkage.py                          # SQLite in a temporary directory
    python benchmarks/linkage.py --postgres URL --json    # and PostgreSQL

``--postgres`` takes a server URL whose user may create databases: the benchmark creates a
database of its own there and drops it afterwards. With ``--json`` the last line printed is one
JSON object, e.g. ``{"sqlite": {"queries": 20000, "queries_per_s": 1234.5, ...}}``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Engine, event, make_url, text

from fukaiji import intermediate
from fukaiji.db import create_db_engine, transaction, upgrade
from fukaiji.intermediate import NondisclosureRequester
from fukaiji.network.institutions import add_institution, get_institution, load_local_governments
from fukaiji.network.models import Institution, InstitutionKind
from fukaiji.registry import service as registry

NETWORK_KEY = bytes(range(32))
MY_NUMBER_KEY = bytes(range(32, 64))
ACTOR = "benchmark"
CHILD_ALLOWANCE = "JM01000000000010"
NATIONAL_HEALTH = "JM01000000000020"
LOCAL_TAX = "TM02000000000001"
RESIDENT_RECORD = "TM01000000000001"
PENSION_BENEFIT = "TM04000000000001"
MUNICIPALITIES = ("131016", "141003", "271004", "011002", "401005")

console = Console(stderr=True)


@dataclass(frozen=True, slots=True)
class Query:
    requester: Institution
    addressee_number: str
    provider: str | None
    affair: str
    item: str


def populate(engine: Engine, people: int, count: int, rng: random.Random) -> list[Query]:
    """Institutions, residents enrolled at several of them, 副本, a few 不開示フラグ; then the
    queries to run, all allowed by the legal basis table."""
    with transaction(engine) as session:
        load_local_governments(session, actor=ACTOR)
        nenkin = add_institution(
            session,
            code="JPNENKIN",
            name="日本年金機構",
            kind=InstitutionKind.INCORPORATED_AGENCY,
            location_code="131130",
            departments=["年金給付部"],
            actor=ACTOR,
        )
        places = [get_institution(session, code) for code in MUNICIPALITIES]
        # Loaded now: ``body_code`` is a column property the insert left expired, and the objects
        # are used after this session closes.
        for institution in [nenkin, *places]:
            _ = institution.body_code
    numbers: dict[tuple[str, int], str] = {}
    with progress_bar() as progress:
        task = progress.add_task("準備 (residents, 副本)", total=people)
        for index in range(people):
            with transaction(engine) as session:
                person = registry.register_resident(
                    session,
                    municipality_code="131016",
                    family_name="山田",
                    given_name=f"{index}",
                    family_name_kana="ヤマダ",
                    given_name_kana="ハナコ",
                    birth_date=date(1990, 4, 1),
                    address_line="千代田一丁目1番1号",
                    moved_in_on=date(2020, 4, 1),
                    my_number_key=MY_NUMBER_KEY,
                    actor=ACTOR,
                )
                for place in [*places, nenkin]:
                    if place.code != "131016" and rng.random() < 0.2:
                        continue  # this provider does not know the person
                    enrolled = intermediate.enrol(
                        session,
                        institution=place,
                        person_id=person.id,
                        network_key=NETWORK_KEY,
                        actor=ACTOR,
                    )
                    number = str(enrolled.addressee_number)
                    numbers[place.code, index] = number
                    items = [PENSION_BENEFIT] if place is nenkin else [LOCAL_TAX, RESIDENT_RECORD]
                    for item in items:
                        if rng.random() < 0.9:
                            intermediate.register_self_info(
                                session,
                                institution=place,
                                addressee_number=number,
                                item_code=item,
                                content={"年度": 2026, "金額": rng.randrange(10**6)},
                                publish_from=date(2026, 4, 1),
                                actor=ACTOR,
                            )
                    if rng.random() < 0.05:
                        intermediate.set_nondisclosure_flag(
                            session,
                            institution=place,
                            addressee_number=number,
                            requested_by=NondisclosureRequester.PERSON,
                            actor=ACTOR,
                        )
            progress.advance(task)
    queries = []
    for _ in range(count):
        index = rng.randrange(people)
        requester = rng.choice([place for place in places if (place.code, index) in numbers])
        if rng.random() < 0.2:
            provider, affair, item = nenkin.code, NATIONAL_HEALTH, PENSION_BENEFIT
        elif requester.code != "131016" and rng.random() < 0.5:
            # 住民票関係情報 goes to the municipality of residence, which the network chooses.
            provider, affair, item = None, CHILD_ALLOWANCE, RESIDENT_RECORD
        else:
            provider = rng.choice([code for code in MUNICIPALITIES if code != requester.code])
            affair, item = CHILD_ALLOWANCE, LOCAL_TAX
        queries.append(Query(requester, numbers[requester.code, index], provider, affair, item))
    return queries


@contextmanager
def counting_statements(engine: Engine) -> Iterator[dict[str, int]]:
    """Count every statement the engine sends, the transaction's own included."""
    counter = {"count": 0}

    def count(*_: object) -> None:
        counter["count"] += 1

    events = ("before_cursor_execute", "begin", "commit", "rollback")
    for name in events:
        event.listen(engine, name, count)
    try:
        yield counter
    finally:
        for name in events:
            event.remove(engine, name, count)


@contextmanager
def progress_bar() -> Iterator[Progress]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        yield progress


def run(engine: Engine, queries: list[Query], batch: int, label: str) -> tuple[float, float]:
    """Run the queries, ``batch`` per transaction; return queries per second, and this
    process's CPU milliseconds per query (a figure that a busy machine disturbs less)."""
    step = max(1, len(queries) // 200)
    with progress_bar() as progress:
        task = progress.add_task(label, total=len(queries))
        started, cpu_started = time.perf_counter(), time.process_time()
        for offset in range(0, len(queries), batch):
            with transaction(engine) as session:
                for query in queries[offset : offset + batch]:
                    intermediate.query(
                        session,
                        requester=query.requester,
                        addressee_number=query.addressee_number,
                        provider_code=query.provider,
                        affair_code=query.affair,
                        item_code=query.item,
                        actor=ACTOR,
                    )
            done = offset + batch
            if done % step < batch:
                progress.update(task, completed=min(done, len(queries)))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    return len(queries) / elapsed, 1000 * cpu / len(queries)


def measure(engine: Engine, name: str, count: int, batch: int, profile: bool) -> dict[str, object]:
    rng = random.Random(20261128)
    upgrade(engine)
    queries = populate(engine, people=max(50, count // 100), count=count, rng=rng)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    with counting_statements(engine) as statements:
        single, single_cpu = run(engine, queries, 1, f"{name}: 1 照会/トランザクション")
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    batched, batched_cpu = run(engine, queries, batch, f"{name}: {batch} 照会/トランザクション")
    console.print(
        f"[bold]{name}[/bold]: {count:,} queries, "
        f"{single:,.1f} queries/s with one transaction per query, "
        f"{batched:,.1f} queries/s with {batch} queries per transaction"
    )
    return {
        "queries": count,
        "queries_per_s": round(single, 1),
        # Statements sent to the database per query, BEGIN and COMMIT included.
        "statements_per_query": round(statements["count"] / count, 2),
        "client_cpu_ms_per_query": round(single_cpu, 3),
        "batch_size": batch,
        "batched_queries_per_s": round(batched, 1),
        "batched_client_cpu_ms_per_query": round(batched_cpu, 3),
    }


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as directory:
        engine = create_db_engine(f"sqlite:///{Path(directory) / 'bench.sqlite3'}")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(server_url: str) -> Iterator[Engine]:
    admin = create_db_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"fukaiji_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="queries per transaction")
    parser.add_argument("--postgres", metavar="URL", help="also measure on this server")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--profile", action="store_true", help="cProfile the first run")
    arguments = parser.parse_args()
    results: dict[str, object] = {}
    with sqlite_engine() as engine:
        results["sqlite"] = measure(
            engine, "sqlite", arguments.queries, arguments.batch, arguments.profile
        )
    if arguments.postgres:
        with postgres_engine(arguments.postgres) as engine:
            results["postgresql"] = measure(
                engine, "postgresql", arguments.queries, arguments.batch, arguments.profile
            )
    if arguments.json:
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
