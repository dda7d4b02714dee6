"""Attaching a destination file to a notice (``notices attach``): rows per second and peak
memory of ``service.attach_destination`` on a file of ``--rows`` rows, every number one the
institution assigned, with one bad row in a thousand.

    python benchmarks/attach.py --rows 100000          # SQLite in a temporary directory
    python benchmarks/attach.py --rows 100000 --database-url postgresql+psycopg://...

The world (the institution, its department, ``--rows`` persons and their addressee numbers) is
built with bulk inserts first and not timed. Prints one JSON line last: rows, seconds,
rows_per_s, faults, peak_rss_mib (the process's ``VmHWM``, which includes the world's build).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import insert

from fukaiji.db import create_db_engine, transaction, upgrade
from fukaiji.intermediate.models import Addressee
from fukaiji.network.institutions import get_institution, load_local_governments
from fukaiji.notices import service
from fukaiji.protection.service import Viewer
from fukaiji.registry.models import Person

ACTOR = "bench:attach"
CODE = "271004"  # 大阪市
BLOCK = 20_000


def build_world(engine, rows: int) -> list[str]:
    numbers = [f"{271004000000000 + index:015d}" for index in range(rows)]
    with transaction(engine) as session:
        load_local_governments(session, actor=ACTOR)
        institution_id = get_institution(session, CODE).id
        for start in range(0, rows, BLOCK):
            people = [
                {
                    "id": uuid.uuid4(),
                    "resident_record_code": f"{start + index:011d}",
                    "family_name": "大阪",
                    "given_name": "太郎",
                    "family_name_kana": "オオサカ",
                    "given_name_kana": "タロウ",
                    "birth_date": date(1980, 1, 1),
                }
                for index in range(min(BLOCK, rows - start))
            ]
            session.execute(insert(Person), people)
            session.execute(
                insert(Addressee),
                [
                    {"institution_id": institution_id, "addressee_number": number, "person_id": p}
                    for number, p in zip(
                        numbers[start : start + BLOCK], (row["id"] for row in people), strict=False
                    )
                ],
            )
    return numbers


def destination_file(numbers: list[str]) -> bytes:
    lines = ["団体内統合宛名番号,氏名,住所\r\n"]
    for index, number in enumerate(numbers):
        cell = "12345" if index % 1000 == 999 else number  # one bad row in a thousand
        lines.append(f"{cell},大阪　太郎,大阪府大阪市北区梅田1丁目\r\n")
    return "".join(lines).encode()


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fukaiji-attach-") as directory:
        url = arguments.database_url or f"sqlite:///{directory}/attach.db"
        engine = create_db_engine(url)
        upgrade(engine)
        numbers = build_world(engine, arguments.rows)
        data = destination_file(numbers)
        with transaction(engine) as session:
            institution = get_institution(session, CODE)
            department = next(d for d in institution.departments if d.name == "福祉課")
            sender = Viewer(institution.id, CODE, department.id, ACTOR)
            notice = service.create_notice(
                session, sender=sender, title="お知らせ", body="本文", category="general"
            )
            began = time.perf_counter()
            report = service.attach_destination(
                session, notice=notice, sender=sender, data=data, filename="宛先.csv"
            )
            session.flush()
            seconds = time.perf_counter() - began
        engine.dispose()
    print(
        json.dumps(
            {
                "rows": arguments.rows,
                "backend": url.split(":", 1)[0],
                "seconds": round(seconds, 3),
                "rows_per_s": round(arguments.rows / seconds),
                "stored_rows": report.rows,
                "faults": report.faults,
                "peak_rss_mib": round(peak_mib(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
