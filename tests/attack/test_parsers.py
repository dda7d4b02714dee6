"""Fuzzing every parser that takes outside input (issue 10, item 2): each bad input gets a clear
error and changes nothing.

Attacked here, with Hypothesis:

* destination files and paper ledgers as bytes (``read_addressee_csv``): files built by a small
  model of their own (so that the expected rows and faults are known without asking ``csv``), in
  UTF-8, UTF-8 with a BOM or CP932, with quoted cells holding commas, quotes and line breaks,
  padded and full-width numbers, CRLF/LF/CR mixed from line to line; then broken at the byte
  level: NUL bytes, stray quotes, truncated multibyte characters, a BOM in front of CP932, a row
  in the other encoding, random bytes, huge cells;
* the streaming screen (``fukaiji.notices.stream.screen_file``) on the same files, against the
  small reader and the stdlib, and its promise to leave no half-written file behind;
* identifier strings (every kind's ``parse``) on any text, surrogates and NUL included;
* the legal-basis table, the shipped one mutated cell by cell;
* paper-ledger imports and destination uploads through their services, on the real database:
  a refused file changes no row and writes no audit entry.

Regression tests of the defects found are at the end of each section; they fail until fixed.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.audit.models import AuditEntry
from fukaiji.errors import DomainError
from fukaiji.identifiers import (
    IDENTIFIER_KINDS,
    AddresseeNumber,
    InstitutionSpecificCode,
    InvalidIdentifier,
    LocalGovernmentCode,
    MyNumber,
    ResidentRecordCode,
    all_local_governments,
)
from fukaiji.intermediate.addressee_files import (
    ADDRESSEE_COLUMN,
    ENCODING_FIELD,
    FILE_FIELD,
    AddresseeFile,
    Encoding,
    InvalidAddresseeFile,
    has_undecodable,
    read_addressee_csv,
    shown_cell,
)
from fukaiji.intermediate.addressees import UNKNOWN_HERE
from fukaiji.network.errors import InvalidLegalBasisTable
from fukaiji.network.institutions import get_department, get_institution
from fukaiji.network.legal_basis import COLUMNS, SHIPPED_FILE, parse_legal_basis
from fukaiji.notices import service as notices
from fukaiji.notices.errors import DestinationRejected
from fukaiji.notices.models import DestinationFault, DestinationFile, DestinationRow
from fukaiji.protection import ledger
from fukaiji.protection.models import LedgerEntry, LedgerImport
from fukaiji.protection.service import Viewer
from fukaiji.registry import service as registry


def fuzz(examples: int) -> settings:
    # FUKAIJI_FUZZ_SCALE=20 (say) for a long hunt; the default keeps the file near a minute.
    return settings(
        max_examples=examples * int(os.environ.get("FUKAIJI_FUZZ_SCALE", "1")),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Database examples share the test's one database; each counts rows before and after itself.
DB_EXAMPLES = 50

# --- a model of destination files --------------------------------------------------------------

ENCODINGS = {"utf-8": Encoding.UTF8, "utf-8-sig": Encoding.UTF8_BOM, "cp932": Encoding.CP932}
GOOD = ("012345678901234", "987654321098765", "111111111111111", "000000000000001")
# 表, ソ and 能 end in 0x5C (a backslash) in CP932; ① and 髙 are CP932 but not Shift_JIS.
JAPANESE = "山田花子髙橋一郎大阪府市北区①～ー　ｱｲｳ表ソ能"
TEXT_ALPHABET = JAPANESE + "abc xyz019-,\"'\r\n\t\x0b\x1c"
UTF8_ONLY = "\x85\u2028\xa0🙂\u200b٣"  # fine in UTF-8, not in CP932
PADDING = st.sampled_from(["", " ", "\t", "\u3000", "  ", "\x0b", "\x1c", "\x85", "\u2028"])
ODD_NUMBERS = [
    "",
    " ",
    "\u3000",
    "12345",
    "01234567890123",  # 14 digits
    "0123456789012345",  # 16
    "１２３４５６７８９０１２３４５",  # full-width: looks right, is retyped
    "12345678901234５",
    "0123456789A1234",
    "x" * 15,
    "123456789018",  # 12 digits: could be a 個人番号 in the wrong column
    "٠١٢٣٤٥٦٧٨٩٠١٢٣٤",  # Arabic-Indic digits: isdigit() but not ASCII
    "012 345 678 901 234",
    "+12345678901234",
]
LINE_ENDS = st.sampled_from(["\r\n", "\n", "\r"])
_BREAK = re.compile(r"\r\n|\r|\n")


def fits(text: str, encoding: str) -> str:
    """The characters of ``text`` that ``encoding`` can carry."""
    if encoding != "cp932":
        return text
    kept = []
    for char in text:
        try:
            char.encode("cp932")
        except UnicodeEncodeError:
            continue
        kept.append(char)
    return "".join(kept)


def quoted(cell: str, force: bool) -> str:
    if force or any(char in cell for char in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def blank(cells: list[str] | tuple[str, ...]) -> bool:
    return not any(cell.strip() for cell in cells)


@dataclass(frozen=True)
class Expected:
    """What a reader must make of a record: a row (number) or a fault (value, kind)."""

    line: int
    cells: tuple[str, ...]
    number: str | None = None
    value: str | None = None
    kind: tuple = ()


@dataclass(frozen=True)
class Built:
    data: bytes
    encoding: Encoding
    header: tuple[str, ...]
    index: int
    header_line: int
    expected: tuple[Expected, ...]

    @property
    def rows(self) -> list[Expected]:
        return [item for item in self.expected if item.number is not None]

    @property
    def faults(self) -> list[Expected]:
        return [item for item in self.expected if item.number is None]


def classify(
    records: list[tuple[int, tuple[str, ...]]],
    width: int,
    index: int,
    decoded: Callable[[int], bool] = lambda _line: True,
) -> tuple[Expected, ...]:
    """The documented rules (addressee_files' docstring), written out again: the first fault
    of a byte that does not decode (in a record that is ``decoded``), column count, empty,
    non-digits, length, duplicate of an earlier good row."""
    expected: list[Expected] = []
    first: dict[str, int] = {}
    for line, cells in records:
        if blank(cells):
            continue
        value = cells[index] if index < len(cells) else ""
        number = value.strip()
        kind: tuple = ()
        if has_undecodable(list(cells)) and decoded(line):
            kind = ("undecodable",)
            value = shown_cell(value)
        elif len(cells) != width:
            kind = ("columns", len(cells), width)
        elif not number:
            kind = ("empty",)
        elif not all(char in "0123456789" for char in number):
            kind = ("non-digits",)
        elif len(number) != 15:
            kind = ("length", len(number))
        elif number in first:
            kind = ("duplicate", first[number])
        if kind:
            expected.append(Expected(line, cells, value=value, kind=kind))
        else:
            first[number] = line
            expected.append(Expected(line, cells, number=number))
    return tuple(expected)


_KINDS = [
    (re.compile(r"\(column count differs from the header: (\d+), not (\d+)\)$"), "columns"),
    (re.compile(r"\(empty\)$"), "empty"),
    (re.compile(r"\(contains non-digits\)$"), "non-digits"),
    (re.compile(r"\(not 15 digits: (\d+) digits\)$"), "length"),
    (re.compile(r"\(duplicate of row (\d+)\)$"), "duplicate"),
    (re.compile(r"として読めないバイトを含みます"), "undecodable"),
]


def kind_of(reason: str) -> tuple:
    for pattern, name in _KINDS:
        match = pattern.search(reason)
        if match:
            return (name, *map(int, match.groups()))
    if reason == UNKNOWN_HERE:
        return ("unknown",)
    raise AssertionError(f"a reason that names no rule: {reason!r}")


@st.composite
def model_files(
    draw: st.DrawFn, pool: tuple[str, ...] = GOOD, huge: bool = False, lead: bool = True
) -> Built:
    """A destination file as a spreadsheet (or a careless program) might write it, with the
    rows and faults it must give worked out from the model, not from ``csv``."""
    codec = draw(st.sampled_from(list(ENCODINGS)))
    alphabet = TEXT_ALPHABET + (UTF8_ONLY if codec != "cp932" else "")
    text = st.text(alphabet=alphabet, max_size=10)
    if huge:
        # A cell past csv's default field limit (131072), as a pasted document would make it.
        text = st.one_of(text, st.sampled_from([131_071, 131_073, 200_000]).map("名".__mul__))
    width = draw(st.integers(1, 4))
    index = draw(st.integers(0, width - 1))
    header = [
        f"{draw(st.sampled_from(['氏名', '住所', 'a', 'b c', '備考']))}{i}" for i in range(width)
    ]
    header[index] = draw(PADDING) + ADDRESSEE_COLUMN + draw(PADDING)
    header = [fits(cell, codec) for cell in header]

    number = st.one_of(
        st.sampled_from(pool),
        st.tuples(PADDING, st.sampled_from(pool), PADDING).map("".join),
        st.sampled_from(ODD_NUMBERS),
        text,
    )
    records: list[list[str]] = []
    # A quarter of the files are tidy: distinct good numbers, blank records, nothing else.
    tidy = draw(st.integers(0, 3)) == 0
    unique = iter(draw(st.lists(st.sampled_from(pool), unique=True)))
    for _ in range(draw(st.integers(0, 12))):
        shape = draw(st.integers(0, 9))
        if tidy and shape != 0:
            number_ = next(unique, None)
            if number_ is None:
                continue
            cells = [draw(text) for _ in range(width)]
            cells[index] = draw(PADDING) + number_ + draw(PADDING)
            records.append([fits(cell, codec) for cell in cells])
            continue
        if shape == 0:  # a blank record: an empty line, or cells of spaces (",,")
            records.append([draw(st.sampled_from(["", " ", "\u3000"])) for _ in range(width)])
            continue
        cells = [draw(text) for _ in range(width)]
        cells[index] = draw(number)
        if shape == 1:  # a cell too many or too few
            cells = [*cells, draw(text)] if draw(st.booleans()) or width == 1 else cells[:-1]
        records.append([fits(cell, codec) for cell in cells])

    out = ""
    for _ in range(draw(st.integers(0, 2 if lead else 0))):  # blank lines before the header
        out += draw(st.sampled_from(["", " ", ",,"])) + draw(LINE_ENDS)
    # Lines are counted in the text written so far, as universal newlines count them, so an
    # empty line after a lone CR (the two make one CRLF) does not throw the model off.
    header_line = 1 + len(_BREAK.findall(out))
    out += ",".join(quoted(cell, draw(st.booleans())) for cell in header) + draw(LINE_ENDS)
    placed: list[tuple[int, tuple[str, ...]]] = []
    for number_, cells in enumerate(records):
        line = 1 + len(_BREAK.findall(out))
        force = draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
        out += ",".join(quoted(cell, f) for cell, f in zip(cells, force, strict=True))
        last = number_ == len(records) - 1
        out += draw(st.sampled_from(["\r\n", "\n", "\r", ""])) if last else draw(LINE_ENDS)
        placed.append((line, tuple(cells)))
    return Built(
        out.encode(codec),
        ENCODINGS[codec],
        tuple(header),
        index,
        header_line,
        classify(placed, width, index),
    )


# Byte-level damage. Each is (name, position as a fraction of the file, argument).
MUTATIONS = st.tuples(
    # Weighted towards damage that leaves a readable file, so that reads are checked too.
    st.sampled_from(
        [
            "nul",
            "quote",
            "quote",
            "drop-byte",
            "truncate",
            "high-byte",
            "bom",
            "line-end",
            "line-end",
            "random",
            "random",
            "other-encoding",
            "drop-line",
            "drop-line",
        ]
    ),
    st.floats(0, 1),
    st.binary(min_size=1, max_size=6),
)


def mutate(data: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    for name, where, extra in mutations:
        at = int(where * len(data))
        if name == "nul":
            data = data[:at] + b"\x00" + data[at:]
        elif name == "quote":
            data = data[:at] + b'"' + data[at:]
        elif name == "drop-byte" and data:  # may cut a multibyte character in two
            at = min(at, len(data) - 1)
            data = data[:at] + data[at + 1 :]
        elif name == "truncate":
            data = data[:at]
        elif name == "high-byte":  # a lead byte without its trail, or a stray trail byte
            data = data[:at] + bytes([0x80 | extra[0]]) + data[at:]
        elif name == "bom":  # Notepad's BOM in front of whatever the file is
            data = b"\xef\xbb\xbf" + data
        elif name == "line-end":  # one CRLF becomes LF, CR or CR CR
            other = (b"\n", b"\r", b"\r\r")[extra[0] % 3]
            data = data[:at] + data[at:].replace(b"\r\n", other, 1)
        elif name == "random":  # ASCII: commas, quotes, control characters, digits
            data = data[:at] + bytes(byte & 0x7F or 0x2C for byte in extra) + data[at:]
        elif name == "other-encoding":  # one row pasted from a file of the other encoding
            row = f"{GOOD[0]},山田　花子\r\n"
            data = data + (row.encode("cp932") if extra[0] % 2 else row.encode())
        elif name == "drop-line":
            lines = data.splitlines(keepends=True)
            if lines:
                del lines[min(int(where * len(lines)), len(lines) - 1)]
            data = b"".join(lines)
    return data


def expected_of(read: AddresseeFile) -> list[tuple]:
    return [(row.row_number, row.addressee_number, row.fields) for row in read.rows] + [
        (fault.row_number, fault.value, kind_of(fault.reason)) for fault in read.faults
    ]


def model_of(built: Built) -> list[tuple]:
    return [(item.line, item.number, item.cells) for item in built.rows] + [
        (item.line, item.value, item.kind) for item in built.faults
    ]


def check_refusal(refusal: InvalidAddresseeFile, column: str = ADDRESSEE_COLUMN) -> None:
    """A clear error: a field the user knows, a Japanese and an English text."""
    assert refusal.field in (FILE_FIELD, ENCODING_FIELD, column)
    assert str(refusal).startswith(f"{refusal.field}: ")
    assert re.search(r"[ぁ-んァ-ヶ一-龠]", refusal.message), refusal.message
    assert re.search(r"\([A-Za-z].*\)", refusal.message, re.S), refusal.message


def stdlib_records(data: bytes, encoding: Encoding) -> list[tuple[int, tuple[str, ...]]]:
    """Every record of the file with the line it starts on, by ``csv`` over the decoded text."""
    body = data[3:] if encoding is Encoding.UTF8_BOM else data
    codec = "cp932" if encoding is Encoding.CP932 else "utf-8"
    text = body.decode(codec, "surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records, start = [], 1
    for record in reader:
        records.append((start, tuple(record), reader.line_num))
        start = reader.line_num + 1
    return records


def check_read(read: AddresseeFile, data: bytes) -> None:
    """What every successful read must satisfy, whatever the file."""
    body = data[3:] if read.encoding is Encoding.UTF8_BOM else data
    undecodable = {f.row_number for f in read.faults if kind_of(f.reason) == ("undecodable",)}
    if not undecodable:
        body.decode("cp932" if read.encoding is Encoding.CP932 else "utf-8")  # decodes strictly
    assert [cell.strip() for cell in read.header].count(ADDRESSEE_COLUMN) == 1
    index = [cell.strip() for cell in read.header].index(ADDRESSEE_COLUMN)
    numbers = [row.addressee_number for row in read.rows]
    assert all(re.fullmatch(r"[0-9]{15}", number) for number in numbers)
    assert len(set(numbers)) == len(numbers)
    for row in read.rows:
        assert len(row.fields) == len(read.header)
        assert row.fields[index].strip() == row.addressee_number
    lines = [row.row_number for row in read.rows] + [fault.row_number for fault in read.faults]
    assert len(set(lines)) == len(lines)
    assert [row.row_number for row in read.rows] == sorted(row.row_number for row in read.rows)
    assert [f.row_number for f in read.faults] == sorted(f.row_number for f in read.faults)
    for fault in read.faults:
        kind_of(fault.reason)
        if re.fullmatch(r"\s*[0-9]{12}\s*", fault.value):
            assert "12" in fault.shown_value and fault.value.strip() not in fault.shown_value
    # Nothing dropped, nothing invented: exactly the non-blank records after the header.
    records = [(line, cells) for line, cells, _ in stdlib_records(data, read.encoding)]
    non_blank = [(line, cells) for line, cells in records if not blank(cells)]
    header_line, header = non_blank[0]
    assert header == read.header
    by_line = dict(non_blank[1:])
    assert sorted(lines) == sorted(by_line)
    for row in read.rows:
        assert by_line[row.row_number] == row.fields
        assert not has_undecodable(list(row.fields))
    for fault in read.faults:
        cells = by_line[fault.row_number]
        assert fault.value == shown_cell(cells[index] if index < len(cells) else "")
        assert (fault.row_number in undecodable) == has_undecodable(list(cells))
    assert min(lines, default=header_line + 1) > header_line


# --- the small reader --------------------------------------------------------------------------


@fuzz(200)
@given(built=model_files())
def test_a_well_formed_file_gives_exactly_the_rows_and_faults_of_the_model(built: Built) -> None:
    read = read_addressee_csv(built.data)

    assert read.encoding is built.encoding
    assert read.header == built.header
    assert sorted(expected_of(read), key=str) == sorted(model_of(built), key=str)
    check_read(read, built.data)


@fuzz(300)
@given(
    built=model_files(),
    mutations=st.lists(MUTATIONS, min_size=1, max_size=3),
    stated=st.sampled_from(
        [None, None, None, "utf-8", "utf-8-sig", "cp932", "shift_jis", "latin-1", "utf-16", ""]
    ),
)
def test_a_damaged_file_is_refused_or_read_without_losing_a_record(
    built: Built, mutations, stated
) -> None:
    data = mutate(built.data, mutations)
    note(repr(data))
    try:
        read = read_addressee_csv(data, encoding=stated)
    except InvalidAddresseeFile as refusal:
        event(f"refused: {refusal.message.split(' (')[-1][:30]}")
        check_refusal(refusal)
        return
    event(f"read: {'with' if read.faults else 'no'} faults")
    check_read(read, data)


@fuzz(200)
@given(data=st.binary(max_size=400), stated=st.sampled_from([None, "utf-8", "cp932"]))
def test_random_bytes_behind_a_header_are_refused_or_read(data: bytes, stated) -> None:
    for prefix in (
        b"",
        f"{ADDRESSEE_COLUMN},x\r\n".encode(),
        "団体内統合宛名番号\n".encode("cp932"),
    ):
        try:
            read = read_addressee_csv(prefix + data, encoding=stated)
        except InvalidAddresseeFile as refusal:
            check_refusal(refusal)
            continue
        check_read(read, prefix + data)


@fuzz(8)
@given(built=model_files(huge=True))
def test_huge_cells_are_read_or_refused_naming_the_line(built: Built) -> None:
    try:
        read = read_addressee_csv(built.data)
    except InvalidAddresseeFile as refusal:
        check_refusal(refusal)
        # The only refusal a well-formed file can earn is the size of a cell, at its line.
        huge = [
            line
            for line, cells, _ in stdlib_records_unlimited(built.data, built.encoding)
            if any(len(cell) > csv.field_size_limit() for cell in cells)
        ]
        assert huge, refusal.message
        assert f"line {huge[0]}" in refusal.message
        return
    assert sorted(expected_of(read), key=str) == sorted(model_of(built), key=str)


def stdlib_records_unlimited(data: bytes, encoding: Encoding):
    limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        return stdlib_records(data, encoding)
    finally:
        csv.field_size_limit(limit)


def test_a_file_at_the_size_limit_is_read_and_one_byte_more_is_refused() -> None:
    data = f"{ADDRESSEE_COLUMN}\r\n{GOOD[0]}\r\n".encode()

    assert read_addressee_csv(data, max_bytes=len(data)).addressee_numbers == (GOOD[0],)
    with pytest.raises(InvalidAddresseeFile) as caught:
        read_addressee_csv(data + b"\n", max_bytes=len(data))
    assert f"limit of {len(data)}" in caught.value.message


# Defects found.


@pytest.mark.parametrize("separator", [" ", "-"])
def test_a_12_digit_number_written_in_groups_is_not_shown(separator: str) -> None:
    """A 個人番号 is usually written 1234 5678 9018 or 1234-5678-9018, and ``MyNumber.parse``
    reads it so; typed into the number column it must be hidden like the bare 12 digits."""
    grouped = separator.join(["1234", "5678", "9018"])
    data = f"{ADDRESSEE_COLUMN},氏名\r\n{grouped},山田　花子\r\n".encode()
    assert str(MyNumber.parse(grouped)) == "123456789018"

    (fault,) = read_addressee_csv(data).faults

    assert fault.row_number == 2
    assert "1234" not in fault.shown_value and "9018" not in fault.shown_value


def test_a_file_without_a_header_does_not_echo_a_12_digit_number() -> None:
    """The reader's own rule ("the header is a data record; echoing it would copy a person's
    details into a log") is only applied when the first record holds a 15-digit number: a list
    of 個人番号 and names without a header row is echoed, number and name, in the refusal."""
    data = "123456789018,山田花子\r\n987654321098,鈴木一郎\r\n".encode()

    with pytest.raises(InvalidAddresseeFile) as caught:
        read_addressee_csv(data)

    assert "123456789018" not in caught.value.message
    assert "山田花子" not in caught.value.message


# --- the streaming screen ----------------------------------------------------------------------


def _stream():
    return pytest.importorskip(
        "fukaiji.notices.stream",
        reason="fukaiji.notices.stream (screen_file) is not there yet or does not import",
    )


def stream_reference(
    data: bytes, encoding: Encoding, excluded: set[str], known: set[str] | None
) -> tuple[bytes, list[tuple], list[int]]:
    """Output, faults and removed rows of a screen, from ``csv`` and the file's own lines."""
    records = stdlib_records(data, encoding)
    lines = data.splitlines(keepends=True)
    non_blank = [(line, cells) for line, cells, _ in records if not blank(cells)]
    header_line, header = non_blank[0]
    header_end = next(end for line, _, end in records if line == header_line)
    index = [cell.strip() for cell in header].index(ADDRESSEE_COLUMN)
    data_records = [(line, cells) for line, cells, _ in records if line > header_line]
    spans = {line: end for line, _, end in records}

    def decoded(line: int) -> bool:
        """Whether the stream decodes the record: all but its fast path's lines, one physical
        line of the header's cell count, no quote, the number cell exactly 15 ASCII digits."""
        raw = lines[line - 1].rstrip(b"\r\n")
        cells = raw.split(b",")
        return (
            spans[line] != line
            or b'"' in raw
            or len(cells) != len(header)
            or re.fullmatch(rb"[0-9]{15}", cells[index]) is None
        )

    expected = classify(data_records, len(header), index, decoded)
    dropped: set[int] = set()
    faults = [(item.line, item.value, item.kind) for item in expected if item.number is None]
    dropped.update(item.line for item in expected if item.number is None)
    removed = []
    for item in expected:
        if item.number is None:
            continue
        if known is not None and item.number not in known:
            faults.append((item.line, item.number, ("unknown",)))
            dropped.add(item.line)
        elif item.number in excluded:
            removed.append(item.line)
            dropped.add(item.line)
    out = lines[:header_end]
    for line, cells, end in records:
        if line > header_line and line not in dropped and not blank(cells):
            out.extend(lines[line - 1 : end])
    return b"".join(out), sorted(faults), sorted(removed)


def nothing_left_behind(directory: Path, source: Path, destination: Path, before: bytes | None):
    assert sorted(os.listdir(directory)) == sorted(
        [source.name] + ([destination.name] if before is not None else [])
    ), "a temporary or half-written file was left behind"
    if before is None:
        assert not destination.exists()
    else:
        assert destination.read_bytes() == before


CHUNKS = st.sampled_from([1, 64, 97, 1 << 20])


@fuzz(200)
@given(
    built=model_files(),
    mutations=st.lists(MUTATIONS, max_size=3),
    excluded=st.sets(st.sampled_from(GOOD)),
    known=st.one_of(st.none(), st.sets(st.sampled_from(GOOD))),
    chunk_bytes=CHUNKS,
    workers=st.sampled_from([1, 2]),
)
def test_screen_file_reads_any_file_as_the_small_reader_does(
    tmp_path_factory, built, mutations, excluded, known, chunk_bytes, workers
) -> None:
    stream = _stream()
    import numpy as np

    data = mutate(built.data, mutations)
    note(repr(data))
    directory = tmp_path_factory.mktemp("screen")
    source, destination = directory / "宛先.csv", directory / "screened.csv"
    source.write_bytes(data)
    try:
        small = read_addressee_csv(data)
    except InvalidAddresseeFile as refusal:
        small, small_refusal = None, refusal
    try:
        report = stream.screen_file(
            source,
            destination,
            np.array(sorted(map(int, excluded)), dtype=np.int64),
            known=None if known is None else np.array(sorted(map(int, known)), dtype=np.int64),
            chunk_bytes=chunk_bytes,
            workers=workers,
        )
    except InvalidAddresseeFile as refusal:
        event("both refused" if small is None else "only the stream refused")
        check_refusal(refusal)
        nothing_left_behind(directory, source, destination, None)
        assert small is None, f"the stream refused what the small reader reads: {refusal}"
        return
    event(
        "both read"
        if small is not None
        else f"only the stream read (small: {small_refusal.message.split(' (')[-1][:25]})"
    )
    # The stream decodes only what it must, so it may take a file whose untouched cells the
    # small reader cannot decode; any other refusal of the small reader it must share.
    if small is None:
        assert small_refusal.field == ENCODING_FIELD, small_refusal.message
        encoding = report.encoding
    else:
        encoding = small.encoding
        assert report.encoding is encoding
    out, faults, removed = stream_reference(data, encoding, excluded, known)
    assert destination.read_bytes() == out
    assert sorted((f.row_number, f.value, kind_of(f.reason)) for f in report.faults) == faults
    assert report.removed_rows.tolist() == removed
    assert report.fault_count == len(faults)
    assert report.rows == report.kept + report.removed + report.fault_count
    assert sorted(os.listdir(directory)) == sorted([source.name, destination.name])


@fuzz(100)
@given(
    built=model_files(),
    mutations=st.lists(MUTATIONS, max_size=2),
    chunk_bytes=CHUNKS,
    earlier=st.sampled_from([None, b"an earlier screening\r\n", b""]),
)
def test_a_strict_refusal_writes_nothing_and_keeps_the_earlier_file(
    tmp_path_factory, built, mutations, chunk_bytes, earlier
) -> None:
    stream = _stream()
    data = mutate(built.data, mutations)
    directory = tmp_path_factory.mktemp("strict")
    source, destination = directory / "宛先.csv", directory / "screened.csv"
    source.write_bytes(data)
    if earlier is not None:
        destination.write_bytes(earlier)
    try:
        report = stream.screen_file(
            source, destination, [int(GOOD[0])], strict=True, chunk_bytes=chunk_bytes, workers=1
        )
    except InvalidAddresseeFile as refusal:
        event(f"refused ({type(refusal).__name__}), earlier file: {earlier is not None}")
        check_refusal(refusal)
        nothing_left_behind(directory, source, destination, earlier)
        if isinstance(refusal, stream.ScreenRejected):
            assert refusal.fault_count == refusal.report.fault_count >= 1
            assert len(refusal.faults) == min(refusal.fault_count, stream.MAX_FAULTS)
        return
    assert report.fault_count == 0
    lenient = directory / "lenient.csv"
    again = stream.screen_file(source, lenient, [int(GOOD[0])], chunk_bytes=chunk_bytes)
    assert destination.read_bytes() == lenient.read_bytes()
    assert (again.kept, again.removed, again.fault_count) == (report.kept, report.removed, 0)


BIG_ROWS = 18_000
BIG_FILE = (
    f"{ADDRESSEE_COLUMN},氏名,住所\r\n"
    + "".join(f"{n:015d},山田　花子,大阪府大阪市北区梅田1丁目\r\n" for n in range(BIG_ROWS))
).encode()


@fuzz(8)
@given(
    damage=st.sampled_from([b"\x00", b'"', b"\xff", b"\x81\x0a"]),
    where=st.floats(0.85, 0.99),
    chunk_bytes=st.sampled_from([4096, 1 << 20]),
)
def test_damage_past_the_first_mib_is_judged_as_the_small_reader_judges_it(
    tmp_path_factory, damage, where, chunk_bytes
) -> None:
    """The stream reads its head (1 MiB) at once and the rest in chunks: damage in the rest must
    refuse the file as surely, with the same words, and leave nothing behind; a byte that does
    not decode is a fault of its row only (the header chose the encoding)."""
    stream = _stream()
    body = BIG_FILE
    assert 0.85 * len(body) > 1024 * 1024  # past the head
    at = int(where * len(body))
    at = body.index(b"\r\n", at) + 2 + 16  # inside the name cell of a row
    row = body[:at].count(b"\n") + 1
    data = body[:at] + damage + body[at:]
    directory = tmp_path_factory.mktemp("big")
    source, destination = directory / "宛先.csv", directory / "screened.csv"
    source.write_bytes(data)
    if damage in (b"\x00", b'"'):
        with pytest.raises(InvalidAddresseeFile) as small:
            read_addressee_csv(data)
        with pytest.raises(InvalidAddresseeFile) as refused:
            stream.screen_file(source, destination, [], chunk_bytes=chunk_bytes)
        nothing_left_behind(directory, source, destination, None)
        check_refusal(refused.value)
        assert refused.value.message == small.value.message
        return
    read = read_addressee_csv(data)
    assert read.faults[0].row_number == row
    assert kind_of(read.faults[0].reason) == ("undecodable",)
    report = stream.screen_file(source, destination, [], chunk_bytes=chunk_bytes)
    if damage == b"\xff":
        # In a cell the stream never decodes: taken, copied byte for byte.
        assert (report.rows, report.kept, report.fault_count) == (BIG_ROWS, BIG_ROWS, 0)
        assert destination.read_bytes() == data
    else:  # the line end split the row: both halves are decoded, and both are bad rows
        assert report.faults == list(read.faults)
        assert len(report.faults) == 2


@fuzz(150)
# No blank records before the header here: test_an_exclusion_list_may_have_blank_rows_before_
# its_header is the regression test of that defect.
@given(built=model_files(lead=False), mutations=st.lists(MUTATIONS, max_size=2))
def test_an_exclusion_list_with_any_bad_row_is_refused_whole(built, mutations) -> None:
    """A mangled number on an exclusion list would let a protected person through: the list is
    taken whole or not at all (a number listed twice is harmless). Without the column in its
    first line, it is a plain list of numbers."""
    stream = _stream()
    data = mutate(built.data, mutations)
    try:
        small = read_addressee_csv(data)
    except InvalidAddresseeFile:
        small = None
    try:
        numbers = stream.load_exclusions(data)
    except InvalidAddresseeFile as refusal:
        event("refused")
        check_refusal(refusal)
        if small is not None:
            assert [f for f in small.faults if kind_of(f.reason)[0] != "duplicate"]
        return
    if small is None:  # damage took the header: read as a plain list, which it may be
        event("loaded as a plain list")
        assert all(re.search(b"(?<![0-9])%015d(?![0-9])" % n, data) for n in numbers.tolist())
        return
    event("loaded")
    assert not [f for f in small.faults if kind_of(f.reason)[0] != "duplicate"]
    assert numbers.tolist() == sorted({int(number) for number in small.addressee_numbers})


# Defects found.


@pytest.mark.parametrize("blank_line", [",,", "\u3000"])
def test_an_exclusion_list_may_have_blank_rows_before_its_header(blank_line: str) -> None:
    """``load_exclusions`` decides header or plain list by the first line whose bytes are not
    ASCII whitespace (``_names_column``), not by the first non-blank record as destination
    files do: Excel's ",," for a touched empty row above the header turns the list into a
    "plain list" whose header and every row are then bad rows, and the list is refused."""
    stream = _stream()
    data = f"{blank_line}\r\n{ADDRESSEE_COLUMN},氏名\r\n{GOOD[0]},山田\r\n".encode("cp932")
    assert read_addressee_csv(data).addressee_numbers == (GOOD[0],)

    assert stream.load_exclusions(data).tolist() == [int(GOOD[0])]


@pytest.mark.parametrize("size", [131_073, 1 << 20])
def test_a_huge_cell_is_treated_alike_quoted_or_not_by_both_readers(tmp_path: Path, size) -> None:
    """A 1 MiB 備考 cell in an otherwise good file. The small reader refuses it ("broken CSV
    quoting", from csv's 128 KiB field limit); the stream takes it when the cell is unquoted
    (its fast path never calls csv) and refuses it when the cell is quoted. One file, three
    answers: the rules are meant to be the same (the docstring of fukaiji.notices.stream)."""
    stream = _stream()
    outcomes = {}
    for name, cell in [("unquoted", "名" * size), ("quoted", '"' + "名" * size + ',"')]:
        data = f"{ADDRESSEE_COLUMN},備考\r\n{GOOD[0]},{cell}\r\n{GOOD[1]},x\r\n".encode()
        source = tmp_path / f"{name}.csv"
        source.write_bytes(data)
        for reader, read in [
            ("small", lambda data=data: read_addressee_csv(data).addressee_numbers),
            ("stream", lambda s=source: stream.screen_file(s, tmp_path / "out.csv", []).kept),
        ]:
            try:
                outcomes[name, reader] = ("read", read())
            except InvalidAddresseeFile as refusal:
                outcomes[name, reader] = ("refused", refusal.message)
    kinds = {key: outcome[0] for key, outcome in outcomes.items()}
    assert len(set(kinds.values())) == 1, kinds


# --- identifiers --------------------------------------------------------------------------------

KINDS = [
    MyNumber,
    ResidentRecordCode,
    LocalGovernmentCode,
    AddresseeNumber,
    InstitutionSpecificCode,
]
# Any code point: surrogates, NUL, controls, full-width, combining marks.
ANY_TEXT = st.text(
    st.one_of(
        st.characters(exclude_categories=()),
        st.characters(categories=["Cs"]),  # lone surrogates, as surrogateescape makes them
        st.sampled_from(list("\x000123456789０１２３４５６７８９①²٣ー－ 　-\ufeffAQZ27ａ")),
    ),
    max_size=60,
)
DIGITISH = "0123456789０１２３４５６７８９①²٣ABCQZ27ａq -ー　\u200b"
NOISE = " \u3000\t\n-‐‑‒–—―−ー\u200b\ufeff\u00ad"


def my_number_check_digit(body: str) -> str:
    """番号法施行令 第八条, written out: weights 2..7, 2..6 from the right; mod 11."""
    total = 0
    for n, digit in enumerate(reversed(body), start=1):
        total += int(digit) * (n + 1 if n <= 6 else n - 5)
    remainder = total % 11
    return "0" if remainder <= 1 else str(11 - remainder)


def local_government_check_digit(body: str) -> str:
    total = sum(weight * int(d) for weight, d in zip((6, 5, 4, 3, 2), body, strict=True))
    return str((11 - total % 11) % 10)


def obeys_the_rule(kind: type, value: str) -> bool:
    """Each kind's rule, written out independently of the implementation."""
    if kind is InstitutionSpecificCode:
        if not re.fullmatch(r"[A-Z2-7]{52}", value):
            return False
        raw = base64.b32decode(value + "====")
        return len(raw) == 32 and base64.b32encode(raw).decode().rstrip("=") == value
    length = {MyNumber: 12, ResidentRecordCode: 11, LocalGovernmentCode: 6, AddresseeNumber: 15}
    if not re.fullmatch(rf"[0-9]{{{length[kind]}}}", value):
        return False
    if kind is MyNumber:
        return value[-1] == my_number_check_digit(value[:-1])
    if kind is LocalGovernmentCode:
        return value[-1] == local_government_check_digit(value[:-1])
    return True


def valid_values(kind: type) -> st.SearchStrategy[str]:
    digits = st.text("0123456789", min_size=1, max_size=1)
    if kind is MyNumber:
        return st.text("0123456789", min_size=11, max_size=11).map(
            lambda body: body + my_number_check_digit(body)
        )
    if kind is LocalGovernmentCode:
        return st.text("0123456789", min_size=5, max_size=5).map(
            lambda body: body + local_government_check_digit(body)
        )
    if kind is InstitutionSpecificCode:
        return st.binary(min_size=32, max_size=32).map(
            lambda raw: base64.b32encode(raw).decode().rstrip("=")
        )
    size = {ResidentRecordCode: 11, AddresseeNumber: 15}[kind]
    return st.lists(digits, min_size=size, max_size=size).map("".join)


def full_width(char: str) -> str:
    return chr(ord(char) + 0xFEE0) if char.isascii() and char.isalnum() else char


@st.composite
def typed_at_a_desk(draw: st.DrawFn, value: str) -> str:
    """The value as a desk types it: full-width, grouped with spaces or hyphens, padded."""
    out = draw(st.text(NOISE, max_size=2))
    for char in value:
        out += full_width(char) if draw(st.booleans()) else char
        out += draw(st.text(NOISE, max_size=1)) if draw(st.integers(0, 3)) == 0 else ""
    return out + draw(st.text(NOISE, max_size=2))


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
@fuzz(200)
@given(data=st.data())
def test_any_text_is_a_valid_identifier_or_a_refusal_naming_the_field(kind, data) -> None:
    text = data.draw(
        st.one_of(
            ANY_TEXT,
            ANY_TEXT,
            st.text(DIGITISH, max_size=56),
            valid_values(kind).flatmap(typed_at_a_desk),
        )
    )
    try:
        value = kind.parse(text)
    except InvalidIdentifier as refusal:
        event("refused")
        assert refusal.field == kind.FIELD
        assert str(refusal).startswith(f"{kind.FIELD} ")
        assert refusal.fault_ja and refusal.fault_en
        return
    event("valid")
    assert obeys_the_rule(kind, str(value))
    assert kind.parse(str(value)) == value == kind(str(value))


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
@fuzz(150)
@given(data=st.data())
def test_a_valid_value_typed_at_a_desk_reads_back_as_itself(kind, data) -> None:
    value = data.draw(valid_values(kind))
    typed = data.draw(typed_at_a_desk(value))

    parsed = kind.parse(typed)

    assert str(parsed) == value
    assert kind.parse(str(parsed)) == parsed


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
@fuzz(200)
@given(data=st.data())
def test_an_edited_valid_value_is_refused_or_still_obeys_the_rule(kind, data) -> None:
    value = data.draw(valid_values(kind))
    at = data.draw(st.integers(0, len(value)))
    edit = data.draw(st.sampled_from(["insert", "delete", "replace", "lower", "swap"]))
    char = data.draw(st.one_of(st.characters(exclude_categories=()), ANY_TEXT.filter(len)))
    if edit == "insert":
        text = value[:at] + char + value[at:]
    elif edit == "delete":
        text = value[:at] + value[at + 1 :]
    elif edit == "replace":
        text = value[:at] + char + value[at + 1 :]
    elif edit == "lower":
        text = value.lower()
    else:
        text = value[:at] + value[at + 1 : at + 2] + value[at : at + 1] + value[at + 2 :]
    try:
        parsed = kind.parse(text)
    except InvalidIdentifier as refusal:
        assert refusal.field == kind.FIELD
        return
    assert obeys_the_rule(kind, str(parsed))


@fuzz(200)
@given(text=st.one_of(ANY_TEXT, st.sampled_from([g.code.value for g in all_local_governments()])))
def test_every_kind_the_cli_checks_refuses_only_with_invalid_identifier(text: str) -> None:
    for label, parse in IDENTIFIER_KINDS.values():
        try:
            value = parse(text)
        except InvalidIdentifier as refusal:
            assert refusal.field == label
            continue
        assert str(value) == str(parse(str(value)))


# --- the legal-basis table ----------------------------------------------------------------------


@cache
def shipped_rows() -> tuple[tuple[str, ...], ...]:
    text = resources.files("fukaiji.network").joinpath("data", SHIPPED_FILE).read_text("utf-8")
    return tuple(tuple(row) for row in csv.reader(io.StringIO(text, newline="")))


def legal_basis_text(rows, newline: str = "\r\n", bom: bool = False) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=newline).writerows(rows)
    return ("\ufeff" if bom else "") + buffer.getvalue()


CELL_DAMAGE = st.one_of(
    st.sampled_from(
        ["", " ", "0", "-1", "１", "JM0100000000001", "TM020000000000011", "municipality ", "x"]
    ),
    st.text(max_size=30),
    st.text("0123456789", min_size=1, max_size=30),
    st.just("名" * 201),
)


@st.composite
def damaged_tables(draw: st.DrawFn) -> tuple[str, list[int]]:
    """The shipped table with a few rows or cells damaged; returns its text and the lines
    whose damage must be named (each of them, or a later row that conflicts with it)."""
    rows = [list(row) for row in shipped_rows()]
    touched: list[int] = []
    for _ in range(draw(st.integers(1, 3))):
        action = draw(
            st.sampled_from(["delete-cell", "duplicate", "corrupt", "extra-cell", "text"])
        )
        line = draw(st.integers(2, len(rows)))  # 1-based line; rows have no line breaks
        row = rows[line - 1]
        if action == "delete-cell" and row:
            del row[draw(st.integers(0, len(row) - 1))]
        elif action == "extra-cell":
            row.insert(draw(st.integers(0, len(row))), draw(CELL_DAMAGE))
        elif action == "duplicate":
            rows.insert(draw(st.integers(1, len(rows))), list(row))
        elif action == "corrupt" and row:
            row[draw(st.integers(0, len(row) - 1))] = draw(CELL_DAMAGE)
        elif action == "text":
            rows.insert(line - 1, [draw(st.text(max_size=40))])
        touched.append(line)
    text = legal_basis_text(rows, draw(st.sampled_from(["\r\n", "\n"])), draw(st.booleans()))
    return text, touched


def check_table_refusal(refusal: InvalidLegalBasisTable, text: str) -> None:
    assert refusal.faults
    lines = max(1, len(_BREAK.findall(text)) + 1)
    for fault in refusal.faults:
        assert 1 <= fault.row <= lines
        assert fault.column in (*COLUMNS, "header", "row", "rows")
        assert f"{fault.row} 行目" in str(fault) and f"row {fault.row}" in str(fault)
        assert str(fault) in str(refusal)


def test_the_shipped_table_parses() -> None:
    assert len(parse_legal_basis(legal_basis_text(shipped_rows()))) == len(shipped_rows()) - 1


@fuzz(300)
@given(damaged=damaged_tables())
def test_a_damaged_table_is_refused_naming_the_rows_or_still_consistent(damaged) -> None:
    text, _touched = damaged
    try:
        table = parse_legal_basis(text)
    except InvalidLegalBasisTable as refusal:
        event("refused")
        check_table_refusal(refusal, text)
        return
    event("parsed")
    entries = [row.entry for row in table]
    assert len(set(entries)) == len(entries)
    assert all(re.fullmatch(r"JM[0-9]{14}", row.affair_code) for row in table)
    assert all(re.fullmatch(r"TM[0-9]{14}", row.item_code) for row in table)


@fuzz(150)
@given(
    line=st.integers(2, len(shipped_rows())),
    action=st.sampled_from(["delete-cell", "extra-cell", "duplicate", "entry", "code", "kind"]),
    data=st.data(),
)
def test_one_damaged_row_is_named(line: int, action: str, data) -> None:
    rows = [list(row) for row in shipped_rows()]
    named = line
    if action == "delete-cell":
        del rows[line - 1][data.draw(st.integers(0, len(COLUMNS) - 1))]
    elif action == "extra-cell":
        rows[line - 1].insert(data.draw(st.integers(0, len(COLUMNS))), "x")
    elif action == "duplicate":
        at = data.draw(st.integers(1, len(rows)))
        rows.insert(at, list(rows[line - 1]))
        named = at + 1 if at + 1 > line else line + 1  # the later of the two copies
    elif action == "entry":
        rows[line - 1][0] = data.draw(
            st.one_of(
                st.sampled_from(["", "0", "-3", "1.0", "１", " 1", "²"]),
                st.integers(1, 4000).map("0".__mul__),
                st.text(st.characters(exclude_characters="0123456789\r\n"), min_size=1),
            )
        )
    elif action == "code":
        column = data.draw(st.sampled_from(["affair_code", "item_code"]))
        damaged = data.draw(st.text(st.characters(exclude_characters="\r\n"), max_size=20))
        rows[line - 1][COLUMNS.index(column)] = damaged + "X"
    else:
        side = data.draw(st.sampled_from(["requester_kind", "provider_kind"]))
        rows[line - 1][COLUMNS.index(side)] = data.draw(
            st.sampled_from(["", "Municipality", "municipality ", "city", "市町村"])
        )

    with pytest.raises(InvalidLegalBasisTable) as caught:
        parse_legal_basis(legal_basis_text(rows))

    assert named in {fault.row for fault in caught.value.faults}, caught.value
    check_table_refusal(caught.value, legal_basis_text(rows))


@fuzz(200)
@given(text=st.text(max_size=300))
def test_random_text_is_a_table_or_a_refusal(text: str) -> None:
    for candidate in (text, legal_basis_text([COLUMNS]) + text):
        try:
            parse_legal_basis(candidate)
        except InvalidLegalBasisTable as refusal:
            check_table_refusal(refusal, candidate.removeprefix("\ufeff"))


# Defects found.


def test_a_huge_entry_number_is_refused_naming_its_row() -> None:
    """``_Parser._entry`` calls ``int(value)`` on any string of ASCII digits; past 4300 digits
    Python refuses the conversion with a bare ValueError, not a fault of the row."""
    rows = [list(row) for row in shipped_rows()]
    rows[4][0] = "9" * 5000

    with pytest.raises(InvalidLegalBasisTable) as caught:
        parse_legal_basis(legal_basis_text(rows))

    assert [(fault.row, fault.column) for fault in caught.value.faults] == [(5, "entry")]


# --- paper ledgers and destination uploads, through the services ---------------------------------

MY_NUMBER_KEY = b"m" * 32
NETWORK_KEY = bytes(range(100, 132))
STRANGERS = ("271004000000001", "999999999999999")  # 15 digits, never assigned by 大阪市
# Names as the web API lets them through (no control characters). Surrogates, as the CLI may
# pass them: test_a_file_whose_name_is_not_utf8_is_taken_or_refused_cleanly.
FILENAMES = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=300)


@dataclass
class Osaka:
    session: Session
    institution_id: int
    known: tuple[str, ...]
    sender: Viewer

    @property
    def institution(self):
        return get_institution(self.session, "271004")


@pytest.fixture
def osaka(session: Session) -> Osaka:
    """大阪市 with three persons enrolled, and its 福祉課 sending a notice."""
    institution = get_institution(session, "271004")
    known = []
    for given_name in ("花子", "一郎", "次郎"):
        person = registry.register_resident(
            session,
            municipality_code="271004",
            family_name="山田",
            given_name=given_name,
            family_name_kana="ヤマダ",
            given_name_kana="ハナコ",
            birth_date=date(1990, 4, 1),
            address_line="北区梅田一丁目1番1号",
            moved_in_on=date(2020, 4, 1),
            my_number_key=MY_NUMBER_KEY,
            actor="test:desk",
        )
        enrolment = intermediate.enrol(
            session,
            institution=institution,
            person_id=person.id,
            network_key=NETWORK_KEY,
            actor="test:desk",
        )
        known.append(str(enrolment.addressee_number))
    department = get_department(session, institution_code="271004", name="福祉課")
    session.commit()
    return Osaka(
        session,
        institution.id,
        tuple(known),
        Viewer(institution.id, "271004", department.id, "staff:osaka-welfare"),
    )


def count(session: Session, *models) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model)) for model in models)


def live_ledger(session: Session, institution_id: int) -> set[str]:
    return set(
        session.scalars(
            select(LedgerEntry.addressee_number).where(
                LedgerEntry.institution_id == institution_id, LedgerEntry.withdrawn_at.is_(None)
            )
        )
    )


def expected_faults(data: bytes, known: tuple[str, ...], encoding=None):
    """The small reader's verdict plus the unknown numbers: the rows a service must refuse."""
    read = read_addressee_csv(data, encoding=encoding)
    faults = [(f.row_number, kind_of(f.reason)) for f in read.faults]
    faults += [(r.row_number, ("unknown",)) for r in read.rows if r.addressee_number not in known]
    return read, sorted(faults)


@fuzz(DB_EXAMPLES)
@given(draw=st.data())
def test_a_refused_ledger_import_changes_nothing(osaka: Osaka, draw) -> None:
    session = osaka.session
    built = draw.draw(model_files(pool=osaka.known + STRANGERS))
    data = mutate(built.data, draw.draw(st.lists(MUTATIONS, max_size=2)))
    stated = draw.draw(st.sampled_from([None, None, "cp932", "utf-8"]))
    filename = draw.draw(FILENAMES)
    before = count(session, LedgerEntry, LedgerImport, AuditEntry)
    listed = live_ledger(session, osaka.institution_id)
    session.commit()
    try:
        read, faults = expected_faults(data, osaka.known, stated)
    except InvalidAddresseeFile:
        read, faults = None, None

    try:
        report = ledger.import_ledger(
            session,
            institution=osaka.institution,
            data=data,
            filename=filename,
            actor="staff:osaka-desk",
            encoding=stated,
        )
    except DomainError as refusal:
        event(f"refused: {type(refusal).__name__}")
        assert not refusal.keep_changes
        session.rollback()  # what transaction() and the web handlers do
        assert count(session, LedgerEntry, LedgerImport, AuditEntry) == before
        assert live_ledger(session, osaka.institution_id) == listed
        if read is None:
            assert isinstance(refusal, InvalidAddresseeFile)
            check_refusal(refusal)
        else:
            assert isinstance(refusal, ledger.LedgerRejected)
            assert sorted((f.row_number, kind_of(f.reason)) for f in refusal.faults) == faults
        session.commit()
        return
    session.commit()
    event("imported")
    assert read is not None and not faults
    numbers = set(read.addressee_numbers)
    assert (report.rows, report.added) == (len(numbers), len(numbers - listed))
    assert count(session, LedgerEntry, LedgerImport, AuditEntry) == (
        before[0] + report.added,
        before[1] + 1,
        before[2] + 1,
    )
    stored = session.get(LedgerImport, report.import_id)
    assert stored.filename == (filename[-255:] or "-")
    session.commit()


@fuzz(DB_EXAMPLES)
@given(draw=st.data())
def test_a_refused_destination_upload_changes_nothing(osaka: Osaka, draw) -> None:
    session = osaka.session
    notice = notices.create_notice(
        session, sender=osaka.sender, title="給付金のお知らせ", body="本文", category="general"
    )
    session.commit()
    if draw.draw(st.booleans()):  # an earlier file, which a refused one must not replace
        notices.attach_destination(
            session,
            notice=notice,
            sender=osaka.sender,
            data=f"{ADDRESSEE_COLUMN}\n{osaka.known[0]}\n".encode(),
            filename="earlier.csv",
        )
        session.commit()
    built = draw.draw(model_files(pool=osaka.known + STRANGERS))
    data = mutate(built.data, draw.draw(st.lists(MUTATIONS, max_size=2)))
    strict = draw.draw(st.booleans())
    models = (DestinationFile, DestinationRow, DestinationFault, AuditEntry)
    before = count(session, *models)
    earlier = notices.destination_of(session, notice)
    earlier_sha = None if earlier is None else earlier.sha256
    session.commit()
    try:
        read, faults = expected_faults(data, osaka.known)
    except InvalidAddresseeFile:
        read, faults = None, None

    try:
        report = notices.attach_destination(
            session,
            notice=notice,
            sender=osaka.sender,
            data=data,
            filename=draw.draw(FILENAMES),
            strict=strict,
        )
    except DomainError as refusal:
        event(f"refused: {type(refusal).__name__}, strict={strict}")
        assert not refusal.keep_changes
        session.rollback()
        assert count(session, *models) == before
        now = notices.destination_of(session, notice)
        assert (None if now is None else now.sha256) == earlier_sha
        if read is None:
            assert isinstance(refusal, InvalidAddresseeFile)
            check_refusal(refusal)
        else:
            assert strict and isinstance(refusal, DestinationRejected)
            assert sorted((f.row_number, kind_of(f.reason)) for f in refusal.faults) == faults
        session.commit()
        return
    session.commit()
    event(f"attached, strict={strict}")
    assert read is not None and (not strict or not faults)
    assert (report.rows, report.faults) == (len(read.rows) - _unknown(faults), len(faults))
    stored = notices.destination_faults(session, notice=notice)
    assert [(f.row_number, kind_of(f.reason)) for f in stored] == faults
    shown = {f.row_number: f.shown_value for f in read.faults}
    for fault in stored:
        assert fault.value == shown.get(fault.row_number, fault.value)[:100]
    session.commit()


def _unknown(faults: list[tuple]) -> int:
    return sum(1 for _, kind in faults if kind == ("unknown",))


# Defects found.

# A file named in CP932 on a Samba share: Python hands its name over with surrogate escapes.
CP932_NAME = "台帳.csv".encode("cp932").decode("utf-8", "surrogateescape")


@pytest.mark.parametrize("upload", ["ledger", "destination"])
def test_a_file_whose_name_is_not_utf8_is_taken_or_refused_cleanly(osaka: Osaka, upload) -> None:
    """The CLI passes ``Path.name`` as the filename. A name that is not UTF-8 reaches the
    database as lone surrogates and the flush fails with UnicodeEncodeError: a traceback, not
    a refusal naming the field (the data itself is good)."""
    session = osaka.session
    data = f"{ADDRESSEE_COLUMN}\r\n{osaka.known[0]}\r\n".encode()
    try:
        if upload == "ledger":
            ledger.import_ledger(
                session, institution=osaka.institution, data=data, filename=CP932_NAME, actor="a"
            )
        else:
            notice = notices.create_notice(
                session, sender=osaka.sender, title="件名", body="本文", category="general"
            )
            notices.attach_destination(
                session, notice=notice, sender=osaka.sender, data=data, filename=CP932_NAME
            )
        session.commit()
    except DomainError:
        session.rollback()
