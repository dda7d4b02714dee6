"""住民票コード (resident record code) and 団体内統合宛名番号 (addressee number)."""

import pytest

from fukaiji.identifiers import AddresseeNumber, InvalidIdentifier, ResidentRecordCode


def test_resident_record_code_has_no_enforced_check_digit() -> None:
    codes = {ResidentRecordCode(f"1234567890{digit}") for digit in range(10)}
    assert len(codes) == 10


def test_resident_record_code_parse() -> None:
    code = ResidentRecordCode.parse("１２３４５－６７８９０－１")
    assert code == ResidentRecordCode("12345678901")
    assert str(code) == "12345678901"


def test_addressee_number_parse() -> None:
    number = AddresseeNumber.parse("12345 67890 12345")
    assert str(number) == "123456789012345"


@pytest.mark.parametrize(
    ("cls", "typed", "message"),
    [
        (ResidentRecordCode, "", "住民票コード : 値が空です (value is empty)"),
        (
            ResidentRecordCode,
            "1234567890",
            "住民票コード 1234567890: 11 桁のはずですが 10 桁です (should be 11 digits, not 10)",
        ),
        (
            ResidentRecordCode,
            "1234567890a",
            "住民票コード 1234567890a: 数字でない文字「a」が 11 文字目にあります"
            " (non-digit character 'a' at position 11)",
        ),
        (
            AddresseeNumber,
            "12345678901234",
            "団体内統合宛名番号 12345678901234: 15 桁のはずですが 14 桁です"
            " (should be 15 digits, not 14)",
        ),
        (
            AddresseeNumber,
            "１２３",
            "団体内統合宛名番号 １２３: 数字でない文字「１」が 1 文字目にあります"
            " (non-digit character '１' at position 1)",
        ),
    ],
)
def test_direct_construction_of_invalid_values_raises(
    cls: type[ResidentRecordCode] | type[AddresseeNumber], typed: str, message: str
) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        cls(typed)
    assert str(caught.value) == message


def test_invisible_characters_are_shown_by_code_point() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        AddresseeNumber("12345678901234\u200b")
    assert "U+200B" in caught.value.fault_ja
