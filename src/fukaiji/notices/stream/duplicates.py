"""Finding the later occurrences of a number in bounded memory: every good row's (number, row),
spilled to hash partitions past a budget, sorted partition by partition."""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fukaiji.intermediate.addressee_files import (
    ADDRESSEE_DIGITS,
)

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)


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
