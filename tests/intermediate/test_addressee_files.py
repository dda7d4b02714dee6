"""Reading CSV files of 団体内統合宛名番号 (宛先ファイル, 紙台帳): encodings, faults, refusals.

Pure: no database. Files are built with ``csv.writer`` as a spreadsheet would save them (CRLF).
"""

from __future__ import annotations

import csv
import io
import pickle
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fukaiji.intermediate.addressee_files import (
    ADDRESSEE_COLUMN,
    AddresseeFile,
    AddresseeRow,
    Encoding,
    InvalidAddresseeFile,
    RowFault,
    detect_encoding,
    read_addressee_csv,
)
from fukaiji.intermediate.errors import IntermediateError

HEADER = (ADDRESSEE_COLUMN, "氏名", "住所")
HANAKO = ("012345678901234", "山田　花子", "大阪府大阪市北区")
# 髙 and ① exist in CP932 but not in strict Shift_JIS: they show the file is read as Excel saves it.
ICHIRO = ("987654321098765", "髙橋　一郎", "東京都千代田区一丁目①")


def csv_bytes(*records: tuple[str, ...], encoding: str = "utf-8", header=HEADER) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([header, *records])
    return buffer.getvalue().encode(encoding)


def refusal(data: bytes, **options) -> InvalidAddresseeFile:
    with pytest.raises(InvalidAddresseeFile) as caught:
        read_addressee_csv(data, **options)
    return caught.value


# --- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", list(Encoding))
def test_each_encoding_reads_with_fields_preserved(encoding: Encoding) -> None:
    data = csv_bytes(HANAKO, ICHIRO, encoding=encoding.value)

    read = read_addressee_csv(data)

    assert read == AddresseeFile(
        encoding=encoding,
        header=HEADER,
        rows=(AddresseeRow(2, HANAKO[0], HANAKO), AddresseeRow(3, ICHIRO[0], ICHIRO)),
        faults=(),
    )
    assert read.addressee_numbers == (HANAKO[0], ICHIRO[0])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbfabc", Encoding.UTF8_BOM),
        (b"\xef\xbb\xbf", Encoding.UTF8_BOM),
        ("山田　花子".encode(), Encoding.UTF8),
        ("山田　花子".encode("cp932"), Encoding.CP932),
        (b"plain ascii,123\r\n", Encoding.UTF8),
    ],
)
def test_detect_encoding(data: bytes, expected: Encoding) -> None:
    assert detect_encoding(data) == expected


def test_detect_encoding_names_both_offsets_when_nothing_decodes() -> None:
    # 0x81 0x7F: a UTF-8 continuation byte with no lead, and a CP932 lead byte with a bad trail.
    with pytest.raises(InvalidAddresseeFile) as caught:
        detect_encoding(b"abc\x81\x7f")
    assert "UTF-8" in caught.value.message and "CP932" in caught.value.message
    assert "byte offset 3" in caught.value.message


def test_half_width_katakana_alone_can_pass_as_utf8_so_the_encoding_may_be_stated() -> None:
    # ﾂｱ is C2 B1 in CP932, which is "±" in UTF-8: the documented limit of detection.
    data = "no,カナ\r\n012345678901234,ﾂｱ\r\n".replace("カナ", "kana").encode("cp932")

    assert detect_encoding(data) == Encoding.UTF8
    read = read_addressee_csv(data, encoding="cp932", column="no")
    assert read.rows[0].fields == ("012345678901234", "ﾂｱ")


def test_a_row_the_stated_encoding_cannot_decode_is_a_bad_row_of_its_own() -> None:
    data = b"no,name\r\n012345678901234," + "山田".encode("cp932") + b"\r\n111111111111111,x"

    read = read_addressee_csv(data, encoding=Encoding.UTF8, column="no")

    assert read.addressee_numbers == ("111111111111111",)
    assert read.faults == (
        RowFault(
            2,
            "012345678901234",
            "UTF-8 として読めないバイトを含みます。この行を保存し直してください",
        ),
    )


def test_a_header_the_stated_encoding_cannot_decode_names_it_and_the_offset() -> None:
    prefix = b"no,"
    data = prefix + "氏名".encode("cp932") + b"\r\n012345678901234,x"

    error = refusal(data, encoding=Encoding.UTF8, column="no")

    assert error.field == "文字コード"
    assert "UTF-8" in error.message
    assert f"byte offset {len(prefix)}" in error.message


def test_offset_after_a_bom_counts_from_the_first_byte_of_the_file() -> None:
    data = b"\xef\xbb\xbfno,\xff\r\n"

    error = refusal(data, column="no")

    assert "byte offset 6" in error.message


def test_a_broken_cp932_byte_in_a_name_is_a_fault_of_that_row_only() -> None:
    """The header names the column in CP932, so the file is CP932 whatever a row holds; the
    row with the broken byte (a lead byte cut off before the comma) is the only bad one."""
    good = csv_bytes(HANAKO, ICHIRO, encoding="cp932")
    broken = b"222222222222222," + "山田".encode("cp932") + b"\x82,x\r\n"
    data = good + broken

    read = read_addressee_csv(data)

    assert read.encoding is Encoding.CP932
    assert read.addressee_numbers == (HANAKO[0], ICHIRO[0])
    assert [(fault.row_number, fault.value) for fault in read.faults] == [(4, "222222222222222")]
    assert "CP932" in read.faults[0].reason


@pytest.mark.parametrize("stated", ["utf-8", "UTF8", "utf-8-sig", Encoding.UTF8])
def test_utf8_family_follows_the_bom_in_the_file(stated: str) -> None:
    with_bom = csv_bytes(HANAKO, encoding="utf-8-sig")
    without = csv_bytes(HANAKO)

    assert read_addressee_csv(with_bom, encoding=stated).encoding == Encoding.UTF8_BOM
    assert read_addressee_csv(with_bom, encoding=stated).header == HEADER
    assert read_addressee_csv(without, encoding=stated).encoding == Encoding.UTF8


@pytest.mark.parametrize("stated", ["cp932", "CP932", "ms932", "shift_jis", "Shift_JIS", "sjis"])
def test_cp932_aliases(stated: str) -> None:
    read = read_addressee_csv(csv_bytes(ICHIRO, encoding="cp932"), encoding=stated)

    assert read.encoding == Encoding.CP932
    assert read.rows[0].fields == ICHIRO


@pytest.mark.parametrize("stated", ["latin-1", "utf-16", "no-such-codec"])
def test_unsupported_encoding_is_refused(stated: str) -> None:
    error = refusal(csv_bytes(HANAKO), encoding=stated)

    assert error.field == "文字コード"
    assert stated in error.message


# --- faults of single records -------------------------------------------------------------------


def test_every_fault_kind_at_its_row() -> None:
    data = csv_bytes(
        HANAKO,  # 2
        ("", "空欄", ""),  # 3
        ("０１２３４５６７８９０１２３４", "全角", ""),  # 4
        ("01234567890123", "14 桁", ""),  # 5
        ("0123456789A1234", "英字", ""),  # 6
        ("1234A", "短くて英字", ""),  # 7: non-digits is checked first
        (HANAKO[0], "重複", ""),  # 8
        ("111111111111111", "列不足"),  # 9
        ("", "", ""),  # 10: blank, skipped
        ("\u3000 987654321098765 ", "空白付き", "大阪"),  # 11
    )

    read = read_addressee_csv(data)

    assert read.rows == (
        AddresseeRow(2, HANAKO[0], HANAKO),
        AddresseeRow(11, "987654321098765", ("\u3000 987654321098765 ", "空白付き", "大阪")),
    )
    assert read.faults == (
        RowFault(3, "", "空です (empty)"),
        RowFault(4, "０１２３４５６７８９０１２３４", "数字以外を含みます (contains non-digits)"),
        RowFault(5, "01234567890123", "15 桁ではありません（14 桁） (not 15 digits: 14 digits)"),
        RowFault(6, "0123456789A1234", "数字以外を含みます (contains non-digits)"),
        RowFault(7, "1234A", "数字以外を含みます (contains non-digits)"),
        RowFault(8, HANAKO[0], "2 行目と重複しています (duplicate of row 2)"),
        RowFault(
            9,
            "111111111111111",
            "列数が見出しと異なります（2 列、見出しは 3 列） "
            "(column count differs from the header: 2, not 3)",
        ),
    )


COUNT_4_NOT_3 = "(column count differs from the header: 4, not 3)"


def test_a_faulty_row_does_not_claim_its_number_for_duplicates() -> None:
    # Row 2 is refused for its column count, so row 3 is the first good occurrence.
    data = csv_bytes((HANAKO[0], "a", "b", "extra"), HANAKO, HANAKO)

    read = read_addressee_csv(data)

    assert [row.row_number for row in read.rows] == [3]
    assert [(fault.row_number, fault.reason) for fault in read.faults] == [
        (2, "列数が見出しと異なります（4 列、見出しは 3 列） " + COUNT_4_NOT_3),
        (4, "3 行目と重複しています (duplicate of row 3)"),
    ]


def test_a_short_row_reports_an_empty_value() -> None:
    data = f"氏名,{ADDRESSEE_COLUMN}\r\n山田\r\n".encode()

    (fault,) = read_addressee_csv(data).faults

    assert fault.row_number == 2 and fault.value == ""


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_blank_lines_are_skipped_and_row_numbers_count_them(newline: str) -> None:
    lines = ["", ADDRESSEE_COLUMN, "", HANAKO[0], "  ", ",", ICHIRO[0], ""]
    data = newline.join(lines).encode()

    read = read_addressee_csv(data)

    assert read.header == (ADDRESSEE_COLUMN,)
    assert [(row.row_number, row.addressee_number) for row in read.rows] == [
        (4, HANAKO[0]),
        (7, ICHIRO[0]),
    ]
    assert read.faults == ()


def test_quoted_cells_with_commas_and_line_breaks_count_physical_lines() -> None:
    # The record of line 2 spans lines 2 and 3; the next record starts on line 4.
    data = (
        f"{ADDRESSEE_COLUMN},氏名,住所\r\n"
        f'{HANAKO[0]},"山田, 花子","大阪府\r\n大阪市北区"\r\n'
        f'{ICHIRO[0]},"髙橋 ""一郎""",東京都\r\n'
        'bad,"複数\n行\nの名前",x\r\n'
        f"{HANAKO[0]},再掲,x\r\n"
    ).encode("cp932")

    read = read_addressee_csv(data)

    assert read.rows == (
        AddresseeRow(2, HANAKO[0], (HANAKO[0], "山田, 花子", "大阪府\r\n大阪市北区")),
        AddresseeRow(4, ICHIRO[0], (ICHIRO[0], '髙橋 "一郎"', "東京都")),
    )
    assert [(fault.row_number, fault.value) for fault in read.faults] == [
        (5, "bad"),
        (8, HANAKO[0]),
    ]


def test_header_cells_match_trimmed_but_are_kept_as_written() -> None:
    data = f"氏名, {ADDRESSEE_COLUMN}\u3000\r\n花子,{HANAKO[0]}\r\n".encode()

    read = read_addressee_csv(data)

    assert read.header == ("氏名", f" {ADDRESSEE_COLUMN}\u3000")
    assert read.addressee_numbers == (HANAKO[0],)


def test_another_column_name_can_be_given() -> None:
    data = csv_bytes(("x", HANAKO[0]), header=("備考", "宛名番号"))

    assert read_addressee_csv(data, column="宛名番号").addressee_numbers == (HANAKO[0],)


@pytest.mark.parametrize("data", [ADDRESSEE_COLUMN.encode(), csv_bytes(), csv_bytes(("", "", ""))])
def test_a_header_without_records_is_a_valid_empty_file(data: bytes) -> None:
    read = read_addressee_csv(data)

    assert read.rows == () and read.faults == () and read.addressee_numbers == ()


# --- faults of the whole file ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "options", "expected"),
    [
        (b"", {}, "the file is empty"),
        (csv_bytes(HANAKO), {"max_bytes": 10}, "more than the limit of 10"),
        (csv_bytes(HANAKO)[:-2] + b"\x00\r\n", {}, "NUL byte at byte offset 99"),
        (ADDRESSEE_COLUMN.encode("utf-16"), {}, "UTF-16"),
        (b"\r\n \r\n,,\r\n", {}, "no header row"),
        (csv_bytes(HANAKO, header=("番号", "氏名", "住所")), {}, "「番号」「氏名」「住所」"),
        (csv_bytes(HANAKO, header=(ADDRESSEE_COLUMN, "氏名", ADDRESSEE_COLUMN)), {}, "1, 3"),
        (csv_bytes(HANAKO) + b'1,"unclosed\r\n2,x,y\r\n', {}, "starting at line 3"),
        (csv_bytes(HANAKO) + b'"1"x,y,z\r\n', {}, "starting at line 3"),
        (b"abc\x81\x7f", {}, "neither UTF-8 nor CP932"),
    ],
    ids=[
        "empty",
        "too-large",
        "nul",
        "utf-16",
        "blank-only",
        "missing-column",
        "column-twice",
        "unclosed-quote",
        "text-after-quote",
        "undecodable",
    ],
)
def test_whole_file_faults_are_refused(data: bytes, options: dict, expected: str) -> None:
    error = refusal(data, **options)

    assert isinstance(error, IntermediateError)
    assert expected in error.message
    assert str(error).startswith(f"{error.field}: ")


def test_missing_column_names_the_column() -> None:
    error = refusal(csv_bytes(HANAKO, header=("番号", "氏名", "住所")))

    assert error.field == ADDRESSEE_COLUMN
    assert f"「{ADDRESSEE_COLUMN}」の列がありません" in error.message


def test_a_file_without_header_does_not_echo_the_person() -> None:
    data = "\r\n".join(",".join(record) for record in (HANAKO, ICHIRO)).encode()

    error = refusal(data)

    assert "header row seems missing: line 1" in error.message
    assert "山田" not in error.message and HANAKO[0] not in error.message


def test_a_wide_header_is_shortened_in_the_message() -> None:
    header = tuple(f"列{index:02d}" + "あ" * 30 for index in range(12))

    error = refusal(csv_bytes(header=header))

    assert "列09" in error.message and "列10" not in error.message
    assert "あ" * 21 not in error.message


def test_the_refusal_survives_pickling() -> None:
    error = refusal(b"")

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object

    assert type(copy) is InvalidAddresseeFile
    assert (copy.field, copy.message) == (error.field, error.message)


def test_text_instead_of_bytes_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        read_addressee_csv(ADDRESSEE_COLUMN)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------

numbers = st.text(alphabet="0123456789", min_size=15, max_size=15)
# Text that every encoding here can carry, with the characters that make csv.writer quote a cell.
JAPANESE = "山田花子髙橋一郎大阪府市北区東京都千代田丁目あいうえおアイウエオｱｲｳ①～ー　"
cells = st.text(alphabet=JAPANESE + "abc 019,\"'\r\n-", max_size=12)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@st.composite
def addressee_files(draw: st.DrawFn) -> tuple[tuple[str, ...], list[tuple[str, ...]], int]:
    width = draw(st.integers(min_value=1, max_value=4))
    index = draw(st.integers(min_value=0, max_value=width - 1))
    others = draw(st.lists(st.text(alphabet=JAPANESE, min_size=1, max_size=6), min_size=width))
    header = tuple(ADDRESSEE_COLUMN if i == index else f"{others[i]}{i}" for i in range(width))
    chosen = draw(st.lists(numbers, unique=True, max_size=20))
    records = [
        tuple(number if i == index else draw(cells) for i in range(width)) for number in chosen
    ]
    return header, records, index


@pytest.mark.parametrize("encoding", list(Encoding))
@given(drawn=addressee_files())
def test_round_trip(encoding: Encoding, drawn) -> None:
    header, records, index = drawn
    data = csv_bytes(*records, encoding=encoding.value, header=header)

    read = read_addressee_csv(data)

    # With the Japanese header a CP932 file never passes as UTF-8, so detection is exact.
    assert read.encoding == encoding
    assert read.header == header
    assert read.faults == ()
    assert read.addressee_numbers == tuple(record[index] for record in records)
    assert [row.fields for row in read.rows] == records
    assert [row.row_number for row in read.rows] == expected_lines(records)


def expected_lines(records: list[tuple[str, ...]]) -> list[int]:
    lines, line = [], 2
    for record in records:
        lines.append(line)
        line += 1 + sum(len(_LINE_BREAK.findall(cell)) for cell in record)
    return lines


header_prefixes = st.sampled_from(
    [b"", ADDRESSEE_COLUMN.encode(), ADDRESSEE_COLUMN.encode("cp932"), b"\xef\xbb\xbf"]
)
separators = st.sampled_from([b"", b",", b"\r\n", b"\n", b'"'])
stated = st.sampled_from([None, *Encoding])


@given(prefix=header_prefixes, separator=separators, tail=st.binary(max_size=200), how=stated)
def test_random_bytes_raise_nothing_but_the_refusal(prefix, separator, tail, how) -> None:
    try:
        read = read_addressee_csv(prefix + separator + tail, encoding=how, max_bytes=150)
    except InvalidAddresseeFile:
        return
    lines = [row.row_number for row in read.rows] + [fault.row_number for fault in read.faults]
    assert len(set(lines)) == len(lines) and min(lines, default=2) >= 2
    assert all(re.fullmatch(r"[0-9]{15}", number) for number in read.addressee_numbers)
    assert len(set(read.addressee_numbers)) == len(read.addressee_numbers)


@given(body=st.text(alphabet='0123456789０ ,"\r\n\u3000a山', max_size=300))
def test_random_text_keeps_every_record(body: str) -> None:
    data = f"{ADDRESSEE_COLUMN},x\r\n{body}".encode()
    try:
        read = read_addressee_csv(data)
    except InvalidAddresseeFile:
        return
    # Every non-blank record after the header is either a row or a fault: none is dropped.
    records = [r for r in csv.reader(io.StringIO(body, newline="")) if any(c.strip() for c in r)]
    assert len(read.rows) + len(read.faults) == len(records)
