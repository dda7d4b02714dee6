"""地方公共団体コード (local government code) and the shipped official list of local governments.

The list is 総務省's 全国地方公共団体コード for the 47 prefectures and 1,741 municipalities
(designated-city wards are not in it); see ``data/README.md`` for its source and date.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import ClassVar

from fukaiji.identifiers._base import DigitString, check_digit_fault, require_digits
from fukaiji.identifiers.errors import UnknownLocalGovernment

_DATA_FILE = "local_government_codes.csv"
_WEIGHTS = (6, 5, 4, 3, 2)


def _check_digit(body: str) -> str:
    total = sum(weight * int(digit) for weight, digit in zip(_WEIGHTS, body, strict=True))
    return str((11 - total % 11) % 10)


@dataclass(frozen=True, slots=True, order=True)
class LocalGovernmentCode(DigitString):
    """地方公共団体コード (local government code): 6 digits, the 6th a check digit.

    Rule: s = 6*d1 + 5*d2 + 4*d3 + 3*d4 + 2*d5, check = (11 - s mod 11) mod 10. The first two
    digits are the prefecture (都道府県コード).
    """

    FIELD: ClassVar[str] = "地方公共団体コード"
    LENGTH: ClassVar[int] = 6
    value: str

    def _validate(self) -> None:
        require_digits(self.FIELD, self.value, self.LENGTH)
        expected = _check_digit(self.value[:5])
        if self.value[5] != expected:
            raise check_digit_fault(self.FIELD, self.value, expected)


@dataclass(frozen=True, slots=True)
class LocalGovernment:
    """地方公共団体 (local government): one row of the official list, a prefecture or municipality.

    Kana are half-width, as in the official list. ``city`` and ``city_kana`` are None for a
    prefecture.
    """

    code: LocalGovernmentCode
    prefecture: str
    city: str | None
    prefecture_kana: str
    city_kana: str | None

    @property
    def is_prefecture(self) -> bool:
        return self.city is None

    @property
    def name(self) -> str:
        """Full name, e.g. "東京都" or "東京都千代田区"."""
        return self.prefecture + (self.city or "")

    @property
    def prefecture_code(self) -> LocalGovernmentCode:
        body = self.code.value[:2] + "000"
        return LocalGovernmentCode(body + _check_digit(body))


def _from_row(row: dict[str, str]) -> LocalGovernment:
    return LocalGovernment(
        code=LocalGovernmentCode(row["code"]),
        prefecture=row["prefecture"],
        city=row["city"] or None,
        prefecture_kana=row["prefecture_kana"],
        city_kana=row["city_kana"] or None,
    )


@cache
def all_local_governments() -> tuple[LocalGovernment, ...]:
    """Every prefecture and municipality of the shipped list, in code order (loaded once)."""
    source = resources.files("fukaiji.identifiers") / "data" / _DATA_FILE
    with source.open(encoding="utf-8", newline="") as stream:
        return tuple(_from_row(row) for row in csv.DictReader(stream))


@cache
def _by_code() -> dict[LocalGovernmentCode, LocalGovernment]:
    return {government.code: government for government in all_local_governments()}


def _name_key(name: str) -> str:
    # The official list itself mixes ヶ and ケ (茅ヶ崎市, 鎌ケ谷市); people type either.
    folded = unicodedata.normalize("NFKC", name).replace("ヶ", "ケ")
    return "".join(char for char in folded if not char.isspace())


@cache
def _by_name() -> dict[str, tuple[LocalGovernment, ...]]:
    index: defaultdict[str, list[LocalGovernment]] = defaultdict(list)
    for government in all_local_governments():
        index[_name_key(government.name)].append(government)
        if government.city is not None:
            index[_name_key(government.city)].append(government)
    return {key: tuple(governments) for key, governments in index.items()}


def lookup_local_government(code: str | LocalGovernmentCode) -> LocalGovernment:
    """Return the listed local government for ``code``.

    Raises InvalidIdentifier for a malformed code, UnknownLocalGovernment for one not listed.
    """
    if not isinstance(code, LocalGovernmentCode):
        code = LocalGovernmentCode.parse(code)
    try:
        return _by_code()[code]
    except KeyError:
        raise UnknownLocalGovernment(
            LocalGovernmentCode.FIELD,
            code.value,
            "全国地方公共団体コードの一覧にありません",
            "not in the official list of local government codes",
        ) from None


def find_local_governments(name: str) -> list[LocalGovernment]:
    """Find by prefecture name, municipality name or full name (e.g. "東京都千代田区").

    Municipality names are not unique (府中市 is in 東京都 and 広島県), so all matches are
    returned, in code order; no match gives an empty list.
    """
    return list(_by_name().get(_name_key(name), ()))
