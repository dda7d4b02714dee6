"""法令根拠表: the shipped sample table, strict parsing, and how a row matches an institution."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from fukaiji.network.errors import InvalidLegalBasisTable
from fukaiji.network.legal_basis import (
    AFFAIR_CODE,
    COLUMNS,
    ITEM_CODE,
    parse_legal_basis,
    shipped_legal_basis,
)
from fukaiji.network.models import InstitutionKind

HEADER = ",".join(COLUMNS)
GOOD = (
    "1,市町村長,municipality,,JM01000000000010,児童手当の支給に関する事務,"
    "市町村長,municipality,,TM02000000000001,地方税関係情報"
)


@dataclass(frozen=True)
class Place:
    kind: str
    code: str
    body_code: str | None = None


MUNICIPALITY = Place(InstitutionKind.MUNICIPALITY, "131016")
PREFECTURE = Place(InstitutionKind.PREFECTURE, "130001")
NENKIN = Place(InstitutionKind.INCORPORATED_AGENCY, "JPNENKIN")
OTHER_AGENCY = Place(InstitutionKind.INCORPORATED_AGENCY, "JASSO")
INSURER = Place(InstitutionKind.HEALTH_INSURER, "01130012")


def table(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_the_shipped_table_is_sample_data_covering_the_usual_cases() -> None:
    shipped = shipped_legal_basis()
    assert shipped is shipped_legal_basis()  # parsed once, kept in memory
    assert len(shipped) >= 20
    for row in shipped:
        assert AFFAIR_CODE.fullmatch(row.affair_code) and ITEM_CODE.fullmatch(row.item_code)
    names = {
        (row.requester.role, row.affair_name[:4], row.provider.role, row.item_name)
        for row in shipped
    }
    assert ("市町村長", "児童手当", "市町村長", "地方税関係情報") in names
    assert ("市町村長", "国民健康", "市町村長", "地方税関係情報") in names
    assert ("都道府県知事", "生活保護", "住所地市町村長", "住民票関係情報") in names
    # Every 住民票関係情報 row is answered by the municipality of residence, routed by the network.
    assert all(row.provider.is_residence for row in shipped if row.item_name == "住民票関係情報")
    assert any(row.requester.role == "日本年金機構" for row in shipped)
    assert any(row.provider.role == "医療保険者" for row in shipped)


def test_a_role_matches_by_kind_and_by_code_only_where_the_row_names_one() -> None:
    shipped = shipped_legal_basis()
    child_tax = ("JM01000000000010", "TM02000000000001")
    assert shipped.find(MUNICIPALITY, child_tax[0], Place("municipality", "271004"), child_tax[1])
    assert shipped.find(PREFECTURE, child_tax[0], MUNICIPALITY, child_tax[1]) is None
    pension = ("JM01000000000020", "TM04000000000001")
    assert shipped.find(MUNICIPALITY, pension[0], NENKIN, pension[1])
    assert shipped.find(MUNICIPALITY, pension[0], OTHER_AGENCY, pension[1]) is None
    health = ("JM01000000000070", "TM03000000000001")
    assert shipped.find(INSURER, health[0], Place("health_insurer", "06139999"), health[1])
    assert shipped.may_provide(NENKIN, "TM04000000000001")
    assert not shipped.may_provide(MUNICIPALITY, "TM04000000000001")


def test_a_good_file_parses_and_a_byte_order_mark_is_allowed() -> None:
    parsed = parse_legal_basis("\ufeff" + table(GOOD))
    (row,) = parsed
    assert (row.entry, row.requester.kind, row.provider.code) == (
        1,
        InstitutionKind.MUNICIPALITY,
        None,
    )
    assert parsed.affair_name("JM01000000000010") == "児童手当の支給に関する事務"


@pytest.mark.parametrize(
    ("row", "column", "fault"),
    [
        (GOOD.replace("JM01000000000010", "JM0100"), "affair_code", "JM followed by 14 digits"),
        (GOOD.replace("TM02000000000001", "XX02000000000001"), "item_code", "TM followed by"),
        (GOOD.replace(",municipality,,JM", ",city,,JM"), "requester_kind", "kind should be"),
        (GOOD.replace("1,市町村長", "0,市町村長"), "entry", "positive integer"),
        (GOOD.replace(",地方税関係情報", ","), "item_name", "is empty"),
        (
            GOOD.replace("市町村長,municipality,,TM", "市町村長,municipality,tokyo,TM"),
            "provider_code",
            "4-16",
        ),
        (GOOD.replace("1,市町村長", "1, 市町村長"), "requester_role", "leading or trailing"),
        (GOOD + ",extra", "row", "should have 11 columns, not 12"),
    ],
)
def test_a_malformed_row_is_refused_naming_its_row_number_and_fault(
    row: str, column: str, fault: str
) -> None:
    with pytest.raises(InvalidLegalBasisTable) as refused:
        parse_legal_basis(table(GOOD.replace("1,", "2,", 1), row))
    (found,) = refused.value.faults
    assert (found.row, found.column) == (3, column)
    assert fault in found.fault_en
    assert "3 行目" in str(refused.value)


def test_every_bad_row_is_reported_at_once_and_inconsistencies_are_faults() -> None:
    renamed = GOOD.replace("1,", "2,", 1).replace("地方税関係情報", "税情報")
    duplicate = GOOD.replace("1,", "3,", 1)
    role_elsewhere = GOOD.replace("1,市町村長,municipality", "4,市町村長,prefecture").replace(
        "TM02000000000001,地方税関係情報", "TM01000000000001,住民票関係情報"
    )
    with pytest.raises(InvalidLegalBasisTable) as refused:
        parse_legal_basis(table(GOOD, renamed, duplicate, "", role_elsewhere, GOOD))
    found = [(fault.row, fault.column) for fault in refused.value.faults]
    assert found == [
        (3, "item_name"),
        (4, "row"),
        (5, "row"),
        (6, "requester_role"),
        (7, "entry"),
    ]
    messages = [fault.fault_en for fault in refused.value.faults]
    assert "same combination as row 2" in messages[1]
    assert "blank line" in messages[2]


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("", "empty"),
        (HEADER + "\n", "no rows"),
        ("entry,requester\n" + GOOD, "header should be"),
        (table(GOOD.replace("児童手当", '"児童手当')), "bad CSV"),
    ],
)
def test_an_empty_or_headless_file_is_refused(text: str, fault: str) -> None:
    with pytest.raises(InvalidLegalBasisTable) as refused:
        parse_legal_basis(text)
    assert fault in refused.value.faults[0].fault_en
