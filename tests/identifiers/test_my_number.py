"""個人番号 (My Number): validation, normalisation and fault messages."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.jp import in_

from fukaiji.identifiers import InvalidIdentifier, MyNumber


def test_valid_number() -> None:
    number = MyNumber("123456789018")
    assert str(number) == "123456789018"
    assert number.value == "123456789018"


def test_sample_card_number_is_refused_with_the_exact_message() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        MyNumber.parse("123456789012")
    assert str(caught.value) == (
        "個人番号 123456789012: 検査用数字は 8 のはずです (check digit should be 8)"
    )
    assert caught.value.field == "個人番号"
    assert caught.value.value == "123456789012"


@pytest.mark.parametrize(
    "typed",
    [
        "１２３４５６７８９０１８",
        "1234 5678 9018",
        "1234-5678-9018",
        "１２３４　５６７８　９０１８",
        "１２３４－５６７８－９０１８",
        "1234ー5678ー9018",
        " 123456789018\n",
        "\ufeff123456789018\u200b",
    ],
)
def test_parse_normalises_desk_input(typed: str) -> None:
    assert MyNumber.parse(typed) == MyNumber("123456789018")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "個人番号 : 値が空です (value is empty)"),
        (" - ", "個人番号 : 値が空です (value is empty)"),
        (
            "12345678901X",
            "個人番号 12345678901X: 数字でない文字「X」が 12 文字目にあります"
            " (non-digit character 'X' at position 12)",
        ),
        (
            "1234567890",
            "個人番号 1234567890: 12 桁のはずですが 10 桁です (should be 12 digits, not 10)",
        ),
        (
            "1234567890180",
            "個人番号 1234567890180: 12 桁のはずですが 13 桁です (should be 12 digits, not 13)",
        ),
        (
            "621498320258",
            "個人番号 621498320258: 検査用数字は 7 のはずです (check digit should be 7)",
        ),
    ],
)
def test_each_fault_has_its_own_message(typed: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        MyNumber.parse(typed)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "value", ["123456789012", "1234 5678 9018", "１２３４５６７８９０１８", ""]
)
def test_direct_construction_does_not_normalise_and_refuses(value: str) -> None:
    with pytest.raises(InvalidIdentifier):
        MyNumber(value)


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        MyNumber(123456789018)  # type: ignore[arg-type]


def test_is_immutable_and_hashable() -> None:
    number = MyNumber("123456789018")
    with pytest.raises(dataclasses.FrozenInstanceError):
        number.value = "621498320257"  # type: ignore[misc]
    assert {number, MyNumber.parse("1234 5678 9018")} == {number}


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_agrees_with_stdnum_on_every_twelve_digit_string(digits: str) -> None:
    try:
        MyNumber(digits)
    except InvalidIdentifier as err:
        assert not in_.is_valid(digits)
        assert err.fault_en == f"check digit should be {in_.calc_check_digit(digits[:-1])}"
    else:
        assert in_.is_valid(digits)


def _accepts(value: str) -> bool:
    try:
        MyNumber(value)
    except InvalidIdentifier:
        return False
    return True


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_every_body_has_exactly_one_valid_check_digit(body: str) -> None:
    accepted = [digit for digit in "0123456789" if _accepts(body + digit)]
    assert accepted == [in_.calc_check_digit(body)]


def test_repr_does_not_reveal_the_number() -> None:
    assert repr(MyNumber("123456789018")) == "MyNumber('********9018')"
