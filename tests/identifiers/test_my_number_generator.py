"""個人番号の生成器 (My Number generator): a keyed bijection from serials to valid numbers."""

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum.jp import in_

from fukaiji.identifiers import MyNumber, MyNumberGenerator

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SERIALS = st.integers(min_value=0, max_value=10**11 - 1)
KEYS = st.binary(min_size=16, max_size=64)


@pytest.fixture(scope="module")
def generator() -> MyNumberGenerator:
    return MyNumberGenerator(KEY)


def test_200000_consecutive_serials_give_distinct_valid_numbers(
    generator: MyNumberGenerator,
) -> None:
    numbers = {generator.number_for(serial).value for serial in range(200_000)}
    assert len(numbers) == 200_000
    assert all(len(number) == 12 and number.isdigit() for number in numbers)


def test_is_deterministic_for_a_key(generator: MyNumberGenerator) -> None:
    again = MyNumberGenerator(KEY)
    assert [generator.number_for(s) for s in range(50)] == [again.number_for(s) for s in range(50)]


def test_different_keys_give_different_sequences(generator: MyNumberGenerator) -> None:
    other = MyNumberGenerator(OTHER_KEY)
    same = sum(generator.number_for(s) == other.number_for(s) for s in range(1_000))
    assert same == 0


def test_numbers_do_not_follow_the_serials(generator: MyNumberGenerator) -> None:
    bodies = [int(generator.number_for(s).value[:11]) for s in range(1_000)]
    assert bodies != sorted(bodies)
    assert all(abs(b - a) != 1 for a, b in itertools.pairwise(bodies))


@given(serial=SERIALS, key=KEYS)
def test_every_generated_number_is_valid(serial: int, key: bytes) -> None:
    number = MyNumberGenerator(key).number_for(serial)
    assert isinstance(number, MyNumber)
    assert in_.is_valid(number.value)


@settings(max_examples=50)
@given(serials=st.sets(SERIALS, min_size=2, max_size=300), key=KEYS)
def test_distinct_serials_never_collide(serials: set[int], key: bytes) -> None:
    generator = MyNumberGenerator(key)
    assert len({generator.number_for(serial) for serial in serials}) == len(serials)


@given(serial=SERIALS, key=KEYS, other_key=KEYS)
def test_another_key_gives_another_number(serial: int, key: bytes, other_key: bytes) -> None:
    # Could fail by chance only with probability about 1e-11 per example.
    assume(key != other_key)
    first = MyNumberGenerator(key).number_for(serial)
    assert first != MyNumberGenerator(other_key).number_for(serial)


@pytest.mark.parametrize("serial", [-1, 10**11, 10**12])
def test_serial_out_of_range_is_refused(generator: MyNumberGenerator, serial: int) -> None:
    with pytest.raises(ValueError, match="serial"):
        generator.number_for(serial)


@pytest.mark.parametrize("serial", [0, 10**11 - 1])
def test_range_ends_are_accepted(generator: MyNumberGenerator, serial: int) -> None:
    assert in_.is_valid(generator.number_for(serial).value)


def test_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        MyNumberGenerator(b"short")
