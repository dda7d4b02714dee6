"""Scanning a chunk: each line's span, state and addressee number, vectorised; the rare lines
the fast path cannot take go through ``csv``."""

from __future__ import annotations

import codecs
import csv
import threading
from dataclasses import dataclass

import numpy as np

from fukaiji.intermediate.addressee_files import (
    ADDRESSEE_DIGITS,
    _fault_of,
    has_undecodable,
    shown_cell,
    undecodable_reason,
)
from fukaiji.notices.stream.numbers import _NumberSet
from fukaiji.notices.stream.reading import (
    _broken_csv,
    _Chunk,
    _ChunkError,
    _Layout,
    _nul_byte,
)

_COMMA, _LF, _CR, _QUOTE = 0x2C, 0x0A, 0x0D, 0x22
_BELOW = 0x2D  # every byte that matters to the CSV structure is below '-'
_U64 = np.uint64
_ASCII_ZEROS = _U64(0x3030303030303030)
_ABOVE_NINE = _U64(0x7676767676767676)  # byte + 0x76 sets bit 7 exactly when byte > 9
_HIGH_BITS = _U64(0x8080808080808080)
_PAIR_MASK = _U64(0x000000FF000000FF)
_MUL_1 = _U64(100 + (1_000_000 << 32))
_MUL_2 = _U64(1 + (10_000 << 32))

# The state of each line of a chunk.
_VALID, _FAULT, _CONTINUATION, _BLANK, _REMOVED = 0, 1, 2, 3, 4


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
            consumed = feed.position
            state[position + 1 : consumed] = _CONTINUATION
            if not any(cell.strip() for cell in record):
                state[position] = _BLANK
                continue
            value = record[layout.index] if layout.index < len(record) else ""
            if has_undecodable(record):
                state[position] = _FAULT
                slow_faults[position] = (shown_cell(value), undecodable_reason(layout.encoding))
                continue
            reason = _fault_of(record, layout.width, value.strip(), {})
            if reason is None:
                state[position] = _VALID
                keys[position] = int(value.strip())
                slow_cells[position] = value
            else:
                state[position] = _FAULT
                slow_faults[position] = (value, reason)
        return len(starts)


class _ChunkFeed:
    """Decoded physical lines of a chunk, from a given line on, for ``csv.reader``; a byte that
    does not decode stays as a lone surrogate, making its record a bad row."""

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
                text = codecs.decode(raw, self.codec, "surrogateescape")
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
