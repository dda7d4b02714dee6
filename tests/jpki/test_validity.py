"""有効期限: certificates are valid until the holder's fifth birthday after issue (pure rule)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fukaiji.jpki.validity import (
    birthday_in,
    certificate_not_after,
    fifth_birthday_after,
    within_validity,
)


@pytest.mark.parametrize(
    ("birth", "issued", "fifth"),
    [
        # Birthday still ahead this year: it is the first.
        (date(1990, 3, 15), date(2026, 1, 10), date(2030, 3, 15)),
        # Birthday already past this year: the first is next year.
        (date(1990, 3, 15), date(2026, 11, 27), date(2031, 3, 15)),
        # Issued on the birthday: that day is not "after" issue.
        (date(1990, 11, 27), date(2026, 11, 27), date(2031, 11, 27)),
        # Issued the day before the birthday: the next day is the first.
        (date(1990, 11, 28), date(2026, 11, 27), date(2030, 11, 28)),
        # Born on the issue day (a newborn's card).
        (date(2026, 11, 27), date(2026, 11, 27), date(2031, 11, 27)),
    ],
)
def test_fifth_birthday_after_issue(birth: date, issued: date, fifth: date) -> None:
    assert fifth_birthday_after(birth, issued) == fifth


@pytest.mark.parametrize(
    ("issued", "fifth"),
    [
        # 2027-02-28 (1), 2028-02-29, 2029-02-28, 2030-02-28, 2031-02-28 (5)
        (date(2026, 11, 27), date(2031, 2, 28)),
        # Fifth lands in a leap year: the real 29 February.
        (date(2027, 3, 1), date(2032, 2, 29)),
        # Issued on the 28 February that stands for the birthday: not counted.
        (date(2027, 2, 28), date(2032, 2, 29)),
        # Issued on the birthday itself, in a leap year.
        (date(2028, 2, 29), date(2033, 2, 28)),
        # Issued on 28 February of a leap year: the 29th that follows is the first.
        (date(2028, 2, 28), date(2032, 2, 29)),
    ],
)
def test_a_29_february_birthday_is_28_february_in_a_common_year(issued: date, fifth: date) -> None:
    assert fifth_birthday_after(date(2000, 2, 29), issued) == fifth


def test_not_after_is_the_last_second_of_the_birthday_in_japan() -> None:
    issued_at = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    expiry = certificate_not_after(date(1990, 3, 15), issued_at)
    assert expiry == datetime(2031, 3, 15, 14, 59, 59, tzinfo=UTC)  # 23:59:59 JST


def test_the_issue_date_is_the_japanese_calendar_day() -> None:
    # 16:00 UTC on 27 November is 01:00 on 28 November in Tokyo: issued on the birthday.
    issued_at = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert certificate_not_after(date(1990, 11, 28), issued_at).date() == date(2031, 11, 28)


def test_a_birth_date_after_the_issue_date_is_refused() -> None:
    with pytest.raises(ValueError, match="birth date after issue date"):
        fifth_birthday_after(date(2027, 1, 1), date(2026, 1, 1))


def _birthdays_between(birth: date, start: date, end: date) -> list[date]:
    """Birthdays in (start, end], counted one calendar year at a time."""
    days = (birthday_in(birth, year) for year in range(start.year, end.year + 1))
    return [day for day in days if start < day <= end]


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    offset=st.integers(min_value=0, max_value=120 * 366),
)
def test_exactly_five_birthdays_fall_after_issue_up_to_the_expiry(birth: date, offset: int) -> None:
    issued = min(birth + timedelta(days=offset), date(2090, 12, 31))
    fifth = fifth_birthday_after(birth, issued)
    assert len(_birthdays_between(birth, issued, fifth)) == 5
    assert fifth == birthday_in(birth, fifth.year)
    assert 4 * 365 < (fifth - issued).days <= 5 * 366


def test_validity_is_read_as_openssl_reads_it() -> None:
    start = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    end = datetime(2031, 3, 15, 14, 59, 59, tzinfo=UTC)
    assert within_validity(start, end, start)
    assert within_validity(start, end, end - timedelta(microseconds=1))
    assert not within_validity(start, end, end)
    assert not within_validity(start, end, start - timedelta(microseconds=1))
