"""識別番号の誤り (identifier errors): message format and behaviour."""

import pickle

import pytest

from fukaiji.identifiers import InvalidIdentifier, UnknownLocalGovernment


def test_message_names_field_value_and_fault_in_both_languages() -> None:
    err = InvalidIdentifier(
        "個人番号", "123456789012", "検査用数字は 8 のはずです", "check digit should be 8"
    )
    assert str(err) == "個人番号 123456789012: 検査用数字は 8 のはずです (check digit should be 8)"
    assert (err.field, err.value, err.fault_ja, err.fault_en) == (
        "個人番号",
        "123456789012",
        "検査用数字は 8 のはずです",
        "check digit should be 8",
    )


def test_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="check digit"):
        raise InvalidIdentifier("個人番号", "1", "x", "check digit")


def test_unknown_local_government_is_an_invalid_identifier() -> None:
    err = UnknownLocalGovernment("地方公共団体コード", "011011", "一覧にありません", "not listed")
    assert isinstance(err, InvalidIdentifier)
    assert str(err) == "地方公共団体コード 011011: 一覧にありません (not listed)"


@pytest.mark.parametrize("cls", [InvalidIdentifier, UnknownLocalGovernment])
def test_survives_pickling(cls: type[InvalidIdentifier]) -> None:
    err = cls("住民票コード", "1", "短すぎます", "too short")
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert type(copy) is cls
    assert str(copy) == str(err)
    assert copy.fault_en == "too short"
