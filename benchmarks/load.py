"""Load: residents on the portal and staff on the JSON API at the same time, over loopback.

Starts ``fukaiji serve`` on a database of its own (SQLite in a temporary directory, or a fresh
PostgreSQL database with ``--postgres URL``), fills it with residents who have cards, folders,
linkage records and 副本, logs them in through the card challenge, then for ``--seconds`` runs
``--clients`` concurrent clients. Resident clients read their やりとり履歴, 自己情報 and お知らせ;
staff clients (an institution API key) ask the watch flag and the exclusion list and search the
institution list. Prints requests per second, p50/p99 latency per kind and every error.

    python benchmarks/load.py                                  # SQLite, 20 s, 8 clients
    python benchmarks/load.py --postgres URL --seconds 30 --json

The goal is zero errors; with ``--json`` the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import httpx
from linkage import postgres_engine, sqlite_engine
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.config import Settings
from fukaiji.db import transaction, upgrade
from fukaiji.jpki import service as jpki
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.institutions import get_institution, load_local_governments
from fukaiji.network.models import Institution
from fukaiji.registry import service as registry
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole

SECRET = "load-benchmark-" + "s" * 40
PIN, SIGN_PIN = "7395", "HIBARI48TSUBAME"
CHILD_ALLOWANCE, LOCAL_TAX = "JM01000000000010", "TM02000000000001"
console = Console(stderr=True)


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if error:
                self.errors.append(f"{kind}: {error}")


def populate(engine: Engine, residents: int) -> tuple[list[str], str, list[str]]:
    """Residents of 横浜市 with cards, enrolled and queried about; an API key for 横浜市."""
    settings = Settings(secret_key=SECRET)
    network_key = settings.derive_key(NETWORK_KEY_PURPOSE)
    tokens, numbers = [], []
    with transaction(engine) as session:
        load_local_governments(session, actor="bench")
        yokohama, chiyoda = get_institution(session, "141003"), get_institution(session, "131016")
        for index in range(residents):
            person = registry.register_resident(
                session, municipality_code="141003", family_name="横浜", given_name=f"{index}",
                family_name_kana="ヨコハマ", given_name_kana="タロウ", birth_date=date(1980, 1, 1),
                address_line="中区1-1", moved_in_on=date(2020, 4, 1),
                my_number_key=settings.derive_key(registry.MY_NUMBER_KEY_PURPOSE), actor="bench",
            )  # fmt: skip
            tokens.append(
                jpki.issue_card(
                    session, person_id=person.id, auth_pin=PIN, sign_pin=SIGN_PIN,
                    ca_key=settings.derive_key(jpki.CA_KEY_PURPOSE), actor="bench",
                ).card_token
            )  # fmt: skip
            numbers.append(_linkage(session, yokohama, chiyoda, person.id, network_key))
        _, key = staff_service.create_api_key(
            session, institution_id=yokohama.id, name="load", actor="bench",
            roles=[StaffRole.BUSINESS_DESK, StaffRole.NOTICE_SENDER],
        )  # fmt: skip
    return tokens, key, numbers


def _linkage(
    session: Session,
    yokohama: Institution,
    chiyoda: Institution,
    person_id: uuid.UUID,
    network_key: bytes,
) -> str:
    number = intermediate.enrol(
        session, institution=yokohama, person_id=person_id, network_key=network_key, actor="b"
    ).addressee_number
    at_chiyoda = intermediate.enrol(
        session, institution=chiyoda, person_id=person_id, network_key=network_key, actor="b"
    ).addressee_number
    intermediate.register_self_info(
        session, institution=chiyoda, addressee_number=at_chiyoda, item_code=LOCAL_TAX,
        content={"所得割額": 100_000}, publish_from=date(2026, 4, 1), actor="b",
    )  # fmt: skip
    intermediate.query(
        session, requester=yokohama, addressee_number=number, provider_code=chiyoda.code,
        affair_code=CHILD_ALLOWANCE, item_code=LOCAL_TAX, actor="b",
    )  # fmt: skip
    return str(number)


@contextmanager
def server(database_url: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "FUKAIJI_DATABASE_URL": database_url, "FUKAIJI_SECRET_KEY": SECRET}
    process = subprocess.Popen(
        [sys.executable, "-m", "fukaiji", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def log_in(engine: Engine, base: str, token: str) -> httpx.Client:
    """A resident holding the card: the portal's challenge, signed by the card, then the login."""
    client = httpx.Client(base_url=base, timeout=30)
    challenge = client.post("/api/v1/portal/login/challenge").json()["challenge"]
    with transaction(engine) as session:
        signed = jpki.card_signature(
            session, card_token=token, pin=PIN, challenge=base64.b64decode(challenge)
        )
    response = client.post(
        "/api/v1/portal/login",
        json={
            "challenge": challenge,
            "certificate_pem": signed.certificate_pem.decode(),
            "signature": base64.b64encode(signed.signature).decode(),
        },
    )
    response.raise_for_status()
    return client


def resident_loop(client: httpx.Client, stats: Stats, until: float) -> None:
    paths = {"records": "/api/v1/portal/records", "self_info": "/api/v1/portal/self-info",
             "inbox": "/api/v1/portal/inbox"}  # fmt: skip
    while time.monotonic() < until:
        for kind, path in paths.items():
            _timed(stats, f"portal {kind}", lambda path=path: client.get(path))


def staff_loop(base: str, key: str, numbers: list[str], stats: Stats, until: float) -> None:
    client = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"})
    index = 0
    while time.monotonic() < until:
        number = numbers[index % len(numbers)]
        index += 1
        _timed(
            stats,
            "staff watch",
            lambda number=number: client.get(f"/api/v1/institutions/141003/watch/{number}"),
        )
        _timed(
            stats, "staff exclusions", lambda: client.get("/api/v1/institutions/141003/exclusions")
        )
        _timed(
            stats, "staff search", lambda: client.get("/api/v1/institutions", params={"q": "横浜"})
        )


def _timed(stats: Stats, kind: str, call: Callable[[], httpx.Response]) -> None:
    started = time.perf_counter()
    error = None
    try:
        response = call()
        if response.status_code >= 400:
            error = f"HTTP {response.status_code}: {response.text[:200]}"
    except httpx.HTTPError as failure:
        error = repr(failure)
    stats.add(kind, time.perf_counter() - started, error)


def run(engine: Engine, database_url: str, args: argparse.Namespace) -> dict[str, object]:
    upgrade(engine)
    tokens, key, numbers = populate(engine, args.residents)
    stats = Stats()
    with server(database_url) as base:
        residents = [log_in(engine, base, token) for token in tokens[: args.clients // 2 or 1]]
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=resident_loop, args=(client, stats, until))
            for client in residents
        ] + [
            threading.Thread(target=staff_loop, args=(base, key, numbers, stats, until))
            for _ in range(max(1, args.clients - len(residents)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return summarise(stats, args.seconds)


def summarise(stats: Stats, seconds: float) -> dict[str, object]:
    kinds = {}
    for kind, values in sorted(stats.latencies.items()):
        ordered = sorted(values)
        kinds[kind] = {
            "requests": len(values),
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        }
    total = sum(len(values) for values in stats.latencies.values())
    return {
        "requests": total,
        "requests_per_s": round(total / seconds, 1),
        "errors": len(stats.errors),
        "first_errors": stats.errors[:5],
        "kinds": kinds,
    }


def show(name: str, result: dict[str, object]) -> None:
    table = Table(title=f"{name}: {result['requests_per_s']} req/s, errors {result['errors']}")
    for column in ("kind", "requests", "p50 ms", "p99 ms"):
        table.add_column(column)
    for kind, figures in result["kinds"].items():
        table.add_row(
            kind, str(figures["requests"]), str(figures["p50_ms"]), str(figures["p99_ms"])
        )
    Console().print(table)
    for error in result["first_errors"]:
        Console().print(f"[red]{error}[/red]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--postgres", help="server URL whose user may create databases")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    with sqlite_engine() as engine:
        results["sqlite"] = run(engine, engine.url.render_as_string(hide_password=False), args)
        show("SQLite", results["sqlite"])
    if args.postgres:
        with postgres_engine(args.postgres) as engine:
            results["postgresql"] = run(
                engine, engine.url.render_as_string(hide_password=False), args
            )
            show("PostgreSQL", results["postgresql"])
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    sys.exit(1 if any(result["errors"] for result in results.values()) else 0)


if __name__ == "__main__":
    main()
