"""Writing the screened file: kept lines as slices of the buffers read, on a writer thread, to
a temporary file renamed into place only when the screen succeeded."""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_IOV_MAX = 1024
# Start the kernel's writeback every so many bytes, so that the final fsync has little left.
_WRITEBACK_BYTES = 64 * 1024 * 1024


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

    def sync_in_background(self) -> threading.Thread:
        """Start the fsync the commit needs, so that the disk works while the numbers are
        checked (the commit's own fsync then finds little or nothing left to write)."""
        fd = self.fd

        def sync() -> None:
            with contextlib.suppress(OSError):  # the commit's fsync reports any error
                os.fsync(fd)  # type: ignore[arg-type]

        thread = threading.Thread(target=sync, name="fukaiji-screen-sync")
        thread.start()
        return thread

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


@dataclass(frozen=True)
class _Stretches:
    """Stretches ``buffer[firsts[i]:lasts[i]]`` to be written in order."""

    buffer: bytearray
    firsts: np.ndarray
    lasts: np.ndarray


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
