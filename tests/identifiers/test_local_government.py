"""地方公共団体コード (local government code) and the shipped official list."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fukaiji.identifiers import (
    InvalidIdentifier,
    LocalGovernment,
    LocalGovernmentCode,
    UnknownLocalGovernment,
    all_local_governments,
    find_local_governments,
    lookup_local_government,
)


def _expected_check_digit(body: str) -> str:
    # Written out again here so that the test does not trust the code under test.
    d1, d2, d3, d4, d5 = (int(c) for c in body)
    s = 6 * d1 + 5 * d2 + 4 * d3 + 3 * d4 + 2 * d5
    return str((11 - s % 11) % 10)


def test_all_rows_load() -> None:
    governments = all_local_governments()
    assert len(governments) == 1_788
    assert sum(g.is_prefecture for g in governments) == 47
    assert sum(not g.is_prefecture for g in governments) == 1_741
    assert len({g.code for g in governments}) == 1_788


def test_every_listed_code_passes_its_check_digit() -> None:
    for government in all_local_governments():
        code = government.code.value
        assert code[5] == _expected_check_digit(code[:5]), government


def test_every_municipality_belongs_to_a_listed_prefecture() -> None:
    for government in all_local_governments():
        prefecture = lookup_local_government(government.prefecture_code)
        assert prefecture.is_prefecture
        assert prefecture.prefecture == government.prefecture


def test_list_is_loaded_once() -> None:
    assert all_local_governments() is all_local_governments()


def test_prefecture_row() -> None:
    tokyo = lookup_local_government("130001")
    assert isinstance(tokyo, LocalGovernment)
    assert tokyo.is_prefecture
    assert tokyo.prefecture == "東京都"
    assert tokyo.city is None
    assert tokyo.city_kana is None
    assert tokyo.name == "東京都"
    assert tokyo.prefecture_code == LocalGovernmentCode("130001")


def test_municipality_row() -> None:
    chiyoda = lookup_local_government("131016")
    assert not chiyoda.is_prefecture
    assert chiyoda.city == "千代田区"
    assert chiyoda.name == "東京都千代田区"
    assert str(chiyoda.prefecture_code) == "130001"
    assert chiyoda.prefecture_kana == "ﾄｳｷｮｳﾄ"


def test_lookup_accepts_a_code_object_and_desk_input() -> None:
    expected = lookup_local_government("131016")
    assert lookup_local_government(LocalGovernmentCode("131016")) is expected
    assert lookup_local_government("１３１０１６") is expected


def test_wrong_check_digit_names_the_expected_digit() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        lookup_local_government("131017")
    assert not isinstance(caught.value, UnknownLocalGovernment)
    assert str(caught.value) == (
        "地方公共団体コード 131017: 検査用数字は 6 のはずです (check digit should be 6)"
    )


@pytest.mark.parametrize(
    ("typed", "fault_en"),
    [
        ("", "value is empty"),
        ("13101", "should be 6 digits, not 5"),
        ("13A016", "non-digit character 'A' at position 3"),
    ],
)
def test_malformed_codes(typed: str, fault_en: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        LocalGovernmentCode.parse(typed)
    assert caught.value.fault_en == fault_en


def test_well_formed_but_unlisted_code() -> None:
    # 札幌市中央区: a designated-city ward, valid check digit, not in the list.
    assert LocalGovernmentCode("011011")
    with pytest.raises(UnknownLocalGovernment) as caught:
        lookup_local_government("011011")
    assert str(caught.value) == (
        "地方公共団体コード 011011: 全国地方公共団体コードの一覧にありません"
        " (not in the official list of local government codes)"
    )


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_check_digit_rule(body: str) -> None:
    right = _expected_check_digit(body)
    assert str(LocalGovernmentCode(body + right)) == body + right
    for wrong in set("0123456789") - {right}:
        with pytest.raises(InvalidIdentifier, match=f"should be {right}"):
            LocalGovernmentCode(body + wrong)


def _names(found: list[LocalGovernment]) -> list[str]:
    return [government.name for government in found]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("東京都", ["東京都"]),
        ("千代田区", ["東京都千代田区"]),
        ("東京都千代田区", ["東京都千代田区"]),
        ("東京都 千代田区", ["東京都千代田区"]),
        ("府中市", ["東京都府中市", "広島県府中市"]),
        ("伊達市", ["北海道伊達市", "福島県伊達市"]),
        ("広島県府中市", ["広島県府中市"]),
        ("茅ケ崎市", ["神奈川県茅ヶ崎市"]),
        ("鎌ヶ谷市", ["千葉県鎌ケ谷市"]),
        ("那珂川市", ["福岡県那珂川市"]),
        ("千代田", []),
        ("", []),
    ],
)
def test_find_by_name(query: str, names: list[str]) -> None:
    assert _names(find_local_governments(query)) == names


def test_find_returns_a_fresh_list() -> None:
    found = find_local_governments("府中市")
    found.clear()
    assert len(find_local_governments("府中市")) == 2
