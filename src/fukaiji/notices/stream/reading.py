"""Reading a destination file: its encoding, header and column, and its chunks of whole lines;
the faults of the whole file, worded as the small-file reader words them."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from fukaiji.intermediate.addressee_files import (
    _BOM,
    ENCODING_FIELD,
    Encoding,
    InvalidAddresseeFile,
    _check_no_nul,
    _check_not_utf16,
    _column_index,
    _stated_encoding,
    detect_encoding,
)

# A record longer than this is a broken file (an unclosed quote swallowing the rest), not data.
MAX_RECORD_BYTES = 64 * 1024 * 1024
_HEAD_BYTES = 1024 * 1024


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
    chosen = (
        detect_encoding(text_part, column) if encoding is None else _stated_encoding(encoding, head)
    )
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
