"""機関別符号 (institution-specific code): keyed, per institution, opaque."""

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fukaiji.identifiers import InstitutionSpecificCode, InvalidIdentifier

NETWORK_KEY = b"network-key-for-tests-0123456789"
OTHER_KEY = b"another-network-key-for-tests-01"
FORMAT = re.compile(r"[A-Z2-7]{51}[AQ]")
NAMES = st.text(min_size=1, max_size=40)


def _bits(code: InstitutionSpecificCode) -> int:
    return int.from_bytes(base64.b32decode(code.value + "===="), "big")


def test_equal_inputs_give_equal_codes() -> None:
    first = InstitutionSpecificCode.derive(NETWORK_KEY, "1310161000", "person-1")
    again = InstitutionSpecificCode.derive(NETWORK_KEY, "1310161000", "person-1")
    assert first == again
    assert hash(first) == hash(again)


def test_different_institutions_give_unrelated_codes() -> None:
    first = InstitutionSpecificCode.derive(NETWORK_KEY, "1310161000", "person-1")
    second = InstitutionSpecificCode.derive(NETWORK_KEY, "1310161001", "person-1")
    assert first != second
    # Unrelated: about half of the 256 bits differ, not a few.
    assert 64 < (_bits(first) ^ _bits(second)).bit_count() < 192


def test_different_keys_give_different_codes() -> None:
    first = InstitutionSpecificCode.derive(NETWORK_KEY, "1310161000", "person-1")
    assert first != InstitutionSpecificCode.derive(OTHER_KEY, "1310161000", "person-1")


def test_concatenation_is_unambiguous() -> None:
    first = InstitutionSpecificCode.derive(NETWORK_KEY, "ab", "c")
    assert first != InstitutionSpecificCode.derive(NETWORK_KEY, "a", "bc")


@given(institution=NAMES, person=NAMES)
def test_format_is_52_base32_characters(institution: str, person: str) -> None:
    code = InstitutionSpecificCode.derive(NETWORK_KEY, institution, person)
    assert FORMAT.fullmatch(str(code))
    assert len(base64.b32decode(code.value + "====")) == 32
    assert InstitutionSpecificCode.parse(str(code)) == code


@given(first=st.tuples(NAMES, NAMES), second=st.tuples(NAMES, NAMES))
def test_distinct_pairs_give_distinct_codes(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    codes = {InstitutionSpecificCode.derive(NETWORK_KEY, *pair) for pair in (first, second)}
    assert len(codes) == len({first, second})


def test_parse_allows_spaces_but_does_not_fold_case() -> None:
    code = InstitutionSpecificCode.derive(NETWORK_KEY, "1310161000", "person-1")
    spaced = " ".join(code.value[i : i + 4] for i in range(0, 52, 4))
    assert InstitutionSpecificCode.parse(spaced) == code
    with pytest.raises(InvalidIdentifier) as caught:
        InstitutionSpecificCode.parse(code.value.lower())
    assert "not base32" in caught.value.fault_en


@pytest.mark.parametrize(
    ("value", "fault_en"),
    [
        ("", "value is empty"),
        ("A" * 51, "should be 52 characters, not 51"),
        ("A" * 53, "should be 52 characters, not 53"),
        ("A" * 50 + "1A", "character '1' at position 51 is not base32 (A-Z, 2-7)"),
        ("A" * 51 + "B", "last character should be A or Q"),
    ],
)
def test_invalid_format_is_refused(value: str, fault_en: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        InstitutionSpecificCode(value)
    assert caught.value.field == "機関別符号"
    assert caught.value.fault_en == fault_en


def test_well_formed_value_is_accepted() -> None:
    assert str(InstitutionSpecificCode("A" * 51 + "Q")) == "A" * 51 + "Q"


@pytest.mark.parametrize(
    ("key", "institution", "person"),
    [(b"short", "1310161000", "p"), (NETWORK_KEY, "", "p"), (NETWORK_KEY, "1310161000", "")],
)
def test_derive_refuses_weak_key_or_empty_parts(key: bytes, institution: str, person: str) -> None:
    with pytest.raises(ValueError, match="must"):
        InstitutionSpecificCode.derive(key, institution, person)
