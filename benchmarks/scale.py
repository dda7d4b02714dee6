"""The national-scale table in one run: every figure of the scale issue, on SQLite and on
PostgreSQL, printed last as one JSON line.

The world is a national body's: 10⁵ protected persons at one institution (and, for the send at a
small body, 10³), one person with 10⁴ records, 10⁴ 副本 and 10⁴ お知らせ, an audit log of 10⁶
entries, destination files of 10⁷ and 3×10⁷ rows. Each part is built and measured by the
benchmark that owns it, in a process of its own (so that one part's memory and caches do not
colour the next, and the peak memory reported is that part's); this script runs them one after
the other, on a database of their own each, and gathers their JSON into the table:

    exclusion.py      is_excluded, the exclusion list, the sweep (in process and by CLI), the
                      consents beyond 65,535 numbers, the send rate; beside them the reference:
                      today's per-protection derivation (``judge``), extrapolated to the list
    portal_views.py   やりとり履歴, 自己情報 and GET /api/v1/portal/folder, paged
    linkage.py        情報照会, one transaction per query
    audit_verify.py   fukaiji audit verify, full and from checkpoints
    screening.py      the UTF-8 screen beside DuckDB, and the known-numbers check's memory
    attach.py         notices attach, streamed

    python benchmarks/scale.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python benchmarks/scale.py --quick                 # small sizes, to see that it all runs
    python benchmarks/scale.py --only exclusion,linkage

Run it on a quiet machine: every figure is a time, and another job on the same cores changes it.
The load average before and after each part is recorded beside its figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@dataclasses.dataclass(frozen=True, slots=True)
class Sizes:
    protected: int = 100_000
    small_body: int = 1_000
    send: int = 20_000
    history: int = 10_000
    rounds: int = 100
    queries: int = 20_000
    audit_entries: int = 1_000_000
    screening_rows: tuple[int, ...] = (10_000_000, 30_000_000)
    attach_rows: int = 100_000


QUICK = Sizes(
    protected=2_000,
    small_body=200,
    send=2_000,
    history=500,
    rounds=10,
    queries=500,
    audit_entries=10_000,
    screening_rows=(100_000,),
    attach_rows=5_000,
)


def parts(sizes: Sizes, postgres: str | None) -> dict[str, list[list[str]]]:
    """Each part's benchmark command lines (a part with two sizes or backends runs twice)."""
    on_postgres = ["--postgres", postgres] if postgres else []
    attach = [["attach.py", "--rows", str(sizes.attach_rows)]]
    if postgres:
        attach.append([*attach[0], "--postgres", postgres])
    return {
        "exclusion": [
            ["exclusion.py", "--protected", str(count), "--send", str(sizes.send), *on_postgres]
            for count in (sizes.protected, sizes.small_body)
        ],
        "portal_views": [
            [
                *("portal_views.py", "--size", str(sizes.history)),
                *("--rounds", str(sizes.rounds), *on_postgres),
            ]
        ],
        "linkage": [["linkage.py", "--queries", str(sizes.queries), "--json", *on_postgres]],
        "audit_verify": [["audit_verify.py", "--entries", str(sizes.audit_entries), *on_postgres]],
        "screening": [
            [
                *("screening.py", "--rows", str(rows), "--encodings", "utf8"),
                *("--tools", "fukaiji,duckdb,fukaiji-known", "--json"),
            ]
            for rows in sizes.screening_rows
        ],
        "attach": attach,
    }


def run_part(command: list[str]) -> dict[str, Any]:
    """One benchmark in its own process; its last line of output is its JSON."""
    before = os.getloadavg()[0]
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / command[0]), *command[1:]],
        cwd=HERE,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return {
        "result": json.loads(lines[-1]),
        "seconds": round(time.perf_counter() - began, 1),
        "load_before": round(before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def _at(raw: dict[str, Any], *path: Any) -> Any:
    """The figure at ``path`` in the gathered results, or None where that part did not run."""
    here: Any = raw
    for key in path:
        in_list = isinstance(here, list) and isinstance(key, int) and -len(here) <= key < len(here)
        if not (in_list or (isinstance(here, dict) and key in here)):
            return None
        here = here[key]
    return here


Figure = Callable[[dict[str, Any], str], Any]


def _exclusion(run: int, *path: str) -> Figure:
    return lambda raw, backend: _at(raw, "exclusion", run, "result", backend, *path)


def _portal(name: str, percentile: str = "p99_ms") -> Figure:
    return lambda raw, backend: _at(
        raw, "portal_views", 0, "result", "portal_views", backend, name, percentile
    )


def _screening(run: int, *path: str) -> Figure:
    return lambda raw, backend: (
        _at(raw, "screening", run, "result", *path) if backend == "sqlite" else None
    )


def _attach(raw: dict[str, Any], backend: str) -> Any:
    for run in raw.get("attach", []):
        if run["result"].get("backend", "").startswith(backend):
            return {key: run["result"][key] for key in ("rows_per_s", "peak_rss_mib")}
    return None


# (what, size as a format of Sizes' fields, figure, needed): the rows of the issue's table, in
# its order. The screening runs no database, so its figures stand in the SQLite column.
TABLE: list[tuple[str, str, Figure, str]] = [
    ("is_excluded p50/p99 (ms)", "{protected:,} protected", _exclusion(0, "is_excluded"), "< 1 ms"),
    (
        "send (notices/s)",
        "{protected:,} protected",
        _exclusion(0, "send", "notices_per_s"),
        "≥ 2,000/s",
    ),
    (
        "send (notices/s)",
        "{small_body:,} protected",
        _exclusion(1, "send", "notices_per_s"),
        "≥ 2,000/s",
    ),
    ("exclusion list (s)", "{protected:,} protected", _exclusion(0, "exclusion_list_s"), "< 2 s"),
    (
        "exclusion list, per-protection reference (s, extrapolated)",
        "{protected:,} protected",
        _exclusion(0, "reference_exclusion_list_s_extrapolated"),
        "(reference)",
    ),
    ("sweep in process (s)", "{protected:,} protected", _exclusion(0, "sweep_s"), "< 10 s"),
    ("sweep by CLI (s)", "{protected:,} protected", _exclusion(0, "sweep_by_cli_s"), "< 10 s"),
    (
        "consents with > 65,535 excluded numbers (s)",
        "{protected:,} protected",
        _exclusion(0, "excluded_addressees_with_consents_s"),
        "works at any size",
    ),
    ("やりとり履歴 page p99 (ms)", "{history:,} records", _portal("records_page_deep"), "< 50 ms"),
    ("自己情報 page p99 (ms)", "{history:,} 副本", _portal("self_info_page_deep"), "< 50 ms"),
    (
        "GET /api/v1/portal/folder p99 (ms)",
        "{history:,} + {history:,}",
        _portal("api_folder"),
        "< 100 ms",
    ),
    (
        "linkage (queries/s)",
        "one transaction each",
        lambda raw, backend: _at(raw, "linkage", 0, "result", backend, "queries_per_s"),
        "SQLite ≥ 3,000, PostgreSQL ≥ 1,500",
    ),
    (
        "audit verify, full (s)",
        "{audit_entries:,} entries",
        lambda raw, backend: _at(raw, "audit_verify", 0, "result", backend, "full_verify_s"),
        "≤ 10 s",
    ),
    (
        "audit verify, from checkpoints (s)",
        "{audit_entries:,} entries + 1,000",
        lambda raw, backend: _at(raw, "audit_verify", 0, "result", backend, "incremental_verify_s"),
        "(incremental)",
    ),
    (
        "screening vs DuckDB, UTF-8 (×)",
        "{smaller_file:,} rows",
        _screening(0, "ratios", "utf8"),
        "≥ 2×",
    ),
    (
        "screening vs DuckDB, UTF-8 (×)",
        "{larger_file:,} rows",
        _screening(1, "ratios", "utf8"),
        "≥ 2×",
    ),
    (
        "screening peak memory (MiB)",
        "{larger_file:,} rows",
        _screening(-1, "fukaiji", "utf8", "peak_rss_mib"),
        "< 256 MiB",
    ),
    (
        "screening with known numbers, peak memory (MiB)",
        "{larger_file:,} rows",
        _screening(-1, "fukaiji-known", "utf8", "peak_rss_mib"),
        "< 256 MiB",
    ),
    ("notices attach (rows/s, peak MiB)", "{attach_rows:,} rows", _attach, "streamed"),
]


def table(raw: dict[str, Any], sizes: Sizes) -> list[dict[str, Any]]:
    named = dataclasses.asdict(sizes) | {
        "smaller_file": sizes.screening_rows[0],
        "larger_file": sizes.screening_rows[-1],
    }
    return [
        {
            "what": what,
            "size": size.format(**named),
            "sqlite": figure(raw, "sqlite"),
            "postgresql": figure(raw, "postgresql"),
            "needed": needed,
        }
        for what, size, figure, needed in TABLE
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="a server where it may create databases")
    parser.add_argument("--quick", action="store_true", help="small sizes, to see that it runs")
    parser.add_argument("--only", help="comma-separated parts (default: all)")
    arguments = parser.parse_args()
    sizes = QUICK if arguments.quick else Sizes()
    chosen = parts(sizes, arguments.postgres)
    if arguments.only:
        names = [name.strip() for name in arguments.only.split(",")]
        unknown = [name for name in names if name not in chosen]
        if unknown:
            parser.error(f"unknown parts: {', '.join(unknown)} (known: {', '.join(chosen)})")
        chosen = {name: chosen[name] for name in names}
    raw: dict[str, Any] = {}
    for name, commands in chosen.items():
        for command in commands:
            print(f"== {' '.join(command)}", file=sys.stderr, flush=True)
            raw.setdefault(name, []).append(run_part(command))
    # A figure whose part did not run is null.
    sizes_used = {"sizes": dataclasses.asdict(sizes)}
    print(json.dumps({"table": table(raw, sizes), **sizes_used, "parts": raw}, ensure_ascii=False))


if __name__ == "__main__":
    main()
