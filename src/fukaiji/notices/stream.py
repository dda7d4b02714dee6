"""Screen a destination file (宛先ファイル) of any size against the exclusion list, as a stream.

``screen_file`` copies a CSV file of 団体内統合宛名番号 to a new file without the rows whose
number is on the exclusion list and without the rows it cannot screen (bad rows), and reports
every removed row and every bad row by its row number. Pure: files in, a file out; the database
is reached, if at all, through the ``known`` predicate the caller passes.

**The data is never decoded.** The screen works on the file's bytes. That is safe for the three
encodings a destination file comes in (UTF-8, UTF-8 with a BOM, CP932): in UTF-8 every byte of a
multibyte character is >= 0x80, and in CP932 the second byte of a double-byte character is
>= 0x40, so the bytes that carry the CSV structure (``,`` ``"`` CR LF, all < 0x40) and the ASCII
digits (0x30-0x39) never occur inside a Japanese character. A kept row is written out as the
very bytes read, Japanese columns included, whatever the encoding: nothing is decoded and encoded
again, so nothing can be lost or normalised. Only the header and the rare rows that need the slow
path below are decoded (strictly, in the file's encoding); the other columns of the other rows
are copied without being interpreted, so a stray byte there cannot change who is screened out.
The encoding is stated or detected from the first MiB as ``detect_encoding`` does (the header's
Japanese column name decides between UTF-8 and CP932).

The rules are those of ``fukaiji.intermediate.addressee_files`` (the small-file reader), whose
fault texts this module reuses, so the two report the same faults the same way: the header is
the first non-blank record and names the column 団体内統合宛名番号; a row's number is its cell
with surrounding whitespace trimmed, and must be 15 ASCII digits; a record's row number is the
physical line it starts on, the header line counting as 1 (line ends CRLF, LF or a lone CR, as
Python's universal newlines split them); each bad row gets the first of: column count differs
from the header, empty, contains non-digits, not 15 digits, duplicate of an earlier good row (the
later one is the bad row, naming the first) and, when ``known`` is given, not a number of this
institution. Records whose cells are all blank carry no person: they are neither rows nor
faults, and are copied as they are. The header (with its BOM and any blank lines before it) and
the line ends are copied as they are.

How a chunk is read (numpy, vectorised; ``chunk_bytes`` at a time, cut after the last line end):

* one comparison (``byte < 0x2D``) and one ``nonzero`` find every LF, CR, ``,``, ``"`` and NUL
  (and the rarer space, tab and ``!``-``+``, dropped at once). When every line of the chunk is
  the header's number of commas and a line end, the positions reshape into one row per line,
  which gives each line's start, end and the span of the addressee cell without per-line work;
* otherwise the positions are classified per line (commas per line, lone CRs, quotes), and the
  lines the fast path cannot take (a ``"`` in the line, a wrong column count, a cell that is not
  exactly 15 digits) go one record at a time through the ``csv`` module on their decoded text,
  fed line by line so that a quoted cell may span lines, and chunks, exactly as ``csv`` reads it;
* the 15 digit bytes of each cell are gathered as two 64-bit words, checked and turned into an
  int64 with SWAR arithmetic (eight digits by three multiply-and-shift steps);
* exclusion: a hash-indexed byte table of the excluded numbers (about 32 slots a number) rejects
  almost every row with one lookup; the candidates are checked exactly with ``np.searchsorted``
  in the sorted exclusion array;
* the output is the chunk minus the removed lines, written with ``os.writev`` as slices of the
  very buffer read.

Chunks are scanned by ``workers`` threads (numpy releases the GIL), then settled in file order on
the calling thread (row numbers, ``known``, duplicates, faults, tallies), and written by a writer
thread; at most ``workers + 3`` chunk buffers exist at a time.

Duplicates, in bounded memory. A file of 10**8 distinct numbers does not fit in 512 MiB as a
set, so the first pass only records each good row's (number, row) pair: in memory up to
``key_memory`` bytes (12 bytes a row for files under 4 GiB, 16 above), beyond that spilled to
up to 4096 partition files in ``temp_dir``, partitioned by a multiplicative hash of the number
so that equal numbers share a partition. After the pass each partition is read back, at most
``key_memory`` bytes at a time, and sorted (``np.sort``; the pairs are ``lexsort``-ed only when a
number repeats), carrying a table of the numbers already seen from one slice to the next. No
duplicate, the usual case, costs one sort of the numbers and no second pass. With duplicates,
their rows are marked in a bitmap over the row numbers (one bit a line) and the file is screened
a second time, which drops the later occurrences and reports them; the first pass's output is
thrown away. The default ``key_memory`` (128 MiB) holds about 11 million rows: smaller files
never touch the disk for this.

Peak memory is bounded whatever the size of the file: ``(workers + 3) * chunk_bytes`` of chunk
buffers; per scanning thread a mask of ``chunk_bytes`` and 8 bytes per structural byte found
(about 0.5 * ``chunk_bytes`` for a typical file, at most 8 *); ``key_memory`` (about 1.7 times
that while a partition is analysed, after the chunk buffers are gone); the row bitmap (lines / 8
bytes, only with duplicates); the exclusions (about 40 bytes a number) and the kept faults
(``max_faults``). With the defaults (4 MiB chunks, 2 workers) that is some 330 MiB at 10 million
rows, including Python, numpy and the modules fukaiji imports, and no more at 10**8 rows (the
pairs then spill). The temporary disk use is 12 or 16 bytes a good row, only past
``key_memory``.

Reported are all removed rows (``removed_rows``: an ``array('q')`` of row numbers, 8 bytes each,
bounded by the exclusion list since each number is removed at most once, later occurrences
being duplicates) and all faults by count, the first ``max_faults`` of them in full, in row order.

Writes are atomic: the output goes to a temporary file next to the destination (with the source
file's permissions), is fsynced, and is renamed into place only when the screen succeeded. In
strict mode any bad row refuses the whole file (``ScreenRejected``, listing the faults) and
nothing is written.

Slower but still correct: lines holding a ``"`` (a program that quotes every cell) go one by one
through ``csv``, at a few microseconds a line.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import math
import os
import queue
import shutil
import tempfile
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from fukaiji.intermediate.addressee_files import (
    _BOM,
    ADDRESSEE_COLUMN,
    ADDRESSEE_DIGITS,
    ENCODING_FIELD,
    Encoding,
    InvalidAddresseeFile,
    RowFault,
    _check_no_nul,
    _check_not_utf16,
    _column_index,
    _fault_of,
    _stated_encoding,
    detect_encoding,
    summarise_faults,
)

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_KEY_MEMORY",
    "MAX_FAULTS",
    "KnownNumbers",
    "ScreenRejected",
    "ScreenReport",
    "load_exclusions",
    "screen_file",
]

DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
DEFAULT_KEY_MEMORY = 128 * 1024 * 1024
MAX_FAULTS = 10_000
# A record longer than this is a broken file (an unclosed quote swallowing the rest), not data.
MAX_RECORD_BYTES = 64 * 1024 * 1024
_HEAD_BYTES = 1024 * 1024
_MAX_NUMBER = 10**ADDRESSEE_DIGITS
_IOV_MAX = 1024
# Start the kernel's writeback every so many bytes, so that the final fsync has little left.
_WRITEBACK_BYTES = 64 * 1024 * 1024

# Predicate over int64 addressee numbers: True where the institution assigned the number.
KnownNumbers = Callable[[np.ndarray], np.ndarray]

_COMMA, _LF, _CR, _QUOTE = 0x2C, 0x0A, 0x0D, 0x22
_BELOW = 0x2D  # every byte that matters to the CSV structure is below '-'
_U64 = np.uint64
_ASCII_ZEROS = _U64(0x3030303030303030)
_ABOVE_NINE = _U64(0x7676767676767676)  # byte + 0x76 sets bit 7 exactly when byte > 9
_HIGH_BITS = _U64(0x8080808080808080)
_PAIR_MASK = _U64(0x000000FF000000FF)
_MUL_1 = _U64(100 + (1_000_000 << 32))
_MUL_2 = _U64(1 + (10_000 << 32))
_GOLDEN = _U64(0x9E3779B97F4A7C15)

# The state of each line of a chunk.
_VALID, _FAULT, _CONTINUATION, _BLANK, _REMOVED = 0, 1, 2, 3, 4


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenReport:
    encoding: Encoding
    rows: int  # records with data: kept + removed + fault_count (blank records are not rows)
    kept: int
    removed: int  # on the exclusion list
    removed_rows: array  # array('q'): the row numbers of the removed rows, ascending
    faults: list[RowFault]  # the first ``max_faults`` bad rows, in row order
    fault_count: int
    seconds: float
    passes: int = 1  # 2 when duplicates made a second pass necessary
    bytes_read: int = 0

    def __post_init__(self) -> None:
        if self.rows != self.kept + self.removed + self.fault_count:
            raise ValueError("rows must be kept + removed + fault_count")


class ScreenRejected(InvalidAddresseeFile):
    """Strict mode: the file had bad rows, so nothing was written. ``faults`` lists the first
    ``max_faults`` of them in row order, ``fault_count`` counts them all; ``report`` tells the
    rest."""

    def __init__(self, report: ScreenReport) -> None:
        count = report.fault_count
        super().__init__(
            f"{count} 行に誤りがあるため、ファイル全体を受け付けませんでした"
            "（何も書き出していません） "
            f"(strict mode: {count} bad rows, nothing written): {summarise_faults(report.faults)}"
        )
        self.report = report
        self.faults = tuple(report.faults)
        self.fault_count = count


# --- the screen ------------------------------------------------------------------------------


def screen_file(
    source: Path | str,
    destination: Path | str,
    exclusions: np.ndarray | Sequence[int],
    *,
    encoding: Encoding | str | None = None,
    column: str = ADDRESSEE_COLUMN,
    strict: bool = False,
    known: KnownNumbers | np.ndarray | None = None,
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
    vectorised predicate (int64 array → bool array, called on the calling thread) or an array of
    the known numbers.
    ``progress``: called after each chunk with the bytes of ``source`` screened so far (out of
    its size); when duplicates force a second pass, it counts from the start again.
    ``workers``: threads scanning chunks (default: the CPUs available, at most 2).
    ``temp_dir``: where (number, row) pairs spill past ``key_memory`` (default: the system's
    temporary directory). The output's temporary file is always next to ``destination``.

    Raises ``InvalidAddresseeFile`` when the file as a whole cannot be read (no such column,
    broken quoting, an undecodable byte in a row that had to be decoded, a NUL byte), and in
    strict mode ``ScreenRejected`` when any row is bad; nothing is written to ``destination``
    then.
    """
    began = time.perf_counter()
    source, destination = Path(source), Path(destination)
    if destination.exists() and os.path.samefile(source, destination):
        raise ValueError("the screened file must not replace the destination file it is read from")
    excluded = _NumberSet(_as_numbers(exclusions, "exclusions"))
    predicate: KnownNumbers | None
    if known is None or callable(known):
        predicate = known
    else:
        predicate = _HashSet(_as_numbers(known, "known")).contains
    workers = workers or _default_workers()
    with source.open("rb", buffering=0) as file:
        size = os.fstat(file.fileno()).st_size
        layout = _read_layout(file.read(_HEAD_BYTES), size, encoding, column)
        row_dtype = np.uint32 if size < 2**32 else np.int64
        store = _KeyStore(key_memory, row_dtype, size, Path(temp_dir) if temp_dir else None)
        with _Output(destination, os.stat(file.fileno()).st_mode & 0o777) as output:
            try:
                first = _Pass(layout, excluded, predicate, strict=strict, max_faults=max_faults)
                first.store = store
                tally = first.run(file, output.fd, chunk_bytes, workers, progress)
                repeats = _Duplicates.collect(store.duplicates(), tally.last_line, max_faults)
            finally:
                store.close()
            if repeats is not None:
                output.restart()
                second = _Pass(layout, excluded, predicate, strict=strict, max_faults=max_faults)
                second.duplicates = repeats
                target = None if strict else output.fd
                tally = second.run(file, target, chunk_bytes, workers, progress)
            report = tally.report(layout.encoding, began, 1 if repeats is None else 2)
            if strict and report.fault_count:
                raise ScreenRejected(report)
            output.commit()
    return report


def _default_workers() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        available = os.cpu_count() or 1
    return max(1, min(2, available))


class _Output:
    """A temporary file next to the destination, renamed into place by ``commit`` only."""

    def __init__(self, destination: Path, mode: int) -> None:
        self.destination = destination
        self.mode = mode  # the source's: the screened file holds the same kind of data
        self.path: Path | None = None
        self.fd: int | None = None

    def __enter__(self) -> _Output:
        self.restart()
        return self

    def restart(self) -> None:
        self._discard()
        self.fd, name = tempfile.mkstemp(
            dir=self.destination.parent, prefix=f".{self.destination.name}.", suffix=".part"
        )
        self.path = Path(name)
        if hasattr(os, "fchmod"):
            os.fchmod(self.fd, self.mode)

    def commit(self) -> None:
        if self.fd is None or self.path is None:
            raise RuntimeError("nothing to commit")
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None
        os.replace(self.path, self.destination)
        self.path = None
        with contextlib.suppress(OSError):  # make the rename itself durable, where possible
            directory = os.open(self.destination.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def _discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.path = None

    def __exit__(self, *exc_info: object) -> None:
        self._discard()


# --- exclusions ------------------------------------------------------------------------------


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


def _as_numbers(values: np.ndarray | Sequence[int] | Sequence[str], what: str) -> np.ndarray:
    numbers = np.asarray(values)
    if numbers.dtype.kind in "US":
        numbers = numbers.astype(np.int64)
    if numbers.size and numbers.dtype.kind not in "iu":
        raise TypeError(f"{what}: expected integers, got {numbers.dtype}")
    numbers = numbers.astype(np.int64).ravel()
    if len(numbers) > 1 and not (numbers[1:] > numbers[:-1]).all():
        numbers = _sorted_unique(numbers)
    if len(numbers) and (numbers[0] < 0 or numbers[-1] >= _MAX_NUMBER):
        raise ValueError(f"{what}: an addressee number has at most 15 digits")
    return numbers


def _sorted_unique(numbers: np.ndarray) -> np.ndarray:
    # Not np.unique: for int64 it hashes nowadays, some 100 times slower than a sort.
    ordered = np.sort(numbers)
    if len(ordered) < 2:
        return ordered
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return ordered[first]


class _NumberSet:
    """Membership of int64 numbers in a sorted array, with a hashed byte table in front."""

    def __init__(self, numbers: np.ndarray) -> None:
        self.numbers = numbers
        bits = min(26, max(12, math.ceil(math.log2(max(1, len(numbers)) * 32))))
        self._shift = _U64(64 - bits)
        self._table = np.zeros(1 << bits, dtype=bool)
        if len(numbers):
            self._table[self._slots(numbers)] = True

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        slots = np.multiply(keys.view(_U64), _GOLDEN)
        slots >>= self._shift
        return slots.view(np.int64)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        result = np.zeros(len(keys), dtype=bool)
        if not len(self.numbers) or not len(keys):
            return result
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        candidates = np.flatnonzero(self._table[self._slots(keys)])
        if len(candidates):
            wanted = keys[candidates]
            where = np.searchsorted(self.numbers, wanted)
            where[where == len(self.numbers)] = 0
            result[candidates] = self.numbers[where] == wanted
        return result


class _HashSet:
    """Membership of int64 numbers in an open-addressing hash table (linear probing, at most 40 %
    full: 16-32 bytes a number), built and probed a round at a time for all numbers at once.
    For sets that most numbers are in (the institution's known numbers), where a sorted array
    would cost a binary search a row."""

    _EMPTY = -1  # addressee numbers are >= 0

    def __init__(self, numbers: np.ndarray) -> None:
        bits = max(10, math.ceil(math.log2(max(1, len(numbers)) / 0.4)))
        self._mask = (1 << bits) - 1
        self._shift = _U64(64 - bits)
        self._table = np.full(1 << bits, self._EMPTY, dtype=np.int64)
        keys, slots = numbers, self._slots(numbers)
        while len(keys):  # each round: claim the free slots; the losers try the next slot
            free = self._table[slots] == self._EMPTY
            self._table[slots[free]] = keys[free]
            placed = self._table[slots] == keys
            keys, slots = keys[~placed], (slots[~placed] + 1) & self._mask

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        slots = np.multiply(np.ascontiguousarray(keys, dtype=np.int64).view(_U64), _GOLDEN)
        slots >>= self._shift
        return slots.view(np.int64)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        result = np.zeros(len(keys), dtype=bool)
        pending = np.arange(len(keys))
        wanted, slots = keys, self._slots(keys)
        while len(pending):
            found = self._table[slots]
            hit = found == wanted
            result[pending[hit]] = True
            onward = ~hit & (found != self._EMPTY)
            pending, wanted, slots = (
                pending[onward],
                wanted[onward],
                (slots[onward] + 1) & self._mask,
            )
        return result


# --- the file's layout ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    encoding: Encoding
    codec: str  # to decode a data line (the BOM only ever precedes the header)
    width: int  # cells in the header
    index: int  # the addressee column, 0-based
    data_start: int  # byte offset of the first line after the header
    first_line: int  # its line number (the header's first line is 1 unless blank lines precede)


def _read_layout(head: bytes, size: int, encoding: Encoding | str | None, column: str) -> _Layout:
    """Encoding, header and column from the first MiB of the file."""
    if not head:
        raise InvalidAddresseeFile("ファイルが空です (the file is empty)")
    _check_not_utf16(head)
    _check_no_nul(head)
    complete = len(head) == size
    text_part = head if complete else head[: _last_line_end(head, len(head)) + 1]
    chosen = detect_encoding(text_part) if encoding is None else _stated_encoding(encoding, head)
    codec = "cp932" if chosen is Encoding.CP932 else "utf-8"
    lines = text_part.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    if lines and chosen is Encoding.UTF8_BOM:  # the BOM is not part of the text
        lines[0] = lines[0][len(_BOM) :]
        offsets[0] = len(_BOM)
    feed = _LineFeed(lines, codec, offsets)
    reader = csv.reader(feed, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            raise InvalidAddresseeFile(
                "見出し行がありません（空行だけです） "
                "(no header row: the file holds only blank lines)"
                if complete
                else "見出し行がありません（先頭 1 MiB が空行だけです） "
                "(no header row: the first MiB holds only blank lines)"
            ) from None
        except csv.Error as error:
            raise _broken_csv(start, error) from error
        if any(cell.strip() for cell in record):
            break
    index = _column_index(record, column, start)
    return _Layout(chosen, codec, len(record), index, offsets[reader.line_num], reader.line_num + 1)


def _plain_layout(head: bytes, size: int) -> _Layout:
    """A list of numbers without a header: one column, from the first line."""
    _check_not_utf16(head)
    _check_no_nul(head)
    complete = len(head) == size
    text_part = head if complete else head[: _last_line_end(head, len(head)) + 1]
    chosen = detect_encoding(text_part)
    codec = "cp932" if chosen is Encoding.CP932 else "utf-8"
    start = len(_BOM) if chosen is Encoding.UTF8_BOM else 0
    return _Layout(chosen, codec, 1, 0, start, 1)


class _LineFeed:
    """Decoded physical lines for ``csv.reader``."""

    def __init__(self, lines: Sequence[bytes], codec: str, offsets: Sequence[int]) -> None:
        self.lines = lines
        self.position = 0
        self.codec = codec
        self.offsets = offsets  # byte offset in the file of each line, to name a bad byte

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines):
            raise StopIteration
        try:
            text = self.lines[self.position].decode(self.codec)
        except UnicodeDecodeError as error:
            raise _undecodable(self.codec, self.offsets[self.position] + error.start) from error
        self.position += 1
        return text


# The small-file reader's words for the same faults of a whole file (addressee_files._records,
# ._decode and ._check_no_nul build them inline, for a file held in memory).
def _broken_csv(start: int, error: object) -> InvalidAddresseeFile:
    return InvalidAddresseeFile(
        f"{start} 行目から始まる行を CSV として読めません（引用符の閉じ忘れなど） "
        f"(broken CSV quoting in the record starting at line {start}: {error})"
    )


def _undecodable(codec: str, offset: int) -> InvalidAddresseeFile:
    label = Encoding.CP932.label if codec == "cp932" else Encoding.UTF8.label
    return InvalidAddresseeFile(
        f"{label} として読めません（バイト位置 {offset}） "
        f"(not valid {label}: undecodable byte at byte offset {offset})",
        field=ENCODING_FIELD,
    )


def _nul_byte(offset: int) -> InvalidAddresseeFile:
    return InvalidAddresseeFile(
        f"NUL バイトを含みます（バイト位置 {offset}）。UTF-16 で保存されていませんか "
        f"(the file contains a NUL byte at byte offset {offset}; was it saved as UTF-16?)"
    )


def _too_long(offset: int) -> InvalidAddresseeFile:
    return InvalidAddresseeFile(
        f"バイト位置 {offset} から始まる行が {MAX_RECORD_BYTES} バイトを超えます"
        "（引用符の閉じ忘れなど） "
        f"(the record at byte offset {offset} is longer than {MAX_RECORD_BYTES} bytes: "
        "an unclosed quote?)"
    )


def _last_line_end(data: bytes | bytearray, end: int) -> int:
    """Index of the last line end in ``data[:end]`` that is surely complete, or -1.

    A CR as the very last byte may be the first half of a CRLF, so it does not count."""
    return max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end - 1))


# --- reading, scanning and writing chunks -----------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    buffer: bytearray
    size: int  # the chunk is buffer[:size]; it ends after a line end unless at_eof
    offset: int  # where buffer[0] is in the file
    at_eof: bool
    pooled: bool = True


class _Buffers:
    """At most ``limit`` chunk buffers in use; a buffer comes back once it has been written."""

    def __init__(self, limit: int, size: int) -> None:
        self.size = size
        self._free: list[bytearray] = []
        self._permits = threading.Semaphore(limit)
        self._lock = threading.Lock()

    def take(self) -> bytearray:
        self._permits.acquire()
        with self._lock:
            if self._free:
                return self._free.pop()
        return bytearray(self.size)

    def give(self, buffer: bytearray) -> None:
        with self._lock:
            if len(buffer) == self.size:
                self._free.append(buffer)
        self._permits.release()


def _read_chunks(file: BinaryIO, start: int, buffers: _Buffers) -> Iterator[_Chunk]:
    """The file from ``start`` on, in chunks that end after a line end; the last one (which
    may be empty) has ``at_eof``."""
    file.seek(start)
    carry = b""
    offset = start
    while True:
        buffer = buffers.take()
        held = len(carry)
        buffer[:held] = carry
        at_eof = False
        while True:
            with memoryview(buffer) as view:
                while held < len(buffer):
                    got = file.readinto(view[held:])
                    if not got:
                        at_eof = True
                        break
                    held += got
            cut = held if at_eof else _last_line_end(buffer, held) + 1
            if cut > 0 or at_eof:
                break
            if len(buffer) >= MAX_RECORD_BYTES:  # one line longer than that
                buffers.give(buffer)
                raise _too_long(offset)
            buffer = buffer + bytearray(len(buffer))  # the pool drops it when given back
        carry = bytes(buffer[cut:held])
        yield _Chunk(buffer, cut, offset, at_eof)
        offset += cut
        if at_eof:
            return


class _ChunkError(Exception):
    """A fault of the whole file found while scanning a chunk; the line number is only known
    when the chunk is settled in order, so ``make`` takes the chunk's first line number."""

    def __init__(self, make: Callable[[int], InvalidAddresseeFile]) -> None:
        super().__init__("deferred")
        self.make = make


@dataclass
class _Scan:
    """What a chunk holds, line by line (indexes are lines of the chunk, from 0)."""

    chunk: _Chunk
    used: int  # bytes of the complete records (a quoted cell may go on in the next chunk)
    starts: np.ndarray  # byte offsets of each line in the buffer
    stops: np.ndarray  # past the line end
    state: np.ndarray  # _VALID, _FAULT, _CONTINUATION (of a record started above) or _BLANK
    keys: np.ndarray  # the number of each valid line
    excluded: np.ndarray  # bool: valid and on the exclusion list
    slow_faults: dict[int, tuple[str, str]]  # line → (cell as written, reason)
    slow_cells: dict[int, str]  # line → cell as written, for valid lines read by csv
    simple: bool  # every line was read by the fast path: one line a record, none blank


class _Scanner:
    """Scans chunks; pure and safe to call from several threads at once."""

    def __init__(self, layout: _Layout, exclusions: _NumberSet) -> None:
        self.layout = layout
        self.exclusions = exclusions
        self._local = threading.local()

    def scan(self, chunk: _Chunk) -> _Scan:
        buffer, size = chunk.buffer, chunk.size
        data = np.frombuffer(buffer, dtype=np.uint8, count=size)
        starts, stops, counted, cell_start, cell_stop = self._lines(chunk, data)
        count = len(starts)
        fast = counted
        fast &= (cell_stop - cell_start) == ADDRESSEE_DIGITS
        if fast.all():  # the usual chunk: every cell is read here
            good, keys = _parse_cells(data, cell_start)
            fast &= good
        else:
            keys = np.zeros(count, dtype=np.int64)
            where = np.flatnonzero(fast)
            if len(where):
                good, numbers = _parse_cells(data, cell_start[where])
                keys[where] = numbers
                fast[where[~good]] = False
        state = np.where(fast, np.int8(_VALID), np.int8(_FAULT))
        slow_faults: dict[int, tuple[str, str]] = {}
        slow_cells: dict[int, str] = {}
        complete = count
        if not fast.all():
            complete = self._slow(
                chunk, starts, stops, np.flatnonzero(~fast), state, keys, slow_faults, slow_cells
            )
            if complete < count:
                starts, stops = starts[:complete], stops[:complete]
                state, keys = state[:complete], keys[:complete]
        excluded = np.zeros(complete, dtype=bool)
        valid = np.flatnonzero(state == _VALID)
        if len(valid):
            excluded[valid] = self.exclusions.contains(keys[valid])
        used = int(stops[-1]) if complete else 0
        simple = complete == count and not slow_faults and not slow_cells and bool(fast.all())
        return _Scan(
            chunk, used, starts, stops, state, keys, excluded, slow_faults, slow_cells, simple
        )

    def _low_bytes(self, data: np.ndarray) -> np.ndarray:
        """Positions of the bytes below 0x2D: LF, CR, comma, quote and NUL are all there (with
        the rarer space, tab and ``!``-``+``), found by one comparison and one nonzero."""
        local = self._local
        if getattr(local, "size", -1) < len(data):
            local.mask = np.empty(len(data), dtype=bool)
            local.size = len(data)
        mask = local.mask[: len(data)]
        np.less(data, _BELOW, out=mask)
        return np.flatnonzero(mask)

    def _lines(
        self, chunk: _Chunk, data: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each line's start and stop, whether it has the header's number of cells (and no
        quote), and for those the span of the addressee cell."""
        width, index = self.layout.width, self.layout.index
        size = len(data)
        hits = self._low_bytes(data)
        kinds = data[hits]
        # The usual chunk first: every line is width - 1 commas, [CR,] LF, so the positions
        # reshape into one row per line (which also rules out quotes, NULs and lone CRs).
        has_cr = bool(len(kinds) >= width and kinds[width - 1] == _CR)
        per_line = width + has_cr
        if len(hits) and len(hits) % per_line == 0 and hits[-1] == size - 1:
            table = hits.reshape(-1, per_line)
            expected = np.full(per_line, _COMMA, dtype=np.uint8)
            expected[-1] = _LF
            if has_cr:
                expected[-2] = _CR
            if (kinds.reshape(-1, per_line) == expected).all() and (
                not has_cr or (table[:, -1] == table[:, -2] + 1).all()
            ):
                stops = table[:, -1] + 1
                starts = np.empty_like(stops)
                starts[0] = 0
                starts[1:] = stops[:-1]
                cell_start = starts if index == 0 else table[:, index - 1] + 1
                counted = np.ones(len(stops), dtype=bool)
                return starts, stops, counted, cell_start, table[:, index]
        structural = kinds == _LF
        if width > 1:
            structural |= kinds == _COMMA
        structural |= kinds == _CR
        quotes = hits[:0]
        if not structural.all():
            nul = np.flatnonzero(kinds == 0)
            if len(nul):
                offset = chunk.offset + int(hits[nul[0]])
                raise _ChunkError(lambda _line: _nul_byte(offset))
            quotes = hits[kinds == _QUOTE]
            hits, kinds = hits[structural], kinds[structural]
        return self._lines_general(size, hits, kinds, quotes, chunk.at_eof)

    def _lines_general(
        self, size: int, hits: np.ndarray, kinds: np.ndarray, quotes: np.ndarray, at_eof: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        width, index = self.layout.width, self.layout.index
        is_lf = kinds == _LF
        is_cr = kinds == _CR
        cr_lf = np.zeros(len(hits), dtype=bool)  # a CR that is the first half of a CRLF
        if len(hits) > 1:
            cr_lf[:-1] = is_cr[:-1] & is_lf[1:] & (hits[1:] == hits[:-1] + 1)
        ends = is_lf | (is_cr & ~cr_lf)
        if at_eof and size and (not len(hits) or not ends[-1] or hits[-1] != size - 1):
            # The last line has no line end: give it a virtual one just past the data.
            hits = np.append(hits, size)
            kinds = np.append(kinds, np.uint8(_LF))
            ends = np.append(ends, True)
        end_at = np.flatnonzero(ends)  # indexes into hits
        stops = np.minimum(hits[end_at] + 1, size)
        starts = np.zeros_like(stops)
        starts[1:] = stops[:-1]
        commas = np.cumsum(kinds == _COMMA)
        per_line = commas[end_at]
        per_line[1:] -= commas[end_at[:-1]]
        counted = per_line == width - 1
        first = np.zeros(len(end_at), dtype=np.int64)  # index in hits of each line's first hit
        first[1:] = end_at[:-1] + 1
        # A counted line's hits run: its commas, [the CR of a CRLF,] its end.
        cell_start = starts.copy()
        if index > 0:
            cell_start[counted] = hits[first[counted] + index - 1] + 1
        cell_stop = np.zeros(len(end_at), dtype=np.int64)
        cell_stop[counted] = hits[first[counted] + index]
        if len(quotes):
            counted[np.searchsorted(stops, quotes, side="right")] = False
        return starts, stops, counted, cell_start, cell_stop

    def _slow(
        self,
        chunk: _Chunk,
        starts: np.ndarray,
        stops: np.ndarray,
        pending: np.ndarray,
        state: np.ndarray,
        keys: np.ndarray,
        slow_faults: dict[int, tuple[str, str]],
        slow_cells: dict[int, str],
    ) -> int:
        """Read the records that start at the ``pending`` lines with csv; returns how many
        lines of the chunk are complete (a quoted cell may go on in the next chunk)."""
        layout = self.layout
        feed = _ChunkFeed(chunk, starts.tolist(), stops.tolist(), layout.codec)
        consumed = 0
        for position in pending.tolist():
            if position < consumed:
                continue  # a line inside a record read already
            feed.restart(position)
            try:
                record = next(csv.reader(feed, strict=True))
            except csv.Error as error:
                if feed.exhausted and not chunk.at_eof:
                    return position  # the record goes on in the next chunk
                raise _ChunkError(
                    lambda line, p=position, e=str(error): _broken_csv(line + p, e)
                ) from error
            except _Undecodable as error:
                offset = chunk.offset + error.offset
                raise _ChunkError(lambda _line, o=offset: _undecodable(layout.codec, o)) from error
            consumed = feed.position
            state[position + 1 : consumed] = _CONTINUATION
            if not any(cell.strip() for cell in record):
                state[position] = _BLANK
                continue
            value = record[layout.index] if layout.index < len(record) else ""
            reason = _fault_of(record, layout.width, value.strip(), {})
            if reason is None:
                state[position] = _VALID
                keys[position] = int(value.strip())
                slow_cells[position] = value
            else:
                state[position] = _FAULT
                slow_faults[position] = (value, reason)
        return len(starts)


class _Undecodable(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class _ChunkFeed:
    """Decoded physical lines of a chunk, from a given line on, for ``csv.reader``."""

    def __init__(self, chunk: _Chunk, starts: list[int], stops: list[int], codec: str) -> None:
        self.buffer = chunk.buffer
        self.starts = starts
        self.stops = stops
        self.codec = codec
        self.position = 0
        self.exhausted = False

    def restart(self, position: int) -> None:
        self.position = position
        self.exhausted = False

    def __iter__(self) -> _ChunkFeed:
        return self

    def __next__(self) -> str:
        if self.position >= len(self.starts):
            self.exhausted = True
            raise StopIteration
        start = self.starts[self.position]
        with memoryview(self.buffer) as view:
            raw = view[start : self.stops[self.position]]
            try:
                text = codecs.decode(raw, self.codec)
            except UnicodeDecodeError as error:
                raise _Undecodable(start + error.start) from error
            finally:
                raw.release()
        self.position += 1
        return text


def _parse_cells(data: np.ndarray, cell_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether the 15 bytes at each start are ASCII digits, and their value as int64.

    The cell is read as two little-endian 64-bit words, bytes 0-7 and bytes 7-14; the first is
    shifted up a byte with an ASCII '0' put in front, so that each word holds eight digits (the
    most significant in its lowest byte): digits 1-7 and digits 8-15."""
    if len(data) < ADDRESSEE_DIGITS + 1:
        return np.zeros(len(cell_start), dtype=bool), np.zeros(len(cell_start), dtype=np.int64)
    # A cell starting in the last 15 bytes cannot hold 15 digits and a separator: clamp it (it is
    # read from the wrong place, so its ``good`` is set False below).
    inside = cell_start <= len(data) - ADDRESSEE_DIGITS
    where = np.minimum(cell_start, len(data) - ADDRESSEE_DIGITS)
    words = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    high = words[where]  # fancy indexing copies: both are ours to change
    low = words[where + 7]
    high <<= _U64(8)
    high |= _U64(0x30)
    high -= _ASCII_ZEROS  # each byte now 0-9 if it was a digit
    low -= _ASCII_ZEROS
    check = high + _ABOVE_NINE
    check |= high
    other = low + _ABOVE_NINE
    other |= low
    check |= other
    check &= _HIGH_BITS
    good = check == 0
    good &= inside
    _eight_digits(high)
    _eight_digits(low)
    high *= _U64(100_000_000)
    high += low
    return good, high.view(np.int64)


def _eight_digits(words: np.ndarray) -> None:
    """Lemire's conversion of eight digits (bytes 0-9, the first in the lowest byte), in place:
    pairs, then quads, then the eight."""
    shifted = words >> _U64(8)
    words *= _U64(10)
    words += shifted
    pairs = words & _PAIR_MASK
    pairs *= _MUL_1
    words >>= _U64(16)
    words &= _PAIR_MASK
    words *= _MUL_2
    words += pairs
    words >>= _U64(32)


class _Writer:
    """Writes slices of chunk buffers with ``os.writev`` on a thread of its own, in order, and
    gives each buffer back once written."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        self.error: BaseException | None = None
        self.written = 0
        self._started_writeback = 0
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="fukaiji-screen-writer")
        self._thread.start()

    def put(self, pieces: list, done: Callable[[], None] | None) -> None:
        self._jobs.put((pieces, done))

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            pieces, done = job
            try:
                if pieces and self.error is None and self.fd is not None:
                    self._write(pieces)
            except BaseException as error:  # handed to the settling thread by close()
                self.error = error
            finally:
                if done is not None:
                    done()

    def _write(self, pieces: list) -> None:
        for piece in pieces:
            if isinstance(piece, _Stretches):
                # Sliced here, a batch at a time, so that no thread holds the GIL for long.
                with memoryview(piece.buffer) as view:
                    for at in range(0, len(piece.firsts), _IOV_MAX):
                        firsts = piece.firsts[at : at + _IOV_MAX].tolist()
                        lasts = piece.lasts[at : at + _IOV_MAX].tolist()
                        self._writev(list(map(view.__getitem__, map(slice, firsts, lasts))))
            else:
                self._writev([piece])
        if self.written - self._started_writeback >= _WRITEBACK_BYTES and hasattr(
            os, "posix_fadvise"
        ):
            # Start writing these pages to disk now (the final fsync then waits for less), and
            # let the kernel drop them from its cache once clean.
            os.posix_fadvise(
                self.fd,
                self._started_writeback,
                self.written - self._started_writeback,
                os.POSIX_FADV_DONTNEED,
            )
            self._started_writeback = self.written

    def _writev(self, batch: list) -> None:
        wrote = os.writev(self.fd, batch)
        total = sum(map(len, batch))
        if wrote < total:  # a short write: finish the batch
            rest = b"".join(batch)[wrote:]
            while rest:
                rest = rest[os.write(self.fd, rest) :]
        self.written += total


# --- one pass over the file ------------------------------------------------------------------


@dataclass
class _Tally:
    rows: int = 0
    kept: int = 0
    removed: int = 0
    fault_count: int = 0
    faults: list[RowFault] = field(default_factory=list)
    removed_rows: list[np.ndarray] = field(default_factory=list)
    last_line: int = 0
    bytes_read: int = 0

    def report(self, encoding: Encoding, began: float, passes: int) -> ScreenReport:
        removed_rows = array("q")
        if self.removed_rows:
            removed_rows.frombytes(np.concatenate(self.removed_rows).astype("<i8").tobytes())
        return ScreenReport(
            encoding=encoding,
            rows=self.rows,
            kept=self.kept,
            removed=self.removed,
            removed_rows=removed_rows,
            faults=self.faults,
            fault_count=self.fault_count,
            seconds=time.perf_counter() - began,
            passes=passes,
            bytes_read=self.bytes_read,
        )


class _Pass:
    """Screen the file once: scan chunks on worker threads, settle them in order here, write
    the kept lines (unless ``fd`` is None) on the writer thread."""

    def __init__(
        self,
        layout: _Layout,
        exclusions: _NumberSet,
        known: KnownNumbers | None,
        *,
        strict: bool = False,
        max_faults: int = MAX_FAULTS,
    ) -> None:
        self.layout = layout
        self.scanner = _Scanner(layout, exclusions)
        self.known = known
        self.strict = strict
        self.max_faults = max_faults
        self.store: _KeyStore | None = None  # first pass: record (number, row) of good rows
        self.duplicates: _Duplicates | None = None  # second pass: the rows to drop
        self.collect: list[np.ndarray] | None = None  # exclusion lists: gather the numbers
        self.tally = _Tally()

    def run(
        self,
        file: BinaryIO,
        fd: int | None,
        chunk_bytes: int,
        workers: int,
        progress: Callable[[int], None] | None,
    ) -> _Tally:
        layout = self.layout
        self.writing = fd is not None
        self.line = layout.first_line
        self.expected = layout.data_start  # the first byte not screened yet
        self.leftover = b""  # the start of a record that goes on in the next chunk
        self.progress = progress
        buffers = _Buffers(workers + 3, max(chunk_bytes, 64))
        self.buffers = buffers
        self.writer = _Writer(fd)
        try:
            if self.writing:
                file.seek(0)
                self.writer.put([file.read(layout.data_start)], None)
            pending: deque[tuple[_Chunk, Future[_Scan]]] = deque()
            with ThreadPoolExecutor(workers, thread_name_prefix="fukaiji-screen") as pool:
                try:
                    for chunk in _read_chunks(file, layout.data_start, buffers):
                        pending.append((chunk, pool.submit(self.scanner.scan, chunk)))
                        while len(pending) > workers:
                            self._settle(*pending.popleft())
                    while pending:
                        self._settle(*pending.popleft())
                finally:
                    for _chunk, future in pending:  # after a refusal: let the scans end
                        future.cancel()
        finally:
            self.writer.close()
            del self.buffers, self.writer  # the chunk buffers: not kept for what follows
        self.tally.last_line = self.line - 1
        self.tally.bytes_read = self.expected
        return self.tally

    def _settle(self, chunk: _Chunk, future: Future[_Scan]) -> None:
        if self.writer.error is not None:  # e.g. the disk is full: no point reading on
            raise self.writer.error
        if chunk.offset != self.expected:
            # The chunk before ended inside a record, so this one was scanned from the wrong
            # place: scan the record's start and this chunk together.
            with contextlib.suppress(Exception):
                future.result()
            joined = bytearray(self.leftover) + chunk.buffer[: chunk.size]
            if chunk.pooled:
                self.buffers.give(chunk.buffer)
            if len(joined) > MAX_RECORD_BYTES and not chunk.at_eof:
                raise _broken_csv(self.line, f"a record longer than {MAX_RECORD_BYTES} bytes")
            chunk = _Chunk(joined, len(joined), self.expected, chunk.at_eof, pooled=False)
            future = Future()
            try:
                future.set_result(self.scanner.scan(chunk))
            except Exception as error:
                future.set_exception(error)
        try:
            scan = future.result()
        except _ChunkError as error:
            raise error.make(self.line) from error.__cause__
        self.leftover = bytes(chunk.buffer[scan.used : chunk.size])
        lines = len(scan.starts)
        if lines:
            self._account(scan)
        done = (lambda buffer=chunk.buffer: self.buffers.give(buffer)) if chunk.pooled else None
        self.writer.put(self._pieces(scan) if self.writing and lines else [], done)
        self.line += lines
        self.expected += scan.used
        if self.progress is not None:
            self.progress(self.expected)

    def _account(self, scan: _Scan) -> None:
        tally = self.tally
        state = scan.state
        valid = np.flatnonzero(state == _VALID)
        if self.store is not None and len(valid):
            keys = scan.keys if len(valid) == len(state) else scan.keys[valid]
            self.store.add(keys, valid + self.line)
        if self.collect is not None and len(valid):
            self.collect.append(scan.keys[valid])
        repeated = valid[:0]
        if self.duplicates is not None and len(valid):
            marked = self.duplicates.marked(valid + self.line)
            repeated = valid[marked]
            state[repeated] = _FAULT
            valid = valid[~marked]
        unknown = valid[:0]
        if self.known is not None and len(valid):
            answer = np.asarray(self.known(scan.keys[valid]), dtype=bool)
            if answer.shape != valid.shape:
                raise ValueError("known() must return one bool per number")
            unknown = valid[~answer]
            state[unknown] = _FAULT
            valid = valid[answer]
        removed = valid[scan.excluded[valid]]
        if len(removed):
            state[removed] = _REMOVED
            tally.removed_rows.append(removed + self.line)
        counts = np.bincount(state, minlength=5)
        tally.kept += int(counts[_VALID])
        tally.removed += int(counts[_REMOVED])
        faults = int(counts[_FAULT])
        tally.rows += int(counts[_VALID] + counts[_REMOVED]) + faults
        tally.fault_count += faults
        if faults and self.strict:
            self.writing = False
        room = self.max_faults - len(tally.faults)
        if faults and room > 0:
            slow = np.fromiter(scan.slow_faults, dtype=np.int64, count=len(scan.slow_faults))
            shown = np.sort(np.concatenate([slow, repeated, unknown]))[:room]
            repeats = set(repeated.tolist())
            tally.faults.extend(self._fault(scan, position, repeats) for position in shown.tolist())

    def _fault(self, scan: _Scan, position: int, repeats: set[int]) -> RowFault:
        row = self.line + position
        if position in scan.slow_faults:
            value, reason = scan.slow_faults[position]
            return RowFault(row, value, reason)
        number = f"{int(scan.keys[position]):015d}"
        if position in repeats and self.duplicates is not None:
            value = scan.slow_cells.get(position, number)
            first = self.duplicates.firsts[row]
            return RowFault(row, value, _fault_of([value], 1, number, {number: first}))
        from fukaiji.intermediate.addressees import UNKNOWN_HERE  # the addressee register's words

        return RowFault(row, number, UNKNOWN_HERE)

    def _pieces(self, scan: _Scan) -> list:
        """The kept lines of the chunk: the whole chunk, or the stretches between the dropped
        lines as (buffer, starts, stops), which the writer slices a batch at a time (empty
        stretches between neighbours cost writev nothing)."""
        state = scan.state
        if scan.simple:  # one line a record, and none blank
            dropped = np.flatnonzero(state != _VALID)
        else:
            keep = (state == _VALID) | (state == _BLANK)
            continuation = state == _CONTINUATION
            if continuation.any():  # a record's later lines go where its first line goes
                first = np.maximum.accumulate(np.where(continuation, 0, np.arange(len(state))))
                keep = keep[first]
            dropped = np.flatnonzero(~keep)
        buffer = scan.chunk.buffer
        if not len(dropped):
            return [memoryview(buffer)[: scan.used]]
        firsts = np.empty(len(dropped) + 1, dtype=np.int64)
        firsts[0] = 0
        firsts[1:] = scan.stops[dropped]
        lasts = np.empty(len(dropped) + 1, dtype=np.int64)
        lasts[:-1] = scan.starts[dropped]
        lasts[-1] = scan.used
        return [_Stretches(buffer, firsts, lasts)]


@dataclass(frozen=True)
class _Stretches:
    """Stretches ``buffer[firsts[i]:lasts[i]]`` to be written in order."""

    buffer: bytearray
    firsts: np.ndarray
    lasts: np.ndarray


# --- duplicates -----------------------------------------------------------------------------


class _KeyStore:
    """Every good row's (number, row), to find duplicates after the pass in bounded memory."""

    def __init__(self, budget: int, row_dtype: type, file_size: int, temp_dir: Path | None):
        self.row_dtype = np.dtype(row_dtype)
        entry = 8 + self.row_dtype.itemsize
        self.capacity = max(1024, budget // entry)  # entries held before they spill
        self.pieces: list[tuple[np.ndarray, np.ndarray]] = []  # (numbers, rows) per chunk
        self.held = 0
        self.temp_dir = temp_dir
        self.directory: Path | None = None
        # Enough partitions that each holds at most half the budget even if every line of the
        # file were a 16-byte row.
        most = max(1, file_size // (ADDRESSEE_DIGITS + 1)) * entry
        self.bits = min(12, max(1, math.ceil(math.log2(max(2, 2 * most / budget)))))

    def add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Keep ``keys`` (not copied: the caller does not change it again) and their rows."""
        self.pieces.append((keys, rows.astype(self.row_dtype)))
        self.held += len(keys)
        if self.held >= self.capacity:
            self._spill()

    def _entries(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.pieces

    def _spill(self) -> None:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="fukaiji-screen-", dir=self.temp_dir))
        count = 1 << self.bits
        shift = _U64(64 - self.bits)
        pieces = []
        for keys, rows in self._entries():
            part = ((keys.view(_U64) * _GOLDEN) >> shift).astype(np.uint16)
            order = np.argsort(part, kind="stable")  # keeps row order within a partition
            bounds = np.searchsorted(part[order], np.arange(count + 1))
            keys[:] = keys[order]  # in place: one piece's copy at a time, not the budget's
            rows[:] = rows[order]
            pieces.append((keys, rows, bounds))
        for number in range(count):
            stem = self.directory / str(number)
            with (
                stem.with_suffix(".keys").open("ab") as keys_out,
                stem.with_suffix(".rows").open("ab") as rows_out,
            ):
                for keys, rows, bounds in pieces:
                    first, last = bounds[number], bounds[number + 1]
                    if first < last:
                        keys[first:last].tofile(keys_out)
                        rows[first:last].tofile(rows_out)
        self.pieces.clear()
        self.held = 0

    def duplicates(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(later rows, first rows) of every repeated number, partition by partition."""
        if self.directory is None:
            yield from _duplicates_of([self._entries])
            return
        self._spill()
        for number in range(1 << self.bits):
            stem = self.directory / str(number)
            if stem.with_suffix(".keys").exists():
                yield from _duplicates_of(_slices(stem, self.row_dtype, self.capacity))

    def close(self) -> None:
        self.pieces.clear()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


_Loader = Callable[[], list[tuple[np.ndarray, np.ndarray]]]


def _slices(stem: Path, row_dtype: np.dtype, capacity: int) -> list[_Loader]:
    """Loaders of a partition's entries, at most ``capacity`` at a time."""
    keys, rows = stem.with_suffix(".keys"), stem.with_suffix(".rows")
    entries = keys.stat().st_size // 8

    def load(at: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [
            (
                np.fromfile(keys, dtype=np.int64, count=capacity, offset=at * 8),
                np.fromfile(rows, dtype=row_dtype, count=capacity, offset=at * row_dtype.itemsize),
            )
        ]

    return [lambda at=at: load(at) for at in range(0, entries, capacity)]


def _duplicates_of(slices: Sequence[_Loader]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Scan (number, row) entries in row order, slice by slice, carrying a table of the numbers
    already seen (sorted numbers and their first rows). With one slice and no repeat, the usual
    case, this is one in-place sort of the numbers."""
    seen_keys = np.empty(0, np.int64)
    seen_rows = np.empty(0, np.int64)
    for number, load in enumerate(slices):
        last = number == len(slices) - 1
        blocks = load()
        if not sum(len(keys) for keys, _rows in blocks):
            continue
        keys = np.concatenate([keys for keys, _rows in blocks])
        if not len(seen_keys):
            keys.sort()
            if last and not (keys[1:] == keys[:-1]).any():
                return
            keys = np.concatenate([keys for keys, _rows in blocks])
            old = np.zeros(len(keys), dtype=bool)
            where = np.zeros(len(keys), dtype=np.int64)
        else:
            where = np.searchsorted(seen_keys, keys)
            where[where == len(seen_keys)] = 0
            old = seen_keys[where] == keys
        rows = np.concatenate([rows for _keys, rows in blocks]).astype(np.int64)
        del blocks
        if old.any():
            yield rows[old], seen_rows[where[old]]
        new_keys, new_rows = keys[~old], rows[~old]
        del keys, rows, old, where
        order = np.lexsort((new_rows, new_keys))
        new_keys, new_rows = new_keys[order], new_rows[order]
        del order
        first = np.ones(len(new_keys), dtype=bool)
        first[1:] = new_keys[1:] != new_keys[:-1]
        if not first.all():
            group_first = new_rows[first][np.cumsum(first) - 1]
            yield new_rows[~first], group_first[~first]
        if not last:
            merged_keys = np.concatenate([seen_keys, new_keys[first]])
            merged_rows = np.concatenate([seen_rows, new_rows[first]])
            order = np.argsort(merged_keys, kind="stable")
            seen_keys, seen_rows = merged_keys[order], merged_rows[order]


@dataclass
class _Duplicates:
    """The rows to drop as later occurrences, as a bitmap over row numbers, and the first row
    of the ``limit`` lowest of them (only those can be among the faults reported in full)."""

    bitmap: np.ndarray
    firsts: dict[int, int]
    count: int

    @classmethod
    def collect(
        cls, pairs: Iterator[tuple[np.ndarray, np.ndarray]], last_row: int, limit: int
    ) -> _Duplicates | None:
        bitmap = np.zeros(last_row // 8 + 1, dtype=np.uint8)
        best_rows = np.empty(0, np.int64)
        best_firsts = np.empty(0, np.int64)
        count = 0
        for rows, firsts in pairs:
            count += len(rows)
            np.bitwise_or.at(bitmap, rows >> 3, (1 << (rows & 7)).astype(np.uint8))
            best_rows = np.concatenate([best_rows, rows])
            best_firsts = np.concatenate([best_firsts, firsts])
            if len(best_rows) > limit:
                keep = np.argpartition(best_rows, limit)[:limit]
                best_rows, best_firsts = best_rows[keep], best_firsts[keep]
        if not count:
            return None
        return cls(bitmap, dict(zip(best_rows.tolist(), best_firsts.tolist(), strict=True)), count)

    def marked(self, rows: np.ndarray) -> np.ndarray:
        return ((self.bitmap[rows >> 3] >> (rows & 7).astype(np.uint8)) & 1).astype(bool)
