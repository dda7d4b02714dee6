"""The screen itself and the exclusion list's reader: the public functions of the package."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from fukaiji.intermediate.addressee_files import (
    ADDRESSEE_COLUMN,
    Encoding,
    InvalidAddresseeFile,
    summarise_faults,
)
from fukaiji.notices.stream.duplicates import _Duplicates, _KeyStore
from fukaiji.notices.stream.known import KnownNumberStream, _SeenKeys
from fukaiji.notices.stream.numbers import _as_numbers, _HashSet, _NumberSet, _sorted_unique
from fukaiji.notices.stream.output import _Output
from fukaiji.notices.stream.passes import _Pass, _Tally
from fukaiji.notices.stream.reading import _HEAD_BYTES, _Layout, _plain_layout, _read_layout
from fukaiji.notices.stream.report import MAX_FAULTS, KnownNumbers, ScreenRejected, ScreenReport

DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
DEFAULT_KEY_MEMORY = 64 * 1024 * 1024


def screen_file(
    source: Path | str,
    destination: Path | str,
    exclusions: np.ndarray | Sequence[int],
    *,
    encoding: Encoding | str | None = None,
    column: str = ADDRESSEE_COLUMN,
    strict: bool = False,
    known: KnownNumbers | KnownNumberStream | np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    key_memory: int = DEFAULT_KEY_MEMORY,
    max_faults: int = MAX_FAULTS,
    workers: int | None = None,
    temp_dir: Path | str | None = None,
) -> ScreenReport:
    """Copy ``source`` to ``destination`` without the rows whose number is in ``exclusions``
    and without bad rows; report both. The module's docstring has the rules.

    ``exclusions``: addressee numbers (an int64 array as ``load_exclusions`` returns, or ints).
    ``known``: when given, a row whose number the institution did not assign is a bad row; a
    vectorised predicate (int64 array → bool array, called on the calling thread), an array of
    the known numbers, or, for any number of them, a ``KnownNumberStream`` (checked after the
    pass in bounded memory; a file with unknown numbers is then screened again).
    ``progress``: called after each chunk with the bytes of ``source`` screened so far (out of
    its size); when duplicates force a second pass, it counts from the start again.
    ``workers``: threads scanning chunks (default: the CPUs available, at most 2).
    ``temp_dir``: where the file's numbers (and the known numbers) spill past ``key_memory``
    (default: the system's temporary directory). The output's temporary file is always next
    to ``destination``.

    Raises ``InvalidAddresseeFile`` when the file as a whole cannot be read (no such column,
    broken quoting, an undecodable byte in the header, a NUL byte), and in
    strict mode ``ScreenRejected`` when any row is bad; nothing is written to ``destination``
    then.
    """
    began = time.perf_counter()
    source, destination = Path(source), Path(destination)
    if destination.exists() and os.path.samefile(source, destination):
        raise ValueError("the screened file must not replace the destination file it is read from")
    excluded = _NumberSet(_as_numbers(exclusions, "exclusions"))
    streamed = known if isinstance(known, KnownNumberStream) else None
    predicate: KnownNumbers | None
    if known is None or streamed is not None or callable(known):
        predicate = None if streamed is not None else known  # type: ignore[assignment]
    else:
        predicate = _HashSet(_as_numbers(known, "known")).contains
    with source.open("rb", buffering=0) as file:
        size = os.fstat(file.fileno()).st_size
        run = _Run(
            file=file,
            layout=_read_layout(file.read(_HEAD_BYTES), size, encoding, column),
            excluded=excluded,
            strict=strict,
            max_faults=max_faults,
            chunk_bytes=chunk_bytes,
            workers=workers or _default_workers(),
            progress=progress,
            key_memory=key_memory,
            temp_dir=Path(temp_dir) if temp_dir else None,
            size=size,
        )
        with _Output(destination, os.stat(file.fileno()).st_mode & 0o777) as output:
            tally, repeats, unknown = _first_pass(run, output, predicate, streamed)
            passes = 1
            duplicates = None
            if repeats:
                passes += 1
                duplicates = _find_duplicates(run, tally.last_line)
            if duplicates is not None or len(unknown):
                passes += 1
                output.restart()
                again = run.new_pass(_known_but(predicate, unknown))
                again.duplicates = duplicates
                tally = run.through(again, None if strict else output.fd)
            report = tally.report(run.layout.encoding, began, passes)
            if strict and report.fault_count:
                raise ScreenRejected(report)
            output.commit()
    return report


@dataclass(frozen=True)
class _Run:
    """What every pass over one file shares."""

    file: BinaryIO
    layout: _Layout
    excluded: _NumberSet
    strict: bool
    max_faults: int
    chunk_bytes: int
    workers: int
    progress: Callable[[int], None] | None
    key_memory: int
    temp_dir: Path | None
    size: int

    def new_pass(self, known: KnownNumbers | None) -> _Pass:
        return _Pass(
            self.layout, self.excluded, known, strict=self.strict, max_faults=self.max_faults
        )

    def through(self, screen: _Pass, fd: int | None) -> _Tally:
        return screen.run(self.file, fd, self.chunk_bytes, self.workers, self.progress)


def _first_pass(
    run: _Run, output: _Output, predicate: KnownNumbers | None, known: KnownNumberStream | None
) -> tuple[_Tally, bool, np.ndarray]:
    """Screen the file once, keeping the good rows' numbers; then whether any repeats and which
    are unknown, while the output is being synced."""
    seen = _SeenKeys(run.key_memory, run.size, run.temp_dir)
    try:
        first = run.new_pass(predicate)
        first.seen = seen
        tally = run.through(first, output.fd)
        syncing = output.sync_in_background()
        try:
            repeats, unknown = seen.check(known)
        finally:
            syncing.join()
    finally:
        seen.close()
    return tally, repeats, unknown


def _find_duplicates(run: _Run, last_line: int) -> _Duplicates | None:
    """A pass that only records (number, row) pairs, to mark the later occurrences."""
    store = _KeyStore(run.key_memory // 3, _row_dtype(run.size), run.size, run.temp_dir)
    try:
        collecting = run.new_pass(None)
        collecting.store = store
        run.through(collecting, None)
        return _Duplicates.collect(store.duplicates(), last_line, run.max_faults)
    finally:
        store.close()


def _row_dtype(size: int) -> type:
    return np.uint32 if size < 2**32 else np.int64


def _known_but(predicate: KnownNumbers | None, unknown: np.ndarray) -> KnownNumbers | None:
    """``predicate``, and not one of the ``unknown`` numbers the check after the pass found."""
    if not len(unknown):
        return predicate
    others = _NumberSet(unknown)
    if predicate is None:
        return lambda keys: ~others.contains(keys)
    return lambda keys: np.asarray(predicate(keys), dtype=bool) & ~others.contains(keys)


def _default_workers() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        available = os.cpu_count() or 1
    return max(1, min(2, available))


def load_exclusions(source: Path | str | bytes) -> np.ndarray:
    """The numbers of an exclusion list, as a sorted array of unique int64.

    ``source`` is a path or the file's bytes: a CSV whose header has the column 団体内統合宛名番号
    (same encodings and rules as a destination file), or a plain list of numbers, one a line,
    without a header. Any bad line refuses the whole list (a mangled number on an exclusion list
    would let a protected person through); a number listed twice is harmless and kept once.
    """
    if isinstance(source, bytes | bytearray):
        file: BinaryIO = io.BytesIO(bytes(source))
        size = len(source)
    else:
        file = Path(source).open("rb", buffering=0)  # noqa: SIM115 - closed below
        size = os.fstat(file.fileno()).st_size
    with file:
        head = file.read(_HEAD_BYTES)
        if not head.strip():
            return np.empty(0, np.int64)
        if _names_column(head, ADDRESSEE_COLUMN):
            layout = _read_layout(head, size, None, ADDRESSEE_COLUMN)
        else:
            layout = _plain_layout(head, size)
        reading = _Pass(layout, _NumberSet(np.empty(0, np.int64)), None, max_faults=20)
        numbers: list[np.ndarray] = []
        reading.collect = numbers
        tally = reading.run(file, None, DEFAULT_CHUNK_BYTES, 1, None)
    if tally.fault_count:
        raise InvalidAddresseeFile(
            f"除外リストの {tally.fault_count} 行に誤りがあるため、使えません "
            f"(the exclusion list has {tally.fault_count} bad rows): "
            f"{summarise_faults(tally.faults)}"
        )
    return _sorted_unique(np.concatenate(numbers)) if numbers else np.empty(0, np.int64)


def _names_column(head: bytes, column: str) -> bool:
    """Whether ``head`` names ``column`` (in either encoding): then it is a CSV with a header,
    found as a destination file's is — after any blank records (``,,`` from Excel, a line of a
    full-width space) — and a plain list of numbers never names it."""
    return any(column.encode(codec) in head for codec in ("utf-8", "cp932"))
