"""The file's numbers after a pass, in bounded memory: whether any repeats, and which are not
numbers of this institution.

During the first pass every good row's number goes into ``_SeenKeys``: a preallocated int64
array of ``budget`` bytes (8 bytes a row, no row numbers: those are only needed when something
is wrong, and then a second pass collects them). Past the budget the numbers spill to hash
partitions on disk, a block at a time. After the pass:

* repeats: each partition (or the array) is sorted in place and neighbours compared;
* unknown numbers: an anti-join with the institution's known numbers, which come as a stream of
  int64 arrays in any order (``KnownNumberStream``, e.g. rows of a server-side cursor) and are
  never held whole: against the sorted array directly, or, once spilled, partitioned to disk by
  the same hash and joined partition by partition. Memory: the budget, plus one block of known
  numbers, plus one byte a number of the partition being joined.

The unknown numbers are kept as a sorted array for the pass that drops them; more than
``MAX_UNKNOWN`` of them is no destination file of this institution, and is refused whole.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fukaiji.intermediate.addressee_files import ADDRESSEE_DIGITS, InvalidAddresseeFile
from fukaiji.notices.stream.numbers import _sorted_unique

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
# Numbers partitioned or joined at a time: a few MiB of temporaries, whatever the sizes.
_BLOCK = 1 << 20
# Numbers sorted into partitions at a time: the sort's temporaries stay at a few MiB.
_SPILL_BLOCK = 1 << 18
MAX_UNKNOWN = 4_000_000


@dataclass(frozen=True)
class KnownNumberStream:
    """The institution's known numbers: ``chunks()`` yields them as int64 arrays (or sequences
    of ints or digit strings), in any order, and may be called more than once."""

    chunks: Callable[[], Iterable[np.ndarray]]

    @classmethod
    def of(cls, numbers: np.ndarray) -> KnownNumberStream:
        return cls(lambda: [numbers])

    def blocks(self) -> Iterator[np.ndarray]:
        for chunk in self.chunks():
            numbers = np.asarray(chunk)
            if numbers.dtype.kind in "US":
                numbers = numbers.astype(np.int64)
            numbers = numbers.astype(np.int64, copy=False).ravel()
            for at in range(0, len(numbers), _BLOCK):
                yield numbers[at : at + _BLOCK]


def too_many_unknown(count: int) -> InvalidAddresseeFile:
    return InvalidAddresseeFile(
        f"この機関の宛名番号ではない番号が {count:,} 件以上あります。"
        "別の機関の宛先ファイルではないか確かめてください"
    )


class _SeenKeys:
    """Every good row's number, for the checks after the pass."""

    def __init__(self, budget: int, file_size: int, temp_dir: Path | None) -> None:
        self.capacity = max(16, budget // 8)
        self.keys = np.empty(0, np.int64)  # grown to ``capacity`` as rows come
        self.held = 0
        self.temp_dir = temp_dir
        self.directory: Path | None = None
        most = max(1, file_size // (ADDRESSEE_DIGITS + 1)) * 8
        self.bits = min(12, max(1, math.ceil(math.log2(max(2, 2 * most / budget)))))

    def add(self, keys: np.ndarray) -> None:
        if not len(self.keys):
            # Untouched pages cost nothing: a small file makes only its part resident, and
            # there is never a copy to a grown array next to the old one.
            self.keys = np.empty(self.capacity, np.int64)
        while len(keys):
            if self.held == len(self.keys):
                self._spill()
            room = min(len(keys), len(self.keys) - self.held)
            self.keys[self.held : self.held + room] = keys[:room]
            self.held += room
            keys = keys[room:]

    def _partition_of(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.view(_U64) * _GOLDEN) >> _U64(64 - self.bits)).astype(np.uint16)

    def _write_partitions(self, keys: np.ndarray, suffix: str) -> None:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="fukaiji-seen-", dir=self.temp_dir))
        for at in range(0, len(keys), _SPILL_BLOCK):
            block = keys[at : at + _SPILL_BLOCK]
            part = self._partition_of(block)
            order = np.argsort(part, kind="stable")
            bounds = np.searchsorted(part[order], np.arange((1 << self.bits) + 1))
            block = block[order]
            for number in np.flatnonzero(np.diff(bounds)).tolist():
                with (self.directory / f"{number}{suffix}").open("ab") as out:
                    block[bounds[number] : bounds[number + 1]].tofile(out)

    def _spill(self) -> None:
        self._write_partitions(self.keys[: self.held], ".keys")
        self.held = 0

    def check(self, known: KnownNumberStream | None) -> tuple[bool, np.ndarray]:
        """Whether any number repeats, and the sorted unknown numbers (empty without
        ``known``)."""
        if self.directory is None:
            keys = self.keys[: self.held]
            keys.sort()
            repeats = bool((keys[1:] == keys[:-1]).any())
            if repeats:
                keys = _unique_in_place(keys)
            return repeats, _unknown(keys, known.blocks() if known else None)
        self._spill()
        self.keys = np.empty(0, np.int64)
        if known is not None:
            for block in known.blocks():
                self._write_partitions(block, ".known")
        repeats, unknown = False, []
        for number in range(1 << self.bits):
            stem = self.directory / str(number)
            keys_file, known_file = stem.with_suffix(".keys"), stem.with_suffix(".known")
            if not keys_file.exists():
                continue
            for keys in _sorted_slices(keys_file, self.capacity):
                if (keys[1:] == keys[:-1]).any():
                    repeats, keys = True, _sorted_unique(keys)
                if known is not None:
                    unknown.append(_unknown(keys, _file_blocks(known_file)))
                    _check_unknown(sum(map(len, unknown)))
            repeats |= keys_file.stat().st_size > self.capacity * 8  # repeats across slices
        found = _sorted_unique(np.concatenate(unknown)) if unknown else np.empty(0, np.int64)
        return repeats, found

    def close(self) -> None:
        self.keys = np.empty(0, np.int64)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def _unknown(keys: np.ndarray, known: Iterable[np.ndarray] | None) -> np.ndarray:
    """The numbers of sorted, unique ``keys`` that ``known`` never names."""
    if known is None or not len(keys):
        return np.empty(0, np.int64)
    found = np.zeros(len(keys), dtype=bool)
    for block in known:
        # Sorted, the searches walk ``keys`` in order (numpy starts each from the last):
        # ten times faster than in the order a file of random numbers gives them.
        block = np.sort(block)
        where = np.searchsorted(keys, block)
        inside = where < len(keys)
        where, block = where[inside], block[inside]
        found[where[keys[where] == block]] = True
    unknown = keys[~found]
    _check_unknown(len(unknown))
    return unknown


def _unique_in_place(keys: np.ndarray) -> np.ndarray:
    """The distinct numbers of sorted ``keys``, compacted into its start a block at a time (no
    copy of the whole array)."""
    kept = 0
    for at in range(0, len(keys), _BLOCK):
        block = keys[at : at + _BLOCK]
        first = np.ones(len(block), dtype=bool)
        first[1:] = block[1:] != block[:-1]
        if at:
            first[0] = block[0] != keys[at - 1]
        chosen = block[first]  # a copy: writing it below cannot overrun what is unread
        keys[kept : kept + len(chosen)] = chosen
        kept += len(chosen)
    return keys[:kept]


def _check_unknown(count: int) -> None:
    if count > MAX_UNKNOWN:
        raise too_many_unknown(MAX_UNKNOWN)


def _sorted_slices(path: Path, capacity: int) -> Iterator[np.ndarray]:
    entries = path.stat().st_size // 8
    for at in range(0, entries, capacity):
        keys = np.fromfile(path, dtype=np.int64, count=capacity, offset=at * 8)
        keys.sort()
        yield keys


def _file_blocks(path: Path) -> Iterator[np.ndarray]:
    if not path.exists():
        return
    entries = path.stat().st_size // 8
    for at in range(0, entries, _BLOCK):
        yield np.fromfile(path, dtype=np.int64, count=_BLOCK, offset=at * 8)
