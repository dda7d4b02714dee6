"""Protective masking: what it adds to the portal's views, measured beside the unmasked view.

Two people with the same folder of ``--items`` items (やりとり履歴 between five municipalities, a
few 副本, and お知らせ, about one in ten from or naming the shelter area): 一郎, whom nobody
protects, and 花子, whom 大阪市's desk registered with her card left behind. Each round builds
both views through ``fukaiji.portal.folder.folder_view`` — the function the portal's routes call —
once each, alternately, so that both see the same machine at the same moments:

- 一郎's view pays the one indexed question "is anyone protecting him?";
- 花子's view, from the path of the card left behind, is masked: every item is tested against the
  region, and what gives it away is held back.

Printed: p50 and p99 of each, the overhead of masking at p99 (the target is at most 10 %), the
first masked view of the process (before the region's matcher has read any of the texts), and
how many items were held back.

    python benchmarks/masking.py                      # 10⁴ items, SQLite in a temporary directory
    python benchmarks/masking.py --items 2000 --rounds 30
    python benchmarks/masking.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import date

from linkage import postgres_engine, progress_bar, sqlite_engine
from rich.console import Console
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.db import transaction, upgrade
from fukaiji.network.institutions import (
    get_department,
    get_institution,
    load_local_governments,
)
from fukaiji.portal.folder import folder_view
from fukaiji.portal.models import InboxMessage, PortalAccount
from fukaiji.protection import service as protection
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.region import parse_region
from fukaiji.protection.service import Requester
from fukaiji.registry import service as registry

NETWORK_KEY = bytes(range(32))
MY_NUMBER_KEY = bytes(range(32, 64))
ACTOR = "benchmark"
CHILD_ALLOWANCE = "JM01000000000010"
LOCAL_TAX = "TM02000000000001"
RESIDENT_RECORD = "TM01000000000001"
OSAKA = "271004"
ELSEWHERE = ("131016", "141003", "011002", "401005")
NOTICE_TEXTS = (
    ("住民税のお知らせ", "納期限は6月30日です。口座振替をご利用ください。"),
    ("児童手当の現況届", "提出期限までに現況届を提出してください。"),
    ("健康診断のご案内", "対象の方に受診券をお送りします。"),
    ("窓口のご案内", "大阪市北区梅田一丁目の窓口で受け付けています。"),  # names the region
)

console = Console(stderr=True)


def populate(engine: Engine, items: int, rng: random.Random) -> tuple[uuid.UUID, uuid.UUID]:
    """Two people with the same folder; the second one protected by 大阪市's desk."""
    with transaction(engine) as session:
        load_local_governments(session, actor=ACTOR)
    people = []
    for given in ("一郎", "花子"):
        people.append(_person_with_a_folder(engine, given, items, random.Random(rng.random())))
    with transaction(engine) as session:
        department = get_department(session, institution_code=OSAKA, name="DV相談窓口")
        protection.register_protection(
            session,
            institution=get_institution(session, OSAKA),
            department_id=department.id,
            person_id=people[1],
            facts=CaseFacts(True, True, False, False),
            region_codes=[OSAKA],
            requester=Requester.checked("person", None, None),
            fled_on=None,
            network_key=NETWORK_KEY,
            actor=ACTOR,
        )
    return people[0], people[1]


def _person_with_a_folder(engine: Engine, given: str, items: int, rng: random.Random) -> uuid.UUID:
    queries, notices = items * 7 // 10, items * 3 // 10
    with transaction(engine) as session:
        person = registry.register_resident(
            session,
            municipality_code="131016",
            family_name="山田",
            given_name=given,
            family_name_kana="ヤマダ",
            given_name_kana="タロウ",
            birth_date=date(1990, 4, 1),
            address_line="千代田一丁目1番1号",
            moved_in_on=date(2020, 4, 1),
            my_number_key=MY_NUMBER_KEY,
            actor=ACTOR,
        )
        numbers = _enrol_everywhere(session, person.id)
        account = PortalAccount(person_id=person.id, created_by=ACTOR)
        session.add(account)
        session.flush()
        _deliver(session, account.id, notices, rng)
    with progress_bar() as progress:
        task = progress.add_task(f"{given}: 情報照会", total=queries)
        done = 0
        while done < queries:
            with transaction(engine) as session:
                for _ in range(min(500, queries - done)):
                    _query(session, numbers, rng)
                    done += 1
            progress.update(task, completed=done)
    return person.id


def _enrol_everywhere(session: Session, person_id: uuid.UUID) -> dict[str, str]:
    numbers = {}
    for code in (OSAKA, *ELSEWHERE):
        place = get_institution(session, code)
        enrolled = intermediate.enrol(
            session, institution=place, person_id=person_id, network_key=NETWORK_KEY, actor=ACTOR
        )
        numbers[code] = str(enrolled.addressee_number)
        for item in (LOCAL_TAX, RESIDENT_RECORD):
            intermediate.register_self_info(
                session,
                institution=place,
                addressee_number=numbers[code],
                item_code=item,
                content={"年度": 2026, "住所": "千代田区千代田一丁目1番1号"},
                publish_from=date(2026, 4, 1),
                actor=ACTOR,
            )
    return numbers


def _query(session: Session, numbers: dict[str, str], rng: random.Random) -> None:
    # 地方税関係情報 names its provider; 住民票関係情報 goes to the municipality she lives in
    # (千代田区), where the network routes it.
    requester = OSAKA if rng.random() < 0.1 else rng.choice(ELSEWHERE[1:])
    routed = rng.random() < 0.5
    provider = None if routed else rng.choice([c for c in ELSEWHERE if c != requester])
    intermediate.query(
        session,
        requester=get_institution(session, requester),
        addressee_number=numbers[requester],
        provider_code=provider,
        affair_code=CHILD_ALLOWANCE,
        item_code=RESIDENT_RECORD if routed else LOCAL_TAX,
        actor=ACTOR,
    )


def _deliver(session: Session, account_id: int, count: int, rng: random.Random) -> None:
    sender = get_institution(session, "131016").id
    rows = []
    for index in range(count):
        title, body = (
            NOTICE_TEXTS[index % len(NOTICE_TEXTS)]
            if rng.random() < 0.4
            else (
                f"お知らせ第{index}号",
                f"申請番号{rng.randrange(10**8)}の手続が完了しました。",
            )
        )
        rows.append(
            {
                "account_id": account_id,
                "institution_id": sender,
                "category": "general",
                "title": title,
                "body": body,
                "source": None,
            }
        )
    session.execute(insert(InboxMessage), rows)


def _account(session: Session, person_id: uuid.UUID) -> int:
    return session.scalars(
        select(PortalAccount.id).where(PortalAccount.person_id == person_id)
    ).one()


def measure(engine: Engine, ichiro: uuid.UUID, hanako: uuid.UUID, rounds: int) -> dict:
    plain, masked = [], []
    with Session(engine) as session:
        accounts = {person: _account(session, person) for person in (ichiro, hanako)}

        def view(person: uuid.UUID):
            started = time.perf_counter()
            built = folder_view(
                session,
                account_id=accounts[person],
                viewer_person_id=person,
                card_id=None,  # the card left behind: for 花子, a risky path
                network_key=NETWORK_KEY,
            )
            session.rollback()
            return (time.perf_counter() - started) * 1000, built

        first_ms, first = view(hanako)
        view(ichiro)
        for _ in range(rounds):
            plain.append(view(ichiro)[0])
            masked.append(view(hanako)[0])
    shown = len(first.records) + len(first.self_info) + len(first.inbox)
    p99 = {"plain": _percentile(plain, 0.99), "masked": _percentile(masked, 0.99)}
    return {
        "items": shown + len(first.held_back),
        "held_back": len(first.held_back),
        "rounds": rounds,
        "plain_ms_p50": round(statistics.median(plain), 1),
        "plain_ms_p99": round(p99["plain"], 1),
        "masked_ms_p50": round(statistics.median(masked), 1),
        "masked_ms_p99": round(p99["masked"], 1),
        "overhead_p99": round(p99["masked"] / p99["plain"] - 1, 4),
        "first_masked_ms": round(first_ms, 1),
        "region": parse_region([OSAKA]).names[0],
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(engine: Engine, items: int, rounds: int) -> dict:
    upgrade(engine)
    ichiro, hanako = populate(engine, items, random.Random(15))
    return measure(engine, ichiro, hanako, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="items in each folder")
    parser.add_argument("--rounds", type=int, default=100, help="views of each person")
    parser.add_argument("--postgres", help="a server URL whose user may create databases")
    arguments = parser.parse_args()
    results = {}
    with sqlite_engine() as engine:
        results["sqlite"] = run(engine, arguments.items, arguments.rounds)
    if arguments.postgres:
        with postgres_engine(arguments.postgres) as engine:
            results["postgresql"] = run(engine, arguments.items, arguments.rounds)
    for name, result in results.items():
        console.print(
            f"{name}: {result['items']} items, {result['held_back']} held back; p99 "
            f"{result['plain_ms_p99']} ms unmasked, {result['masked_ms_p99']} ms masked "
            f"({result['overhead_p99']:+.1%}); first masked view {result['first_masked_ms']} ms"
        )
    print(json.dumps({"masking": results}, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
