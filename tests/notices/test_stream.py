"""The streaming screen of destination files (fukaiji.notices.stream): bytes in, bytes out.

Pure: no database. Files are built with ``csv.writer`` as a spreadsheet would save them. The
reference for every property is the stdlib: the small-file reader's rows and faults
(``read_addressee_csv``, itself ``csv`` on the decoded text) and the file's own physical lines,
so "kept byte for byte" means: the output is exactly the input's lines of the kept records.
"""

from __future__ import annotations

import csv
import io
import os
import pickle
from array import array
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fukaiji.intermediate.addressee_files import (
    ADDRESSEE_COLUMN,
    Encoding,
    InvalidAddresseeFile,
    RowFault,
    read_addressee_csv,
)
from fukaiji.intermediate.addressees import UNKNOWN_HERE
from fukaiji.notices import stream
from fukaiji.notices.stream import (
    KnownNumberStream,
    ScreenRejected,
    ScreenReport,
    load_exclusions,
    screen_file,
)

HEADER = (ADDRESSEE_COLUMN, "氏名", "住所")
HANAKO = ("012345678901234", "山田　花子", "大阪府大阪市北区梅田1丁目")
# 髙, ① and ～ exist in CP932 but not in strict Shift_JIS: the file is read as Excel saves it.
ICHIRO = ("987654321098765", "髙橋　一郎", "東京都千代田区丸の内①～②")
JIRO = ("111111111111111", "佐藤　次郎", "北海道札幌市中央区")
SABURO = ("222222222222222", "鈴木　三郎", "福岡県福岡市博多区")
ENCODINGS = ["utf-8", "utf-8-sig", "cp932"]


def csv_bytes(*records, encoding: str = "utf-8", header=HEADER, newline: str = "\r\n") -> bytes:
    buffer = io.StringIO(newline="")
    rows = list(records) if header is None else [header, *records]
    csv.writer(buffer, lineterminator=newline).writerows(rows)
    return buffer.getvalue().encode(encoding)


def lines_of(data: bytes) -> list[bytes]:
    """Physical lines with their ends, split as Python's universal newlines split them."""
    return data.splitlines(keepends=True)


def screen(tmp_path: Path, data: bytes, exclusions=(), **options) -> tuple[ScreenReport, bytes]:
    source = tmp_path / "宛先.csv"
    source.write_bytes(data)
    destination = tmp_path / "screened.csv"
    report = screen_file(source, destination, np.array(exclusions, dtype=np.int64), **options)
    return report, destination.read_bytes()


def numbers(*records) -> list[int]:
    return [int(record[0]) for record in records]


# --- byte for byte ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_kept_rows_survive_byte_for_byte(tmp_path: Path, encoding: str, newline: str) -> None:
    data = csv_bytes(HANAKO, ICHIRO, JIRO, SABURO, encoding=encoding, newline=newline)
    lines = lines_of(data)

    report, out = screen(tmp_path, data, numbers(ICHIRO, SABURO))

    assert out == lines[0] + lines[1] + lines[3]  # the header (with any BOM), 花子, 次郎
    assert report.encoding == Encoding(encoding)
    assert (report.rows, report.kept, report.removed, report.fault_count) == (4, 2, 2, 0)
    assert report.removed_rows == array("q", [3, 5])
    assert report.faults == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_nothing_excluded_copies_the_file_exactly(tmp_path: Path, encoding: str) -> None:
    data = csv_bytes(HANAKO, ICHIRO, encoding=encoding)

    report, out = screen(tmp_path, data)

    assert out == data
    assert report.kept == 2


def test_cp932_bytes_that_are_not_utf8_pass_through_untouched(tmp_path: Path) -> None:
    # CP932 trail bytes include 0x5C (the ASCII backslash) and 0x7C ('|'): 表 is 0x95 0x5C.
    name = "表示　能力　ソ十"
    data = csv_bytes((HANAKO[0], name, "〒530-0001"), ICHIRO, encoding="cp932")
    assert b"\x5c" in name.encode("cp932")

    _report, out = screen(tmp_path, data, numbers(ICHIRO))

    assert out == b"".join(lines_of(data)[:2])
    assert out.decode("cp932").splitlines()[1] == f"{HANAKO[0]},{name},〒530-0001"


def test_lines_are_kept_with_their_own_line_ends(tmp_path: Path) -> None:
    data = (
        "団体内統合宛名番号,氏名\r\n"
        "012345678901234,山田\n"
        "987654321098765,髙橋\r\n"
        "111111111111111,佐藤\r"
        "222222222222222,鈴木"
    ).encode()

    report, out = screen(tmp_path, data, [987654321098765])

    expected = "団体内統合宛名番号,氏名\r\n012345678901234,山田\n111111111111111,佐藤\r"
    assert out == (expected + "222222222222222,鈴木").encode()
    assert report.removed_rows == array("q", [3])
    assert report.kept == 3


def test_the_column_need_not_be_first(tmp_path: Path) -> None:
    header = ("氏名", ADDRESSEE_COLUMN, "住所")
    records = [(r[1], r[0], r[2]) for r in (HANAKO, ICHIRO, JIRO)]
    data = csv_bytes(*records, header=header)

    report, out = screen(tmp_path, data, numbers(ICHIRO))

    assert out == b"".join(lines_of(data)[i] for i in (0, 1, 3))
    assert report.removed_rows == array("q", [3])


def test_the_column_may_be_last_and_the_only_one(tmp_path: Path) -> None:
    last = csv_bytes(("山田", HANAKO[0]), ("髙橋", ICHIRO[0]), header=("氏名", ADDRESSEE_COLUMN))
    only = csv_bytes((HANAKO[0],), (ICHIRO[0],), header=(ADDRESSEE_COLUMN,), newline="\n")

    for data in (last, only):
        report, out = screen(tmp_path, data, numbers(ICHIRO))
        assert out == b"".join(lines_of(data)[:2])
        assert report.removed_rows == array("q", [3])


def test_quoted_cells_with_commas_quotes_and_line_ends(tmp_path: Path) -> None:
    tricky = (
        (HANAKO[0], "山田, 花子", '大阪府"梅田"\r\n2 行目'),
        (ICHIRO[0], "髙橋\n一郎", "東京都"),
        (JIRO[0], '"佐藤"', "a,b,c\rd"),
        SABURO,
    )
    data = csv_bytes(*tricky)
    lines = lines_of(data)
    # 花子 spans lines 2-3, 一郎 lines 4-5, 次郎 lines 6-7, 三郎 is line 8.
    assert len(lines) == 8

    report, out = screen(tmp_path, data, numbers(ICHIRO))

    assert out == b"".join(lines[i] for i in (0, 1, 2, 5, 6, 7))
    assert report.removed_rows == array("q", [4])
    assert report.rows == 4


def test_a_quoted_addressee_cell_is_read(tmp_path: Path) -> None:
    data = f'{ADDRESSEE_COLUMN},氏名\r\n"{HANAKO[0]}",山田\r\n"{ICHIRO[0]}",髙橋\r\n'.encode()

    report, out = screen(tmp_path, data, numbers(ICHIRO))

    assert out == b"".join(lines_of(data)[:2])
    assert report.kept == 1


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_blank_records_in_the_data_are_skipped_as_the_small_reader_skips_them(
    tmp_path: Path, encoding: str
) -> None:
    data = (
        f"\r\n{ADDRESSEE_COLUMN},氏名\r\n\r\n{HANAKO[0]},山田\r\n,\r\n , 　\r\n"
        f"{JIRO[0]},佐藤\r\n{ICHIRO[0]},髙橋\r\n\r\n"
    ).encode(encoding)
    lines = lines_of(data)

    report, out = screen(tmp_path, data, numbers(ICHIRO))

    # The blank line before the header stays with it; those in the data are not copied.
    assert out == lines[0] + lines[1] + lines[3] + lines[6]
    assert (report.rows, report.kept, report.removed, report.fault_count) == (3, 2, 1, 0)
    assert report.blank_records == 4
    assert report.removed_rows == array("q", [8])  # the header is on line 2
    small = read_addressee_csv(data)
    assert [row.row_number for row in small.rows] == [4, 7, 8]
    assert small.faults == ()


def test_whitespace_around_a_number_is_trimmed_as_the_small_reader_does(tmp_path: Path) -> None:
    data = csv_bytes((f" {HANAKO[0]}　", "山田", "x"), (f"\t{ICHIRO[0]}", "髙橋", "y"))

    report, out = screen(tmp_path, data, numbers(ICHIRO))

    assert out == b"".join(lines_of(data)[:2])
    assert report.removed_rows == array("q", [3])


# --- bad rows --------------------------------------------------------------------------------


def test_each_kind_of_bad_row_is_reported_at_its_row_and_not_copied(tmp_path: Path) -> None:
    records = [
        HANAKO,  # row 2: good
        ("01234567890123X", "a", "b"),  # row 3: not digits
        ("１２３４５６７８９０１２３４５", "a", "b"),  # row 4: full-width digits
        ("12345", "a", "b"),  # row 5: not 15 digits
        ("", "a", "b"),  # row 6: empty
        (HANAKO[0], "again", "b"),  # row 7: duplicate of row 2
        (ICHIRO[0], "a"),  # row 8: column count
        ICHIRO,  # row 9: good
        ("1234567890123456", "a", "b"),  # row 10: 16 digits
    ]
    data = csv_bytes(*records)
    small = read_addressee_csv(data)

    report, out = screen(tmp_path, data)

    assert [fault.row_number for fault in report.faults] == [3, 4, 5, 6, 7, 8, 10]
    assert report.faults == list(small.faults)  # the same rows, values and reasons
    assert "duplicate of row 2" in report.faults[4].reason
    assert report.fault_count == 7
    assert out == b"".join(lines_of(data)[i] for i in (0, 1, 8))
    assert report.passes == 3  # found after the first pass; one more to find its rows


def test_unknown_numbers_are_faults_when_known_is_given(tmp_path: Path) -> None:
    data = csv_bytes(HANAKO, ICHIRO, JIRO)
    known = np.array(numbers(HANAKO, JIRO), dtype=np.int64)

    for predicate in (known, lambda keys: np.isin(keys, known)):
        report, out = screen(tmp_path, data, numbers(JIRO), known=predicate)
        assert report.faults == [RowFault(3, ICHIRO[0], UNKNOWN_HERE)]
        assert report.removed_rows == array("q", [4])
        assert out == b"".join(lines_of(data)[:2])


EDGES = [0, 1, 10**14, 10**15 - 2, 10**15 - 1]


@pytest.mark.parametrize("key_memory", [128, 1 << 20], ids=["spilled", "in-memory"])
def test_known_numbers_streamed_in_blocks_are_checked_exactly(
    tmp_path: Path, key_memory: int
) -> None:
    """The known numbers as a stream (unsorted, in blocks, one of them repeated): the numbers
    at the edges of the range are found, those next to them are not."""
    known = [*EDGES, 123456789012345, 222222222222222]
    in_file = [*EDGES, 3, 10**15 - 3, 123456789012345, 123456789012346, *range(7000, 7200)]
    records = [(f"{number:015d}", "x") for number in in_file]
    data = csv_bytes(*records, header=(ADDRESSEE_COLUMN, "氏名"))
    blocks = [np.array(known[::2]), np.array(known[1::2]), np.array(known[:1])]
    stream_of_known = KnownNumberStream(lambda: iter(blocks))

    report, out = screen(tmp_path, data, [10**15 - 1], known=stream_of_known, key_memory=key_memory)

    unknown = [3, 10**15 - 3, 123456789012346, *range(7000, 7200)]
    assert [fault.value for fault in report.faults] == [f"{n:015d}" for n in unknown]
    assert {fault.reason for fault in report.faults} == {UNKNOWN_HERE}
    assert report.removed_rows.tolist() == [2 + in_file.index(10**15 - 1)]
    kept = [n for n in in_file if n in known and n != 10**15 - 1]
    assert report.kept == len(kept) and report.passes == 2
    lines = lines_of(data)
    assert out == lines[0] + b"".join(line for line in lines[1:] if int(line[:15]) in kept)


def test_known_numbers_all_known_take_one_pass(tmp_path: Path) -> None:
    data = csv_bytes(HANAKO, ICHIRO, JIRO)

    report, out = screen(
        tmp_path, data, known=KnownNumberStream.of(np.array(numbers(JIRO, ICHIRO, HANAKO)))
    )

    assert (report.kept, report.fault_count, report.passes) == (3, 0, 1)
    assert out == data


def test_too_many_unknown_numbers_refuse_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream.known, "MAX_UNKNOWN", 1)
    data = csv_bytes(HANAKO, ICHIRO, JIRO)

    with pytest.raises(InvalidAddresseeFile, match="この機関の宛名番号ではない番号が 1 件以上"):
        screen(tmp_path, data, known=KnownNumberStream.of(np.array(numbers(JIRO))))

    assert os.listdir(tmp_path) == ["宛先.csv"]


def test_a_duplicate_names_the_first_row_even_if_that_one_was_excluded(tmp_path: Path) -> None:
    data = csv_bytes(ICHIRO, HANAKO, (ICHIRO[0], "二回目", "x"), ICHIRO)

    report, out = screen(tmp_path, data, numbers(ICHIRO))

    assert [(f.row_number, f.reason) for f in report.faults] == [
        (4, read_addressee_csv(data).faults[0].reason),
        (5, read_addressee_csv(data).faults[1].reason),
    ]
    assert "duplicate of row 2" in report.faults[0].reason
    assert report.removed_rows == array("q", [2])
    assert out == b"".join(lines_of(data)[i] for i in (0, 2))


@pytest.mark.parametrize("partition_bits", [None, 1])
def test_duplicates_are_found_across_spilled_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, partition_bits: int | None
) -> None:
    rng = np.random.default_rng(5)
    pool = rng.integers(10**14, 10**15, 3000)
    values = rng.choice(pool, 6000)
    text = "団体内統合宛名番号,氏名\n" + "".join(f"{v},名前{i}\n" for i, v in enumerate(values))
    data = text.encode()
    small = read_addressee_csv(data)
    excluded = pool[:100]
    spills = []
    spill = stream.duplicates._KeyStore._spill
    monkeypatch.setattr(
        stream.duplicates._KeyStore, "_spill", lambda store: spills.append(spill(store))
    )
    if partition_bits is not None:  # few partitions, each read back in several slices
        init = stream.duplicates._KeyStore.__init__

        def few_partitions(store, *args) -> None:
            init(store, *args)
            store.bits = partition_bits

        monkeypatch.setattr(stream.duplicates._KeyStore, "__init__", few_partitions)

    # Room for 2,048 (number, row) pairs: they spill to partition files again and again.
    report, out = screen(
        tmp_path, data, excluded, key_memory=2048 * 12, chunk_bytes=4096, temp_dir=tmp_path
    )

    assert len(spills) > 2
    assert report.faults == list(small.faults)
    assert report.fault_count == 6000 - len(set(values.tolist()))
    lines = lines_of(data)
    gone = {str(v) for v in excluded}
    kept = [lines[row.row_number - 1] for row in small.rows if row.addressee_number not in gone]
    assert out == lines[0] + b"".join(kept)
    assert not list(tmp_path.glob("fukaiji-screen-*"))  # the spill files are gone


def test_a_failed_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd, pieces):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stream.output.os, "writev", full)
    data = csv_bytes(*[(f"{n:015d}", "山田", "大阪") for n in range(1, 3000)])

    with pytest.raises(OSError, match="No space left"):
        screen(tmp_path, data, chunk_bytes=1024)
    assert os.listdir(tmp_path) == ["宛先.csv"]


def test_only_the_first_max_faults_are_kept_but_all_are_counted(tmp_path: Path) -> None:
    data = csv_bytes(*[("bad", "x", "y")] * 50, HANAKO)

    report, out = screen(tmp_path, data, max_faults=7)

    assert report.fault_count == 50
    assert [fault.row_number for fault in report.faults] == list(range(2, 9))
    assert out == b"".join(lines_of(data)[i] for i in (0, 51))


# --- strict mode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [("12345", "a", "b"), ("x" * 15, "a", "b"), (HANAKO[0], "dup", "b"), (JIRO[0], "unknown", "b")],
)
def test_strict_mode_refuses_the_file_and_changes_nothing(tmp_path: Path, bad) -> None:
    data = csv_bytes(HANAKO, ICHIRO, bad)
    destination = tmp_path / "screened.csv"
    destination.write_bytes(b"the previous result")
    source = tmp_path / "宛先.csv"
    source.write_bytes(data)
    known = np.array(numbers(HANAKO, ICHIRO), dtype=np.int64)

    with pytest.raises(ScreenRejected) as caught:
        screen_file(source, destination, np.array([], np.int64), strict=True, known=known)

    assert destination.read_bytes() == b"the previous result"
    assert sorted(os.listdir(tmp_path)) == ["screened.csv", "宛先.csv"]
    assert [fault.row_number for fault in caught.value.faults] == [4]
    assert caught.value.fault_count == 1
    assert "4 行目" in caught.value.message
    assert isinstance(caught.value, InvalidAddresseeFile)
    assert pickle.loads(pickle.dumps(caught.value)).message == caught.value.message  # noqa: S301 - our own object


def test_strict_mode_with_a_clean_file_writes_it(tmp_path: Path) -> None:
    data = csv_bytes(HANAKO, ICHIRO)

    report, out = screen(tmp_path, data, numbers(ICHIRO), strict=True)

    assert out == b"".join(lines_of(data)[:2])
    assert report.removed == 1


# --- the whole file refused ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "no header row"),
        ("氏名,住所\r\n山田,大阪\r\n".encode(), "has no column"),
        (f"{ADDRESSEE_COLUMN}\r\n{HANAKO[0]}\r\n\x00\r\n".encode(), "NUL byte at byte offset"),
        (f'{ADDRESSEE_COLUMN},a\r\n{HANAKO[0]},"open\r\n'.encode(), "at line 2"),
        (f'{ADDRESSEE_COLUMN},a\r\n\r\n{HANAKO[0]},"a"b\r\n'.encode(), "at line 3"),
        (b"\xff\xfe" + "x".encode("utf-16-le"), "UTF-16"),
    ],
)
def test_faults_of_the_whole_file_refuse_it(tmp_path: Path, data: bytes, words: str) -> None:
    source = tmp_path / "宛先.csv"
    source.write_bytes(data)
    destination = tmp_path / "screened.csv"

    with pytest.raises(InvalidAddresseeFile) as caught:
        screen_file(source, destination, np.array([], np.int64), chunk_bytes=64)

    assert words in caught.value.message
    with pytest.raises(InvalidAddresseeFile) as small:
        read_addressee_csv(data)
    assert caught.value.message == small.value.message  # the small-file reader's words
    assert not destination.exists()
    assert os.listdir(tmp_path) == ["宛先.csv"]


def test_an_undecodable_byte_in_a_decoded_row_is_a_fault_of_that_row(tmp_path: Path) -> None:
    prefix = f"{ADDRESSEE_COLUMN},氏名\r\n{HANAKO[0]},山田\r\n".encode()
    data = prefix + b"12345\xff,x\r\n"  # not a number, so the row is decoded to report it

    report, out = screen(tmp_path, data)

    assert out == prefix
    assert report.faults == list(read_addressee_csv(data).faults)
    assert [(fault.row_number, fault.value) for fault in report.faults] == [(3, "12345\ufffd")]
    assert "UTF-8" in report.faults[0].reason


def test_an_undecodable_byte_in_the_header_names_its_offset(tmp_path: Path) -> None:
    prefix = f"{ADDRESSEE_COLUMN},".encode()
    data = prefix + b"\xff\r\n" + f"{HANAKO[0]},x\r\n".encode()

    with pytest.raises(InvalidAddresseeFile) as caught:
        screen(tmp_path, data, encoding="utf-8")

    assert f"byte offset {len(prefix)}" in caught.value.message
    assert caught.value.field == "文字コード"


def cp932_with_a_broken_name() -> tuple[bytes, int]:
    """A CP932 file whose third row has a name cut off after a lead byte (0x82 before the
    comma), as a careless edit leaves it. The row quotes its number, so the screen decodes it:
    a row the fast path takes is copied without its other columns being interpreted."""
    good = csv_bytes(HANAKO, ICHIRO, encoding="cp932")
    broken = b'"222222222222222",' + "山田".encode("cp932") + b"\x82,x\r\n"
    return good + broken + csv_bytes(JIRO, header=None, encoding="cp932"), 4


def test_a_broken_cp932_byte_no_longer_refuses_the_file(tmp_path: Path) -> None:
    data, broken_row = cp932_with_a_broken_name()
    lines = lines_of(data)

    report, out = screen(tmp_path, data, numbers(ICHIRO))  # no encoding stated

    assert report.encoding is Encoding.CP932
    assert out == lines[0] + lines[1] + lines[4]
    assert [fault.row_number for fault in report.faults] == [broken_row]
    assert "CP932" in report.faults[0].reason
    assert report.faults == list(read_addressee_csv(data).faults)
    assert (report.kept, report.removed) == (2, 1)


def test_a_line_far_longer_than_a_chunk_is_read(tmp_path: Path) -> None:
    long_name = "長" * 5000
    data = csv_bytes(HANAKO, (ICHIRO[0], long_name, "x"), JIRO)

    _report, out = screen(tmp_path, data, numbers(JIRO), chunk_bytes=64)

    assert out == b"".join(lines_of(data)[:3])


def test_an_unclosed_quote_is_refused_once_the_record_passes_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream.reading, "MAX_RECORD_BYTES", 4096)
    data = csv_bytes(HANAKO) + f'{ICHIRO[0]},"unclosed\r\n'.encode() + b"x,y\r\n" * 2000

    with pytest.raises(InvalidAddresseeFile, match="starting at line 3"):
        screen(tmp_path, data, chunk_bytes=256)
    assert sorted(os.listdir(tmp_path)) == ["宛先.csv"]


def test_a_line_longer_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream.reading, "MAX_RECORD_BYTES", 4096)
    data = csv_bytes(HANAKO, (ICHIRO[0], "長" * 5000, "x"))

    with pytest.raises(InvalidAddresseeFile, match="longer than 4096 bytes"):
        screen(tmp_path, data, chunk_bytes=256)


def test_known_must_answer_every_number(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one bool per number"):
        screen(tmp_path, csv_bytes(HANAKO, ICHIRO), known=lambda keys: np.ones(1, dtype=bool))


def test_the_screened_file_gets_the_source_files_permissions(tmp_path: Path) -> None:
    source = tmp_path / "宛先.csv"
    source.write_bytes(csv_bytes(HANAKO))
    source.chmod(0o640)

    screen_file(source, tmp_path / "screened.csv", np.array([], np.int64))

    assert (tmp_path / "screened.csv").stat().st_mode & 0o777 == 0o640


def test_destination_must_not_be_the_source(tmp_path: Path) -> None:
    source = tmp_path / "宛先.csv"
    source.write_bytes(csv_bytes(HANAKO))

    with pytest.raises(ValueError, match="must not replace"):
        screen_file(source, source, np.array([], np.int64))


# --- chunks, threads, progress ---------------------------------------------------------------


@pytest.mark.parametrize("chunk_bytes", [1, 16, 37, 100, 1000])
@pytest.mark.parametrize("workers", [1, 2])
def test_lines_and_quoted_records_straddling_chunks(
    tmp_path: Path, chunk_bytes: int, workers: int
) -> None:
    records = [
        HANAKO,
        (ICHIRO[0], "髙橋\r\n一郎\r\n三行", "東京都,千代田区"),
        JIRO,
        ("bad", "x", "y"),
        (SABURO[0], '"引用"', "x" * 200),
        ("333333333333333", "a", "b"),
    ]
    data = csv_bytes(*records)
    small = read_addressee_csv(data)

    report, out = screen(tmp_path, data, numbers(JIRO), chunk_bytes=chunk_bytes, workers=workers)

    expected = [row for row in small.rows if row.addressee_number != JIRO[0]]
    assert report.faults == list(small.faults)
    assert report.removed_rows == array("q", [6])  # 一郎's record spans lines 3-5
    assert out.decode().splitlines()[1:] == [
        line for row in expected for line in _record_lines(data, row.row_number)
    ]


def _record_lines(data: bytes, row_number: int) -> list[str]:
    reader = csv.reader(io.StringIO(data.decode(), newline=""))
    start = 1
    for _record in reader:
        if start == row_number:
            return data.decode().splitlines()[start - 1 : reader.line_num]
        start = reader.line_num + 1
    raise AssertionError(row_number)


def test_progress_counts_the_bytes_screened(tmp_path: Path) -> None:
    data = csv_bytes(*[(f"{n:015d}", "山田", "大阪") for n in range(1, 200)])
    seen: list[int] = []

    screen(tmp_path, data, progress=seen.append, chunk_bytes=512)

    assert len(seen) > 5
    assert seen == sorted(seen)
    assert seen[-1] == len(data)


# --- exclusion lists -------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_exclusion_list_with_a_header(encoding: str) -> None:
    data = csv_bytes(ICHIRO, HANAKO, ICHIRO, encoding=encoding)

    assert load_exclusions(data).tolist() == sorted(numbers(HANAKO, ICHIRO))


def test_exclusion_list_without_a_header(tmp_path: Path) -> None:
    path = tmp_path / "除外.txt"
    path.write_bytes(f"{ICHIRO[0]}\n\n {HANAKO[0]} \r\n{ICHIRO[0]}".encode())

    assert load_exclusions(path).tolist() == sorted(numbers(HANAKO, ICHIRO))
    assert load_exclusions(b"").tolist() == []


@pytest.mark.parametrize(
    "data",
    [
        f"{ICHIRO[0]}\n12345\n".encode(),
        f"{ADDRESSEE_COLUMN},氏名\n{ICHIRO[0]},a\nabc,b\n".encode(),
        f"{ICHIRO[0]}\n{HANAKO[0]},extra\n".encode(),
    ],
)
def test_an_exclusion_list_with_a_bad_line_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidAddresseeFile, match="exclusion list has 1 bad rows"):
        load_exclusions(data)


# --- against the reference -------------------------------------------------------------------

NUMBER_POOL = [f"{n:015d}" for n in (1, 10**14, 123456789012345, 999999999999999, 5 * 10**13)]
TEXT = st.text(alphabet=st.sampled_from(list('ab 1,"\r\n山田髙①～ｱ　表ソ')), max_size=12)
CELL = st.one_of(
    st.sampled_from(NUMBER_POOL),
    st.sampled_from(["", " ", "12345", "１２３", f" {NUMBER_POOL[2]} ", "0" * 16, "x" * 15]),
)


@st.composite
def destination_files(draw):
    width = draw(st.integers(1, 4))
    index = draw(st.integers(0, width - 1))
    header = [draw(st.sampled_from(["氏名", "住所", "a", "b c"])) for _ in range(width)]
    header[index] = ADDRESSEE_COLUMN
    records = []
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            records.append([])  # a blank line
        else:
            record = [draw(TEXT) for _ in range(width)]
            record[index] = draw(CELL)
            if kind == 1:  # a wrong number of cells
                record = [*record, "extra"] if draw(st.booleans()) else record[:-1]
            records.append(record)
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    blank_before = draw(st.integers(0, 2))
    buffer.write(newline * blank_before)
    writer.writerows([header, *records])
    encoding = draw(st.sampled_from(ENCODINGS))
    return buffer.getvalue().encode(encoding)


def reference(data: bytes, excluded: set[str], known: set[str] | None):
    """What screening must give, from the stdlib: output bytes, faults, removed rows."""
    small = read_addressee_csv(data)
    lines = lines_of(data)
    codec = "utf-8-sig" if small.encoding is not Encoding.CP932 else "cp932"
    reader = csv.reader(io.StringIO(data.decode(codec), newline=""))
    spans = {}  # first line → last line of every record that is not blank
    start = 1
    for record in reader:
        if any(cell.strip() for cell in record):
            spans[start] = reader.line_num
        start = reader.line_num + 1
    rows = {row.row_number: row for row in small.rows}
    faults = list(small.faults)
    dropped = {fault.row_number for fault in faults}
    removed = []
    if known is not None:
        for number, row in rows.items():
            if row.addressee_number not in known:
                faults.append(RowFault(number, row.addressee_number, UNKNOWN_HERE))
                dropped.add(number)
    for number, row in rows.items():
        if number not in dropped and row.addressee_number in excluded:
            removed.append(number)
            dropped.add(number)
    first_data = _first_data_line(data, small)
    out = lines[: first_data - 1]  # the header, and blank lines before it
    for first, last in spans.items():
        if first >= first_data and first not in dropped:
            out.extend(lines[first - 1 : last])
    return b"".join(out), sorted(faults, key=lambda fault: fault.row_number), removed


def _first_data_line(data: bytes, small) -> int:
    codec = "utf-8-sig" if small.encoding is not Encoding.CP932 else "cp932"
    reader = csv.reader(io.StringIO(data.decode(codec), newline=""))
    for record in reader:
        if any(cell.strip() for cell in record):
            return reader.line_num + 1
    raise AssertionError("no header")


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=destination_files(),
    excluded=st.sets(st.sampled_from(NUMBER_POOL)),
    known=st.one_of(st.none(), st.sets(st.sampled_from(NUMBER_POOL))),
    chunk_bytes=st.sampled_from([1, 7, 50, 1 << 20]),
    workers=st.sampled_from([1, 2]),
    streamed=st.sampled_from([None, 128, 1 << 20]),  # the known numbers streamed; key_memory
)
def test_same_as_the_reference(
    tmp_path_factory, data, excluded, known, chunk_bytes, workers, streamed
):
    tmp_path = tmp_path_factory.mktemp("screen")
    try:
        read_addressee_csv(data)
    except InvalidAddresseeFile as refusal:  # e.g. a header without the column's cell
        with pytest.raises(InvalidAddresseeFile) as caught:
            screen(tmp_path, data, chunk_bytes=chunk_bytes)
        assert caught.value.message == refusal.message
        return
    expected_out, expected_faults, expected_removed = reference(data, excluded, known)
    known_array = None if known is None else np.array(sorted(map(int, known)), dtype=np.int64)
    options: dict = {"known": known_array}
    if streamed is not None and known_array is not None:
        options = {"known": KnownNumberStream.of(known_array[::-1]), "key_memory": streamed}

    report, out = screen(
        tmp_path,
        data,
        sorted(map(int, excluded)),
        chunk_bytes=chunk_bytes,
        workers=workers,
        **options,
    )

    assert out == expected_out
    assert report.faults == expected_faults
    assert report.removed_rows.tolist() == expected_removed
    assert report.fault_count == len(expected_faults)
    assert report.rows == report.kept + report.removed + report.fault_count


@given(
    members=st.sets(st.integers(0, 10**15 - 1), max_size=300),
    others=st.lists(st.integers(0, 10**15 - 1), max_size=300),
)
def test_number_sets_answer_exactly(members: set[int], others: list[int]) -> None:
    numbers = np.array(sorted(members), dtype=np.int64)
    probe = np.array([*members, *others], dtype=np.int64)
    expected = np.isin(probe, numbers)

    assert (stream.numbers._HashSet(numbers).contains(probe) == expected).all()
    assert (stream.numbers._NumberSet(numbers).contains(probe) == expected).all()


def test_repeated_numbers_are_made_unique_in_place_across_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream.known, "_BLOCK", 3)
    keys = np.array([1, 1, 1, 2, 2, 3, 4, 4, 4, 4, 5, 10**15 - 1], dtype=np.int64)

    assert stream.known._unique_in_place(keys).tolist() == [1, 2, 3, 4, 5, 10**15 - 1]
