"""The exclusion question at a national body's size: ``is_excluded``, the exclusion list, the
sweep and a notice sent through the batched gate, with 10⁵ protected persons at one institution,
beside today's per-protection derivation (``judge`` one protection at a time) as the reference.
The sweep is measured in process and as ``fukaiji protection sweep``; ``excluded_addressees``
with a notice's consents answers for more excluded numbers than PostgreSQL has parameters.

    python benchmarks/exclusion.py                          # SQLite, 10⁵ protected
    python benchmarks/exclusion.py --protected 2000 --send 5000 --postgres URL

Prints a table per backend and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

from linkage import postgres_engine, sqlite_engine
from rich.console import Console
from sqlalchemy import Engine, select

from fukaiji.db import transaction, upgrade
from fukaiji.demo.population import Population, populate
from fukaiji.network.institutions import get_department, get_institution, load_local_governments
from fukaiji.notices import jobs, service
from fukaiji.notices.models import Notice
from fukaiji.protection import exclusion
from fukaiji.protection.models import Protection
from fukaiji.protection.service import Viewer, judge
from fukaiji.protection.sweeper import sweep_all

OSAKA = "271004"
console = Console(stderr=True)


def build(engine: Engine, protected: int, send: int) -> Population:
    upgrade(engine)
    with transaction(engine) as session:
        load_local_governments(session, actor="bench")
    started = time.perf_counter()
    people = populate(
        engine,
        institution_code=OSAKA,
        addressees=protected + send,
        protected=protected,
        lifted=protected // 5,
    )
    console.print(
        f"built {len(people.numbers):,} residents in {time.perf_counter() - started:.1f} s"
    )
    return people


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def measure(engine: Engine, people: Population, send: int, reference: int) -> dict[str, object]:
    rng = random.Random(7)
    asked = rng.sample(people.numbers, min(500, len(people.numbers)))
    with transaction(engine) as session:
        osaka = get_institution(session, OSAKA)
        one = [
            timed(
                lambda n=number: exclusion.is_excluded(
                    session, institution=osaka, addressee_number=n
                )
            )
            for number in asked
        ]
        swept = timed(lambda: exclusion.sweep(session, institution=osaka))
        listed = timed(lambda: exclusion.exclusion_list(session, institution=osaka))
        consents = timed(
            lambda: exclusion.excluded_addressees(
                session, institution=osaka, notice_id=uuid.uuid4(), category="benefit"
            )
        )
        sample = session.scalars(select(Protection).limit(reference)).all()
        derivation = timed(lambda: [judge(session, protection) for protection in sample])
        protections = len(people.excluded) + len(people.lifted)
    sweep = timed(lambda: sweep_all(engine))
    sweep_by_cli = timed(lambda: _cli_sweep(engine))
    return {
        "protected": protections,
        "is_excluded": percentiles(one),
        "exclusion_list_s": round(listed, 3),
        "sweep_of_the_institution_s": round(swept, 3),
        "sweep_s": round(sweep, 3),
        "sweep_by_cli_s": round(sweep_by_cli, 3),
        # More excluded numbers than PostgreSQL's 65,535 parameters, with their consents.
        "excluded_addressees_with_consents_s": round(consents, 3),
        "reference_derivation_per_protection_ms": round(derivation / len(sample) * 1000, 3),
        "reference_exclusion_list_s_extrapolated": round(derivation / len(sample) * protections, 1),
        "send": sending(engine, people, send),
    }


def _cli_sweep(engine: Engine) -> None:
    """``fukaiji protection sweep`` as an operator runs it, interpreter start included."""
    url = engine.url.render_as_string(hide_password=False)
    subprocess.run(
        [sys.executable, "-m", "fukaiji", "protection", "sweep"],
        env={**os.environ, "FUKAIJI_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )


def sending(engine: Engine, people: Population, count: int) -> dict[str, object]:
    """A notice to ``count`` addressees, one in ten of them protected (open or lifted) and the
    rest not, through the batched gate; notices per second of the sending alone."""
    protected = people.numbers[: len(people.excluded) + len(people.lifted)]
    plain = people.numbers[len(protected) :]
    chosen = random.Random(3).sample(protected, min(len(protected), count // 10))
    chosen += plain[: count - len(chosen)]
    with transaction(engine) as session:
        welfare = get_department(session, institution_code=OSAKA, name="福祉課")
        sender = Viewer(welfare.institution_id, OSAKA, welfare.id, "bench:welfare")
        notice = service.create_notice(
            session,
            sender=sender,
            title="給付金のお知らせ",
            body="申請を受け付けています。",
            category="benefit",
        )
        rows = "".join(f"{number},大阪 太郎\n" for number in chosen)
        service.attach_destination(
            session,
            notice=notice,
            sender=sender,
            data=f"団体内統合宛名番号,氏名\n{rows}".encode(),
            filename="宛先.csv",
        )
        jobs.start_sending(session, notice=notice, sender=sender)
        notice_id = notice.id
    elapsed = timed(lambda: jobs.work(engine, once=True, batch_size=500))
    with transaction(engine) as session:
        report = jobs.delivery_report(session, notice=session.get_one(Notice, notice_id))
    if report is None or report.done != count:
        raise SystemExit(f"the send did not finish: {report}")
    return {
        "addressees": count,
        "notices_per_s": round(count / elapsed, 1),
        "sent": report.sent,
        "blocked": report.blocked,
        "no_account": report.no_account,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protected", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=20_000, help="addressees of the notice")
    parser.add_argument("--reference", type=int, default=300, help="protections judged one by one")
    parser.add_argument("--postgres", metavar="URL", help="also measure on this server")
    args = parser.parse_args()
    figures: dict[str, object] = {}
    backends = [("sqlite", sqlite_engine())]
    if args.postgres:
        backends.append(("postgresql", postgres_engine(args.postgres)))
    for name, context in backends:
        with context as engine:
            people = build(engine, args.protected, args.send)
            figures[name] = measure(engine, people, args.send, args.reference)
        console.print_json(data={name: figures[name]})
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
