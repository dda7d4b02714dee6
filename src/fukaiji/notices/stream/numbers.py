"""Sets of addressee numbers as numpy arrays: the exclusion list and the institution's known
numbers, answered for a whole chunk of numbers at a time."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from fukaiji.intermediate.addressee_files import (
    ADDRESSEE_DIGITS,
)

_MAX_NUMBER = 10**ADDRESSEE_DIGITS
_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)


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
