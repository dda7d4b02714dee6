"""One pass over the file: chunks scanned on worker threads, settled in file order on the
calling thread (row numbers, duplicates, known numbers, faults, tallies), written by the writer."""

from __future__ import annotations

import contextlib
import time
from array import array
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from fukaiji.intermediate.addressee_files import (
    Encoding,
    RowFault,
    _fault_of,
)
from fukaiji.notices.stream import reading
from fukaiji.notices.stream.duplicates import _Duplicates, _KeyStore
from fukaiji.notices.stream.known import _SeenKeys
from fukaiji.notices.stream.numbers import _NumberSet
from fukaiji.notices.stream.output import _Stretches, _Writer
from fukaiji.notices.stream.reading import (
    _broken_csv,
    _Buffers,
    _Chunk,
    _ChunkError,
    _Layout,
    _read_chunks,
)
from fukaiji.notices.stream.report import MAX_FAULTS, KnownNumbers, ScreenReport
from fukaiji.notices.stream.rows import (
    _BLANK,
    _CONTINUATION,
    _FAULT,
    _REMOVED,
    _VALID,
    _Scan,
    _Scanner,
)


@dataclass
class _Tally:
    rows: int = 0
    kept: int = 0
    removed: int = 0
    blank: int = 0
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
            blank_records=self.blank,
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
        self.seen: _SeenKeys | None = None  # first pass: the numbers of the good rows
        self.store: _KeyStore | None = None  # with repeats: (number, row) of good rows
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
            if len(joined) > reading.MAX_RECORD_BYTES and not chunk.at_eof:
                raise _broken_csv(
                    self.line, f"a record longer than {reading.MAX_RECORD_BYTES} bytes"
                )
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
        if self.seen is not None and len(valid):
            self.seen.add(scan.keys if len(valid) == len(state) else scan.keys[valid])
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
        tally.blank += int(counts[_BLANK])
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
            keep = state == _VALID  # a blank record is skipped, as the small-file reader does
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
