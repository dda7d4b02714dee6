"""有効期限 (validity) of the card's certificates: until the holder's fifth birthday after issue.

Pure date arithmetic, no I/O. The issue date and the birthday are Japanese calendar days; notAfter
is 23:59:59 JST on that birthday, as on the real certificates.

OpenSSL treats notAfter as the first instant that is no longer valid (``X509_cmp_time`` counts
"equal" as "earlier"), while RFC 5280 includes it. ``within_validity`` follows OpenSSL, so that
``verify_login`` and ``openssl verify`` give the same verdict at every instant.

A birthday of 29 February falls, in a common year, on 28 February. This follows 民法第143条第2項:
a period reckoned in years whose last month has no corresponding day ends on the last day of that
month. The fifth birthday is then the fifth such day strictly after the issue date (a card issued
on the holder's birthday does not count that day).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

JAPAN = ZoneInfo("Asia/Tokyo")
BIRTHDAYS = 5
_END_OF_DAY = time(23, 59, 59)


def birthday_in(birth_date: date, year: int) -> date:
    """The birthday as it falls in ``year`` (29 February is 28 February in a common year)."""
    if (birth_date.month, birth_date.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return birth_date.replace(year=year)


def fifth_birthday_after(birth_date: date, issued_on: date) -> date:
    if birth_date > issued_on:
        raise ValueError("birth date after issue date: no card can be issued before birth")
    first_year = issued_on.year
    if birthday_in(birth_date, first_year) <= issued_on:
        first_year += 1
    return birthday_in(birth_date, first_year + BIRTHDAYS - 1)


def certificate_not_after(birth_date: date, issued_at: datetime) -> datetime:
    """notAfter (UTC, whole seconds) of a certificate issued at ``issued_at``."""
    issued_on = issued_at.astimezone(JAPAN).date()
    last_day = fifth_birthday_after(birth_date, issued_on)
    return datetime.combine(last_day, _END_OF_DAY, tzinfo=JAPAN).astimezone(UTC)


def within_validity(not_before: datetime, not_after: datetime, now: datetime) -> bool:
    """OpenSSL's reading of the validity period: notBefore included, notAfter not."""
    return not_before <= now < not_after
