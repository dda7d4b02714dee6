"""Read the small CSV files that list 団体内統合宛名番号 (addressee numbers): bytes in, values out.

A department that sends notices builds a destination file (宛先ファイル) that lists the
団体内統合宛名番号 of the recipients; before sending, it removes each 留意すべき対象者 by deleting
that person's number from the list (the seed, 別添2(3)イ: 「宛先ファイルは、
団体内統合宛名番号が一覧で並んでいるため、当該者の団体内統合宛名番号を個別に削除する」). The persons
a department keeps on a paper ledger (紙台帳) come in the same shape. This module reads such a
file; it never touches the database, so callers decide what the numbers mean.

The format, as a spreadsheet saves it:

* bytes in UTF-8, UTF-8 with a BOM, or CP932 (what Excel calls Shift_JIS). Decoding is strict:
  a byte that does not decode is never turned into a replacement character that would hide a
  mangled number. In the header it refuses the whole file, with its byte offset; in a data
  record it makes that record a bad row (the first of its faults), and the other rows stand.
* the first non-blank line is the header; one of its cells is 団体内統合宛名番号 (compared with
  surrounding whitespace trimmed, since spreadsheet users pad cells). Other columns (氏名, 住所, …)
  are allowed, kept exactly as decoded, and not checked.
* every further record is one person. The number is 15 ASCII digits; surrounding whitespace
  (including the full-width space U+3000) is trimmed from it, nothing else is: full-width digits
  are refused, because a number that only looks right is a number someone retyped.
* line ends may be CRLF, LF or CR; quoting follows RFC 4180 as Python's ``csv`` reads it, strictly,
  so an unclosed quote refuses the file instead of silently swallowing the records after it.
* a record whose cells are all blank (an empty line, or ``,,,`` that Excel writes for a touched but
  empty row) carries no data and is skipped. Every other record ends up either as an
  ``AddresseeRow`` or as a ``RowFault``: nothing is dropped silently.

A record's ``row_number`` is the physical line it starts on, counting the header line as 1. It is
what a text editor shows, and equals the spreadsheet row unless an earlier quoted cell spans lines.

Each record gets at most one fault, the first of: a byte that does not decode, column count
differs from the header (then the position of the number cannot be trusted), empty, contains
non-digits, not 15 digits, duplicate of an earlier good row (the first occurrence stays a row; the
later one names it).

Detection reads the header: the encoding in which the first non-blank line names the column
団体内統合宛名番号 is the file's, whatever bytes the rows below hold. Without such a header it
tries UTF-8 before CP932. A CP932 file holding only ASCII and half-width katakana can
happen to be valid UTF-8; a file with the Japanese header never can (its first byte in CP932, 0x92,
cannot follow a delimiter in UTF-8), so detection is safe for the files this module is meant for.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from fukaiji.identifiers._base import normalize
from fukaiji.intermediate.errors import IntermediateError

ADDRESSEE_COLUMN = "団体内統合宛名番号"
ADDRESSEE_DIGITS = 15
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
FILE_FIELD = "宛先ファイル"
ENCODING_FIELD = "文字コード"

_BOM = codecs.BOM_UTF8
# The csv module refuses cells over 128 KiB as if the quoting were broken; a file's own size
# limit is the one that should speak, so cells may be as long as a file may be.
csv.field_size_limit(max(csv.field_size_limit(), DEFAULT_MAX_BYTES))
# How many header cells, and how much of each, a message may echo: enough to see what went wrong,
# not enough to copy a file of personal data into a log.
_SHOWN_CELLS = 10
_SHOWN_CELL_CHARS = 20
# A byte that did not decode, as ``surrogateescape`` keeps it.
_ESCAPED = re.compile("[\udc80-\udcff]")


class Encoding(StrEnum):
    UTF8 = "utf-8"
    UTF8_BOM = "utf-8-sig"
    CP932 = "cp932"

    @property
    def label(self) -> str:
        return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM 付き)", "cp932": "CP932 (Shift_JIS)"}[
            self.value
        ]


class InvalidAddresseeFile(IntermediateError):
    """The file as a whole cannot be read, so none of it is used."""

    def __init__(self, message: str, *, field: str = FILE_FIELD) -> None:
        super().__init__(field, message)


@dataclass(frozen=True, slots=True)
class AddresseeRow:
    row_number: int  # the line the record starts on; the header is line 1
    addressee_number: str  # 15 ASCII digits, trimmed
    fields: tuple[str, ...]  # every cell as decoded, the number's cell untrimmed


@dataclass(frozen=True, slots=True)
class RowFault:
    row_number: int
    value: str  # the number's cell as written, so the user can search for it
    reason: str  # Japanese, English in parentheses

    @property
    def shown_value(self) -> str:
        """The value as messages, screens and stored reports may show it: a 12-digit number
        could be a 個人番号 typed into the wrong column, and none may be echoed."""
        if looks_like_my_number(self.value):
            return "(12 桁の番号: 表示しません)"
        return self.value


@dataclass(frozen=True, slots=True)
class AddresseeFile:
    encoding: Encoding
    header: tuple[str, ...]
    rows: tuple[AddresseeRow, ...]
    faults: tuple[RowFault, ...]

    @property
    def addressee_numbers(self) -> tuple[str, ...]:
        return tuple(row.addressee_number for row in self.rows)


def looks_like_my_number(value: str) -> bool:
    """12 digits once full-width folding, spaces and hyphens are set aside, as a desk types a
    個人番号 ("1234 5678 9018"): never to be echoed in a message, a log or a stored report."""
    folded = normalize(value)
    return len(folded) == 12 and folded.isascii() and folded.isdigit()


def clean_filename(name: str, limit: int = 255) -> str:
    """A file's name as it may be stored and shown: a name in another encoding (a CP932 name on
    a file share arrives with lone surrogates) becomes readable, control characters go, and the
    end of a long name is kept."""
    readable = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    printable = "".join(char for char in readable if unicodedata.category(char) != "Cc")
    return printable[-limit:] or "-"


def summarise_faults(faults: tuple[RowFault, ...] | list[RowFault], limit: int = 20) -> str:
    """Bad rows for a message: the first ``limit`` with their row numbers, then how many more."""
    shown = "; ".join(
        f"{fault.row_number} 行目 {fault.shown_value!r}: {fault.reason}" for fault in faults[:limit]
    )
    more = len(faults) - limit
    return shown + (f"; ほか {more} 行 (and {more} more)" if more > 0 else "")


def detect_encoding(data: bytes, column: str = ADDRESSEE_COLUMN) -> Encoding:
    """UTF-8 with a BOM; else the encoding in which ``data`` names ``column`` (the header decides,
    so that a stray byte in a data row cannot refuse the file or flip the choice); else UTF-8 if
    it decodes strictly, else CP932 if that does."""
    if data.startswith(_BOM):
        return Encoding.UTF8_BOM
    named = [
        encoding
        for encoding in (Encoding.UTF8, Encoding.CP932)
        if column.encode(encoding) in _first_line_naming(data, column.encode(encoding))
    ]
    if len(named) == 1:
        return named[0]
    offsets: dict[Encoding, int] = {}
    for encoding in (Encoding.UTF8, Encoding.CP932):
        try:
            data.decode(encoding)
        except UnicodeDecodeError as error:
            offsets[encoding] = error.start
        else:
            return encoding
    utf8, cp932 = offsets[Encoding.UTF8], offsets[Encoding.CP932]
    raise InvalidAddresseeFile(
        "UTF-8 としても CP932 (Shift_JIS) としても読めません"
        f"（UTF-8 はバイト位置 {utf8}、CP932 はバイト位置 {cp932} で失敗） "
        f"(neither UTF-8 nor CP932: UTF-8 fails at byte offset {utf8}, CP932 at {cp932})",
        field=ENCODING_FIELD,
    )


def _first_line_naming(data: bytes, name: bytes) -> bytes:
    """The line of ``data`` holding the first occurrence of ``name``, if every line before it is
    blank (then it is the header); else nothing."""
    at = data.find(name)
    if at < 0:
        return b""
    start = max(data.rfind(b"\n", 0, at), data.rfind(b"\r", 0, at)) + 1
    if data[:start].strip(b" \t\r\n,"):
        return b""
    ends = [end for end in (data.find(b"\n", at), data.find(b"\r", at)) if end >= 0]
    return data[start : min(ends, default=len(data))]


def undecodable_reason(encoding: Encoding) -> str:
    """The fault of a record holding a byte that ``encoding`` cannot decode."""
    return f"{encoding.label} として読めないバイトを含みます。この行を保存し直してください"


def has_undecodable(record: list[str]) -> bool:
    """Whether a record decoded with ``surrogateescape`` holds a byte that did not decode."""
    return any(_ESCAPED.search(cell) for cell in record)


def shown_cell(value: str) -> str:
    """A cell as a message may show it: undecoded bytes become U+FFFD."""
    return _ESCAPED.sub("\ufffd", value)


def read_addressee_csv(
    data: bytes,
    *,
    encoding: Encoding | str | None = None,
    column: str = ADDRESSEE_COLUMN,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> AddresseeFile:
    """Read a file of addressee numbers; ``encoding`` None detects it (see ``detect_encoding``).

    Raises ``InvalidAddresseeFile`` for a fault of the whole file; faults of single records are
    returned in ``faults`` next to the good ``rows``.
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"expected the file's bytes, got {type(data).__name__}")
    data = bytes(data)
    _check_size(data, max_bytes)
    _check_not_utf16(data)
    _check_no_nul(data)
    chosen = detect_encoding(data, column) if encoding is None else _stated_encoding(encoding, data)
    text = _decode(data, chosen)
    records = _records(text)
    header_line, header = _header(records)
    if has_undecodable(header):
        _decode(data, chosen, errors="strict")  # names the first bad byte's offset
    index = _column_index(header, column, header_line)
    # One search of the whole text spares every record its own when nothing failed to decode.
    undecodable = chosen if _ESCAPED.search(text) else None
    rows, faults = _read_rows(records, len(header), index, undecodable)
    return AddresseeFile(chosen, tuple(header), rows, faults)


def _check_size(data: bytes, max_bytes: int) -> None:
    if not data:
        raise InvalidAddresseeFile("ファイルが空です (the file is empty)")
    if len(data) > max_bytes:
        raise InvalidAddresseeFile(
            f"ファイルが大きすぎます：{len(data)} バイト、上限は {max_bytes} バイトです "
            f"(the file is {len(data)} bytes, more than the limit of {max_bytes})"
        )


def _check_not_utf16(data: bytes) -> None:
    # Excel's "Unicode テキスト" is UTF-16 with a BOM; name it rather than fail to decode it.
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidAddresseeFile(
            "UTF-16 で保存されています。UTF-8 または CP932 (CSV) で保存し直してください "
            "(the file is UTF-16: save it again as CSV in UTF-8 or CP932)",
            field=ENCODING_FIELD,
        )


def _check_no_nul(data: bytes) -> None:
    # Neither UTF-8 nor CP932 text has a 0x00 byte (CP932 trail bytes start at 0x40); a file that
    # does is binary or UTF-16, and saying so helps more than a decoding error would.
    offset = data.find(b"\x00")
    if offset >= 0:
        raise InvalidAddresseeFile(
            f"NUL バイトを含みます（バイト位置 {offset}）。UTF-16 で保存されていませんか "
            f"(the file contains a NUL byte at byte offset {offset}; was it saved as UTF-16?)"
        )


def _stated_encoding(stated: Encoding | str, data: bytes) -> Encoding:
    encoding = _parse_encoding(stated)
    # Within the UTF-8 family the file decides: a BOM is never part of the text, and a caller
    # who says "utf-8" of a file with a BOM (or the reverse) is right about the encoding.
    if encoding in (Encoding.UTF8, Encoding.UTF8_BOM):
        return Encoding.UTF8_BOM if data.startswith(_BOM) else Encoding.UTF8
    return encoding


def _parse_encoding(stated: Encoding | str) -> Encoding:
    if isinstance(stated, Encoding):
        return stated
    try:
        name = codecs.lookup(stated).name
    except LookupError:
        name = ""
    if name == "shift_jis":
        return Encoding.CP932  # what Excel saves as Shift_JIS is CP932 (①, 髙, ～ …)
    try:
        return Encoding(name)
    except ValueError:
        raise InvalidAddresseeFile(
            f"「{stated}」には対応していません。UTF-8 または CP932 を指定してください "
            f"(unsupported encoding {stated!r}: use utf-8, utf-8-sig or cp932)",
            field=ENCODING_FIELD,
        ) from None


def _decode(data: bytes, encoding: Encoding, errors: str = "surrogateescape") -> str:
    # A byte that does not decode is kept as a lone surrogate, so that only its record is bad
    # (``has_undecodable``); the header is checked strictly. The body after a BOM is decoded as
    # plain UTF-8 so that an error's offset counts from the file's first byte (the utf-8-sig
    # codec counts from after the BOM).
    skip = len(_BOM) if encoding is Encoding.UTF8_BOM else 0
    codec = Encoding.UTF8 if encoding is Encoding.UTF8_BOM else encoding
    try:
        return data[skip:].decode(codec, errors)
    except UnicodeDecodeError as error:
        offset = skip + error.start
        raise InvalidAddresseeFile(
            f"{encoding.label} として読めません（バイト位置 {offset}） "
            f"(not valid {encoding.label}: undecodable byte at byte offset {offset})",
            field=ENCODING_FIELD,
        ) from error


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record that is not blank, with the physical line it starts on."""
    # strict: without it an unclosed quote silently swallows every later record into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InvalidAddresseeFile(
                f"{start} 行目から始まる行を CSV として読めません（引用符の閉じ忘れなど） "
                f"(broken CSV quoting in the record starting at line {start}: {error})"
            ) from error
        if any(cell.strip() for cell in record):
            yield start, record
        start = reader.line_num + 1


def _header(records: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str]]:
    first = next(records, None)
    if first is None:
        raise InvalidAddresseeFile(
            "見出し行がありません（空行だけです） (no header row: the file holds only blank lines)"
        )
    return first


def _column_index(header: list[str], column: str, line: int) -> int:
    positions = [index for index, name in enumerate(header) if name.strip() == column]
    if len(positions) == 1:
        return positions[0]
    if positions:
        shown = ", ".join(str(index + 1) for index in positions)
        raise InvalidAddresseeFile(
            f"見出しに「{column}」の列が {len(positions)} 個あります（{shown} 列目）。"
            "どちらを読むか決められません "
            f"(the header has column {column} {len(positions)} times, at columns {shown})",
            field=column,
        )
    raise InvalidAddresseeFile(_missing_column_message(header, column, line), field=column)


def _missing_column_message(header: list[str], column: str, line: int) -> str:
    if any(_is_addressee_number(cell.strip()) or looks_like_my_number(cell) for cell in header):
        # The "header" is a data record; echoing it would copy a person's details into a log.
        return (
            f"見出し行がないようです：{line} 行目に番号があります。"
            f"1 行目に「{column}」を含む見出しを付けてください "
            f"(the header row seems missing: line {line} holds a number; "
            f"add a header naming the column {column})"
        )
    found = "".join(f"「{_shorten(cell)}」" for cell in header[:_SHOWN_CELLS])
    more = "…" if len(header) > _SHOWN_CELLS else ""
    return (
        f"見出しに「{column}」の列がありません。見出しは {found}{more} です "
        f"(the header has no column {column}; it reads {found}{more})"
    )


def _shorten(cell: str) -> str:
    return cell if len(cell) <= _SHOWN_CELL_CHARS else cell[:_SHOWN_CELL_CHARS] + "…"


def _is_addressee_number(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) == ADDRESSEE_DIGITS


def _read_rows(
    records: Iterator[tuple[int, list[str]]], width: int, index: int, undecodable: Encoding | None
) -> tuple[tuple[AddresseeRow, ...], tuple[RowFault, ...]]:
    """``undecodable``: the encoding, when some bytes of the text did not decode in it."""
    rows: list[AddresseeRow] = []
    faults: list[RowFault] = []
    first_rows: dict[str, int] = {}  # each good number → the row it first appeared on
    for row_number, record in records:
        value = record[index] if index < len(record) else ""
        if undecodable is not None and has_undecodable(record):
            faults.append(RowFault(row_number, shown_cell(value), undecodable_reason(undecodable)))
            continue
        reason = _fault_of(record, width, value.strip(), first_rows)
        if reason is not None:
            faults.append(RowFault(row_number, value, reason))
            continue
        number = value.strip()
        first_rows[number] = row_number
        rows.append(AddresseeRow(row_number, number, tuple(record)))
    return tuple(rows), tuple(faults)


def _fault_of(record: list[str], width: int, number: str, first_rows: dict[str, int]) -> str | None:
    """The first fault of a record, or None; non-digits are checked before the length, so that
    "１２３…" is reported as what it is (full-width) rather than as a length problem."""
    if len(record) != width:
        return (
            f"列数が見出しと異なります（{len(record)} 列、見出しは {width} 列） "
            f"(column count differs from the header: {len(record)}, not {width})"
        )
    if not number:
        return "空です (empty)"
    if not (number.isascii() and number.isdigit()):
        return "数字以外を含みます (contains non-digits)"
    if len(number) != ADDRESSEE_DIGITS:
        return f"15 桁ではありません（{len(number)} 桁） (not 15 digits: {len(number)} digits)"
    if number in first_rows:
        first = first_rows[number]
        return f"{first} 行目と重複しています (duplicate of row {first})"
    return None
