"""IDENTIFIER_KINDS: the kinds the CLI can check, with their Japanese labels and parsers."""

import pytest

from fukaiji.identifiers import (
    IDENTIFIER_KINDS,
    InstitutionSpecificCode,
    InvalidIdentifier,
    LocalGovernmentCode,
    UnknownLocalGovernment,
)

VALID = {
    "my-number": ("個人番号", "１２３４ ５６７８ ９０１８", "123456789018"),
    "resident-record-code": ("住民票コード", "12345-67890-1", "12345678901"),
    "local-government-code": ("地方公共団体コード", "１３１０１６", "131016"),
    "addressee-number": ("団体内統合宛名番号", "000000000000001", "000000000000001"),
    "institution-specific-code": ("機関別符号", "A" * 51 + "Q", "A" * 51 + "Q"),
}


def test_kinds() -> None:
    assert set(IDENTIFIER_KINDS) == set(VALID)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_parser_accepts_and_returns_the_canonical_form(kind: str) -> None:
    label, parser = IDENTIFIER_KINDS[kind]
    expected_label, typed, canonical = VALID[kind]
    assert label == expected_label
    assert str(parser(typed)) == canonical


@pytest.mark.parametrize("kind", sorted(VALID))
def test_parser_refuses_with_the_field_name(kind: str) -> None:
    label, parser = IDENTIFIER_KINDS[kind]
    with pytest.raises(InvalidIdentifier) as caught:
        parser("12x")
    assert caught.value.field == label


def test_local_government_code_must_be_listed() -> None:
    _, parser = IDENTIFIER_KINDS["local-government-code"]
    assert parser("131016") == LocalGovernmentCode("131016")
    with pytest.raises(UnknownLocalGovernment):
        parser("011011")


def test_institution_specific_code_parser_returns_the_type() -> None:
    _, parser = IDENTIFIER_KINDS["institution-specific-code"]
    assert isinstance(parser("A" * 51 + "Q"), InstitutionSpecificCode)
