"""暗証番号の規則 (PIN rules): 4 digits for 利用者証明用, 6–16 capitals and digits for 署名用."""

from __future__ import annotations

import pickle
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fukaiji.jpki import CardFunction, InvalidPin, PinFault, check_pin, pin_faults
from fukaiji.jpki.pins import hash_pin, verify_pin

AUTH, SIGN = CardFunction.AUTH, CardFunction.SIGN


@pytest.mark.parametrize("pin", ["0000", "7395", "9999"])
def test_four_digits_make_an_auth_pin(pin: str) -> None:
    assert pin_faults(AUTH, pin) == []


@pytest.mark.parametrize(
    ("pin", "faults"),
    [
        ("739", [PinFault.WRONG_LENGTH]),
        ("73951", [PinFault.WRONG_LENGTH]),
        ("73a5", [PinFault.NOT_DIGITS]),
        ("７３９５", [PinFault.NOT_DIGITS]),  # full-width digits are not the chip's digits
        ("", [PinFault.WRONG_LENGTH]),
        ("7 395", [PinFault.WRONG_LENGTH, PinFault.NOT_DIGITS]),
    ],
)
def test_auth_pin_faults(pin: str, faults: list[PinFault]) -> None:
    assert pin_faults(AUTH, pin) == faults


@pytest.mark.parametrize("pin", ["ABC123", "HIBARI48TSUBAME", "A1B2C3D4E5F6G7H8", "1A2345"])
def test_capitals_and_digits_make_a_sign_pin(pin: str) -> None:
    assert pin_faults(SIGN, pin) == []


@pytest.mark.parametrize(
    ("pin", "faults"),
    [
        ("ABC12", [PinFault.TOO_SHORT]),
        ("ABCDEFGH123456789", [PinFault.TOO_LONG]),
        ("abc123", [PinFault.BAD_CHARACTERS, PinFault.NO_LETTER]),
        ("ABCDEFG", [PinFault.NO_DIGIT]),
        ("1234567", [PinFault.NO_LETTER]),
        ("ABC-123", [PinFault.BAD_CHARACTERS]),
        ("ＡＢＣ１２３", [PinFault.BAD_CHARACTERS, PinFault.NO_LETTER, PinFault.NO_DIGIT]),
    ],
)
def test_sign_pin_faults(pin: str, faults: list[PinFault]) -> None:
    assert pin_faults(SIGN, pin) == faults


@given(st.from_regex(r"\A[0-9]{4}\Z"))
def test_every_four_digit_string_is_an_auth_pin(pin: str) -> None:
    assert pin_faults(AUTH, pin) == []


@given(st.from_regex(r"\A(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*[0-9])[A-Z0-9]{6,16}\Z"))
def test_every_well_formed_sign_pin_passes(pin: str) -> None:
    assert pin_faults(SIGN, pin) == []


@given(st.text(max_size=20))
def test_the_sign_rule_is_exactly_the_documented_one(pin: str) -> None:
    documented = re.fullmatch(r"(?=.*[A-Z])(?=.*[0-9])[A-Z0-9]{6,16}", pin) is not None
    assert (pin_faults(SIGN, pin) == []) is documented


@pytest.mark.parametrize(
    ("function", "pin"), [(AUTH, "739"), (AUTH, "73a5x"), (SIGN, "abc123"), (SIGN, "QWERTYUIOP")]
)
def test_the_error_names_field_fault_and_rule_but_never_the_pin(
    function: CardFunction, pin: str
) -> None:
    with pytest.raises(InvalidPin) as raised:
        check_pin(function, pin, field="new_pin")
    error = raised.value
    assert error.field == "new_pin"
    assert function.pin_label in error.message and f"({function.value} PIN" in error.message
    for text in (error.message, str(error), repr(error), repr(error.__dict__)):
        assert pin not in text
    assert pickle.loads(pickle.dumps(error)).message == error.message  # noqa: S301  our own


@pytest.mark.parametrize(("function", "pin"), [(AUTH, "7395"), (SIGN, "HIBARI48TSUBAME")])
def test_pins_are_stored_as_argon2id_hashes(function: CardFunction, pin: str) -> None:
    hashed = hash_pin(function, pin)
    assert hashed.startswith("$argon2id$") and pin not in hashed
    assert verify_pin(function, hashed, pin)
    assert not verify_pin(function, hashed, "0000" if function is AUTH else "WRONG1")
    assert not verify_pin(function, "not a hash", pin)
