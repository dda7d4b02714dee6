"""Screening a destination file (宛先ファイル) against an exclusion list: rows per second and
peak memory of fukaiji's streaming screen, a DuckDB anti-join and a pandas ``isin``.

    python benchmarks/screening.py                          # 10,000,000 rows, all tools
    python benchmarks/screening.py --rows 1000000 --json    # last line: one JSON object
    python benchmarks/screening.py --tools fukaiji,duckdb --repeat 3 --dir /tmp/bench --keep

The benchmark writes a destination file of ``--rows`` rows (団体内統合宛名番号,氏名,住所,生年月日,
CRLF line ends as Excel saves them, realistic Japanese names and addresses, distinct random
15-digit numbers) in UTF-8 and in CP932, and an exclusion list of ``--exclusions`` numbers taken
from the file. Each tool then runs in a fresh Python process per file, so that its peak memory
is its own (``VmHWM`` of that process, which it reports itself):

* fukaiji: ``load_exclusions`` + ``screen_file``, the code path of ``fukaiji notices screen``
  (bytes never decoded, output fsynced before it is renamed into place);
* duckdb: ``COPY (SELECT d.* FROM read_csv(...) d ANTI JOIN read_csv(...) e ON ...) TO ...``,
  every column read as VARCHAR. DuckDB reads only UTF-8, UTF-16 and latin-1 without its
  ``encodings`` extension, which it must download (not possible offline); so for CP932 it is
  measured as what a user would have to do: convert the file to UTF-8 (Python's cp932 codec,
  streamed), anti-join, convert the result back to CP932. The note column says so;
* pandas: ``read_csv(dtype=str, encoding=...)``, ``isin``, ``to_csv(encoding=...)``;
* fukaiji-known (only when named in ``--tools``): fukaiji with the institution's known numbers
  (all of the file's, shuffled) streamed a block at a time from a raw int64 file, as the CLI
  streams them from the database; its peak memory is that of the known-numbers check.

Rows per second are the destination file's rows divided by the seconds the tool took inside its
process, from reading the exclusion list to the output closed (interpreter start and imports not
counted; they are shown as "wall"). With ``--repeat N`` the fastest of N runs is reported (the
peak memory is the highest). The last line with ``--json`` is, for example,
``{"fukaiji": {"utf8": {"rows_per_s": ..., "peak_rss_mib": ..., ...}, "cp932": {...}},
"duckdb": {...}, "pandas": {...}, "rows": ..., "ratios": {"utf8": ..., "cp932": ...}}``
(ratios: fukaiji's rows per second over DuckDB's).
"""

from __future__ import annotations

import argparse
import codecs
import importlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

COLUMN = "団体内統合宛名番号"
HEADER = f"{COLUMN},氏名,住所,生年月日"
ENCODINGS = {"utf8": "utf-8", "cp932": "cp932"}
TOOLS = ("fukaiji", "fukaiji-known", "duckdb", "pandas")
KNOWN_BLOCK = 1 << 20
CONVERT_BYTES = 16 * 1024 * 1024

console = Console(stderr=True)

SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "山下",
    "中島",
    "石井",
    "小川",
    "前田",
    "岡田",
    "長谷川",
    "藤田",
    "後藤",
    "近藤",
    "村上",
    "遠藤",
    "青木",
    "坂本",
    "髙橋",
    "﨑山",
    "德永",
    "齋藤",
]
GIVEN_NAMES = [
    "太郎",
    "花子",
    "一郎",
    "次郎",
    "美咲",
    "陽菜",
    "結衣",
    "蓮",
    "悠真",
    "湊",
    "大翔",
    "葵",
    "凛",
    "さくら",
    "ひなた",
    "翔太",
    "健一",
    "恵子",
    "由美子",
    "浩二",
    "真由美",
    "ゆうき",
    "陽向",
    "芽依",
    "蒼",
    "樹",
    "ケンジ",
]
PLACES = [
    "北海道札幌市中央区北一条西",
    "青森県青森市長島",
    "宮城県仙台市青葉区国分町",
    "東京都千代田区丸の内",
    "東京都新宿区西新宿",
    "神奈川県横浜市中区日本大通",
    "愛知県名古屋市中区三の丸",
    "大阪府大阪市北区梅田",
    "京都府京都市中京区寺町通",
    "福岡県福岡市博多区博多駅前",
    "沖縄県那覇市泉崎",
    "広島県広島市中区基町",
]


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Files:
    sources: dict[str, Path]  # encoding key → destination file
    exclusions: Path
    rows: int
    excluded: int


def generate(directory: Path, rows: int, excluded: int, encodings: list[str], seed: int) -> Files:
    """The destination files and the exclusion list. Fast: rows are laid out from a few
    prebuilt blocks of 1,024 rows of text, and only the numbers are written into each copy."""
    rng = np.random.default_rng(seed)
    numbers = _distinct_numbers(rng, rows)
    block_rows = 1024
    templates = [_template(rng, block_rows) for _ in range(16)]
    sources = {}
    for key in encodings:
        path = directory / f"destination-{rows}-{key}.csv"
        sources[key] = path
        encoded = [_encode_template(tails, ENCODINGS[key]) for tails in templates]
        order = np.random.default_rng(seed + 1).integers(0, len(templates), -(-rows // block_rows))
        with path.open("wb") as out:
            out.write(f"{HEADER}\r\n".encode(ENCODINGS[key]))
            group = 64  # blocks written at a time
            for first in range(0, len(order), group):
                picked = order[first : first + group]
                data = np.concatenate([encoded[t][0] for t in picked])
                bases = np.cumsum([0, *[len(encoded[t][0]) for t in picked]])
                starts = np.concatenate(
                    [encoded[t][1] + base for t, base in zip(picked, bases, strict=False)]
                )
                keys = numbers[first * block_rows : (first + group) * block_rows]
                data[starts[: len(keys), None] + np.arange(15)] = _digits(keys)
                end = starts[len(keys)] if len(keys) < len(starts) else len(data)
                out.write(data[:end].tobytes())
    # The institution's known numbers for fukaiji-known: the file's, in another order.
    numbers[np.random.default_rng(seed + 2).permutation(len(numbers))].tofile(
        directory / f"known-{rows}.bin"
    )
    chosen = np.sort(numbers[rng.choice(rows, size=min(excluded, rows), replace=False)])
    exclusions = directory / f"exclusions-{rows}-{len(chosen)}.csv"
    exclusions.write_bytes(
        f"{COLUMN}\r\n".encode() + b"".join(row.tobytes() + b"\r\n" for row in _digits(chosen))
    )
    return Files(sources, exclusions, rows, len(chosen))


def _distinct_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    numbers = np.empty(0, np.int64)
    while len(numbers) < count:
        numbers = np.sort(np.concatenate([numbers, rng.integers(10**14, 10**15, count + 100)]))
        first = np.ones(len(numbers), dtype=bool)
        first[1:] = numbers[1:] != numbers[:-1]
        numbers = numbers[first]  # not np.unique: it hashes int64, far slower than a sort
    return numbers[rng.permutation(len(numbers))[:count]]


def _digits(numbers: np.ndarray) -> np.ndarray:
    """The 15 ASCII digits of each number, as rows of bytes."""
    digits = np.empty((len(numbers), 15), dtype=np.uint8)
    rest = numbers.copy()
    for place in range(14, -1, -1):
        digits[:, place] = rest % 10 + 0x30
        rest //= 10
    return digits


def _template(rng: np.random.Generator, rows: int) -> list[str]:
    tails = []
    for _ in range(rows):
        surname = SURNAMES[rng.integers(len(SURNAMES))]
        name = f"{surname}　{GIVEN_NAMES[rng.integers(len(GIVEN_NAMES))]}"
        place = PLACES[rng.integers(len(PLACES))]
        address = f"{place}{rng.integers(1, 10)}丁目{rng.integers(1, 30)}番{rng.integers(1, 20)}号"
        if rng.random() < 0.05:
            address += f"　コーポ①－{rng.integers(101, 999)}"
        born = f"{rng.integers(1930, 2024)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
        tails.append(f",{name},{address},{born}\r\n")
    return tails


def _encode_template(tails: list[str], encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """The block's bytes (numbers as 15 zeros) and where each row's number starts."""
    lines = [("0" * 15 + tail).encode(encoding) for tail in tails]
    starts = np.cumsum([0] + [len(line) for line in lines[:-1]])
    return np.frombuffer(b"".join(lines), dtype=np.uint8).copy(), starts


# --- the tools, each in a process of its own ---------------------------------------------------


def run_fukaiji(source: Path, exclusions: Path, output: Path, encoding: str) -> int:
    from fukaiji.notices.stream import load_exclusions, screen_file

    report = screen_file(source, output, load_exclusions(exclusions))
    return report.kept


def run_fukaiji_known(source: Path, exclusions: Path, output: Path, encoding: str) -> int:
    """As ``run_fukaiji``, with the institution's known numbers (every number of the file, in
    another order) streamed from a raw int64 file a block at a time, as the CLI streams them
    from the database: the check must stay in bounded memory whatever their number."""
    from fukaiji.notices.stream import KnownNumberStream, load_exclusions, screen_file

    known_file = next(source.parent.glob("known-*.bin"))

    def blocks():
        count = known_file.stat().st_size // 8
        for at in range(0, count, KNOWN_BLOCK):
            yield np.fromfile(known_file, dtype=np.int64, count=KNOWN_BLOCK, offset=at * 8)

    report = screen_file(
        source, output, load_exclusions(exclusions), known=KnownNumberStream(blocks)
    )
    if report.fault_count:
        raise RuntimeError(f"{report.fault_count} rows reported unknown")
    return report.kept


def run_duckdb(source: Path, exclusions: Path, output: Path, encoding: str) -> int:
    import duckdb

    connection = duckdb.connect()
    reading, writing = source, output
    if encoding != "utf-8":  # DuckDB reads UTF-8: convert there and back (see the docstring)
        reading = output.with_suffix(".in-utf8.csv")
        writing = output.with_suffix(".out-utf8.csv")
        _convert(source, reading, encoding, "utf-8")
    kept = connection.execute(
        f"""COPY (
              SELECT d.* FROM read_csv(?, header = true, all_varchar = true) AS d
              ANTI JOIN read_csv(?, header = true, all_varchar = true) AS e
              ON d."{COLUMN}" = e."{COLUMN}"
            ) TO '{writing}' (FORMAT csv, HEADER true)""",  # noqa: S608 - our own paths
        [str(reading), str(exclusions)],
    ).fetchone()[0]
    if encoding != "utf-8":
        _convert(writing, output, "utf-8", encoding)
        reading.unlink()
        writing.unlink()
    return int(kept)


def _convert(source: Path, destination: Path, from_encoding: str, to_encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(from_encoding)()
    with source.open("rb") as reading, destination.open("wb") as writing:
        while piece := reading.read(CONVERT_BYTES):
            writing.write(decoder.decode(piece).encode(to_encoding))
        writing.write(decoder.decode(b"", final=True).encode(to_encoding))


def run_pandas(source: Path, exclusions: Path, output: Path, encoding: str) -> int:
    import pandas as pd

    excluded = pd.read_csv(exclusions, dtype=str, keep_default_na=False)[COLUMN]
    frame = pd.read_csv(source, dtype=str, encoding=encoding, keep_default_na=False)
    kept = frame[~frame[COLUMN].isin(excluded)]
    kept.to_csv(output, index=False, encoding=encoding)
    return len(kept)


RUNNERS = {
    "fukaiji": run_fukaiji,
    "fukaiji-known": run_fukaiji_known,
    "duckdb": run_duckdb,
    "pandas": run_pandas,
}
NOTES = {
    ("duckdb", "cp932"): "no CP932 reader offline: cp932→utf-8, anti-join, utf-8→cp932",
}


IMPORTS = {
    "fukaiji": "fukaiji.notices.stream",
    "fukaiji-known": "fukaiji.notices.stream",
    "duckdb": "duckdb",
    "pandas": "pandas",
}


def child(arguments: argparse.Namespace) -> None:
    """Run one tool once and print what it did as JSON."""
    importlib.import_module(IMPORTS[arguments.child])  # not timed: "wall" includes it
    began = time.perf_counter()
    kept = RUNNERS[arguments.child](
        Path(arguments.source), Path(arguments.exclusions_file), Path(arguments.output),
        arguments.encoding,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    print(json.dumps({"seconds": seconds, "rows_out": kept, "peak_kib": _peak_kib()}))


def _peak_kib() -> int:
    """This process's peak resident set. Not ``ru_maxrss``: Linux carries that over ``exec``
    from the address space the child was spawned with (the parent's, with its test data)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource  # not Linux: the best there is

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@dataclass
class Result:
    seconds: float
    wall: float
    peak_mib: float
    rows_out: int
    identical: bool | None = None  # the output is the input without the excluded lines


def measure(
    tool: str, source: Path, files: Files, encoding: str, work: Path, verify: bool = False
) -> Result:
    output = work / f"out-{tool}-{source.name}"
    command = [
        sys.executable, __file__, "--child", tool, "--source", str(source),
        "--exclusions-file", str(files.exclusions), "--output", str(output),
        "--encoding", encoding,
    ]  # fmt: skip
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    printed, _ = process.communicate()
    wall = time.perf_counter() - began
    if process.returncode:
        raise RuntimeError(f"{tool} failed on {source.name} (exit {process.returncode})")
    done = json.loads(printed.decode().strip().splitlines()[-1])
    identical = _is_input_without_exclusions(output, source, files.exclusions) if verify else None
    output.unlink(missing_ok=True)
    return Result(done["seconds"], wall, done["peak_kib"] / 1024, done["rows_out"], identical)


def _is_input_without_exclusions(output: Path, source: Path, exclusions: Path) -> bool:
    """Whether ``output`` is exactly ``source`` without the lines of excluded numbers (the
    generated files have the number first, one line a row)."""
    excluded = set(exclusions.read_bytes().splitlines()[1:])
    with source.open("rb") as reading, output.open("rb") as written:
        expected = reading.readline()  # the header
        if written.readline() != expected:
            return False
        rest = b""
        while piece := reading.read(CONVERT_BYTES):
            lines = (rest + piece).split(b"\n")
            rest = lines.pop()
            kept = b"".join(line + b"\n" for line in lines if line[:15] not in excluded)
            if written.read(len(kept)) != kept:
                return False
        return written.read() == rest


# --- the report --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--exclusions", type=int, default=200_000)
    parser.add_argument("--tools", default="fukaiji,duckdb,pandas", help=",".join(TOOLS))
    parser.add_argument("--encodings", default=",".join(ENCODINGS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="where the files go (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument(
        "--verify", action="store_true", help="check fukaiji's output byte for byte (slow)"
    )
    parser.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--exclusions-file", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--encoding", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments)
        return
    tools = [tool.strip() for tool in arguments.tools.split(",") if tool.strip()]
    encodings = [key.strip() for key in arguments.encodings.split(",") if key.strip()]
    unknown = [name for name in tools if name not in TOOLS] + [
        key for key in encodings if key not in ENCODINGS
    ]
    if unknown:
        parser.error(f"unknown tools or encodings: {', '.join(unknown)}")

    created = arguments.dir is None
    work = Path(tempfile.mkdtemp(prefix="fukaiji-screening-")) if created else arguments.dir
    work.mkdir(parents=True, exist_ok=True)
    try:
        began = time.perf_counter()
        files = generate(work, arguments.rows, arguments.exclusions, encodings, arguments.seed)
        sizes = ", ".join(
            f"{key} {path.stat().st_size / 1e6:,.0f} MB" for key, path in files.sources.items()
        )
        console.print(
            f"{files.rows:,} rows ({sizes}), {files.excluded:,} exclusions, "
            f"generated in {time.perf_counter() - began:.1f} s in {work}"
        )
        runs: dict[tuple[str, str], list[Result]] = {}
        for _ in range(arguments.repeat):  # interleaved, so that a change of load hits all
            for key in encodings:
                for tool in tools:
                    verify = arguments.verify and tool == "fukaiji"
                    run = measure(tool, files.sources[key], files, ENCODINGS[key], work, verify)
                    runs.setdefault((tool, key), []).append(run)
                    console.print(f"  {tool} {key}: {run.seconds:.2f} s, {run.peak_mib:.0f} MiB")
        results: dict[str, dict[str, dict[str, object]]] = {}
        for (tool, key), done in runs.items():
            best = min(done, key=lambda run: run.seconds)
            entry: dict[str, object] = {
                "rows_per_s": round(files.rows / best.seconds),
                "peak_rss_mib": round(max(run.peak_mib for run in done), 1),
                "seconds": round(best.seconds, 3),
                "wall_seconds": round(best.wall, 3),
                "rows_out": best.rows_out,
            }
            if best.identical is not None:
                entry["byte_identical"] = best.identical
            if (tool, key) in NOTES:
                entry["note"] = NOTES[tool, key]
            results.setdefault(tool, {})[key] = entry
        _print_table(results, files)
        if arguments.json:
            results["rows"] = files.rows  # type: ignore[assignment]
            results["ratios"] = _ratios(results)  # type: ignore[assignment]
            print(json.dumps(results, ensure_ascii=False))
    finally:
        if not arguments.keep:
            if created:
                shutil.rmtree(work, ignore_errors=True)
            else:
                for path in [*files_in(work, arguments.rows)]:
                    path.unlink(missing_ok=True)


def _ratios(results: dict[str, dict[str, dict[str, object]]]) -> dict[str, float]:
    """fukaiji's rows per second over DuckDB's, per encoding."""
    ours, theirs = results.get("fukaiji", {}), results.get("duckdb", {})
    return {
        key: round(float(ours[key]["rows_per_s"]) / float(theirs[key]["rows_per_s"]), 2)  # type: ignore[arg-type]
        for key in ours
        if key in theirs
    }


def files_in(work: Path, rows: int) -> list[Path]:
    return [
        *work.glob(f"destination-{rows}-*.csv"),
        *work.glob(f"exclusions-{rows}-*.csv"),
        *work.glob(f"known-{rows}.bin"),
    ]


def _identical(entry: dict[str, object]) -> str:
    return {True: "yes", False: "NO", None: ""}[entry.get("byte_identical")]  # type: ignore[index]


def _print_table(results: dict[str, dict[str, dict[str, object]]], files: Files) -> None:
    expected = files.rows - files.excluded
    table = Table(title=f"Screening {files.rows:,} rows against {files.excluded:,} exclusions")
    verified = any("byte_identical" in entry for by in results.values() for entry in by.values())
    columns = ["tool", "encoding", "rows/s", "seconds", "wall s", "peak MiB", "rows out"]
    for name in [*columns, *(["byte for byte"] if verified else [])]:
        table.add_column(name, justify="left" if name in ("tool", "encoding") else "right")
    notes = []
    for tool, by_encoding in results.items():
        for key, entry in by_encoding.items():
            rows_out = int(entry["rows_out"])  # type: ignore[arg-type]
            if "note" in entry:
                notes.append(f"{tool} {key}: {entry['note']}")
            table.add_row(
                tool,
                key + ("*" * len(notes) if "note" in entry else ""),
                f"{entry['rows_per_s']:,}",
                f"{entry['seconds']:.2f}",
                f"{entry['wall_seconds']:.2f}",
                f"{entry['peak_rss_mib']:.0f}",
                f"{rows_out:,}" + ("" if rows_out == expected else " (!)"),
                *([_identical(entry)] if verified else []),
            )
    console.print(table)
    for number, note in enumerate(notes, start=1):
        console.print(f"{'*' * number} {note}")
    ours = results.get("fukaiji", {})
    theirs = results.get("duckdb", {})
    for key in ours:
        if key in theirs:
            ratio = float(ours[key]["rows_per_s"]) / float(theirs[key]["rows_per_s"])  # type: ignore[arg-type]
            console.print(f"fukaiji / duckdb on {key}: {ratio:.2f}x rows/s")


if __name__ == "__main__":
    main()
