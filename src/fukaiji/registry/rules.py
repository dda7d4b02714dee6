"""Pure rules of the register: what a name, a kana reading and a date of birth must be."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from fukaiji.registry.errors import InvalidResident

_KANA = re.compile(r"[ァ-ヺー・\u3000 ]+")
MAX_NAME = 50
MAX_KANA = 100
MAX_ADDRESS = 200


def clean_name(field: str, value: str) -> str:
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        raise InvalidResident(field, "空です (must not be empty)")
    if len(value) > MAX_NAME:
        raise InvalidResident(field, f"{MAX_NAME} 文字以内にしてください (at most {MAX_NAME})")
    if any(unicodedata.category(char).startswith("C") for char in value):
        raise InvalidResident(field, "制御文字は使えません (no control characters)")
    return value


def clean_kana(field: str, value: str) -> str:
    """Readings are kept in full-width katakana, as the register prints them."""
    value = unicodedata.normalize("NFKC", value).strip()
    value = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in value)
    if not value or not _KANA.fullmatch(value) or len(value) > MAX_KANA:
        raise InvalidResident(
            field, "全角カタカナで入力してください (must be katakana, at most 100 characters)"
        )
    return value


def check_birth_date(birth_date: date, today: date) -> date:
    if birth_date > today:
        raise InvalidResident("生年月日", "未来の日付です (birth date is in the future)")
    if birth_date.year < 1870:
        raise InvalidResident("生年月日", "1870 年より前です (birth date before 1870)")
    return birth_date


def clean_address_line(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        raise InvalidResident("住所", "町名・番地が空です (street address must not be empty)")
    if len(value) > MAX_ADDRESS:
        raise InvalidResident(
            "住所", f"{MAX_ADDRESS} 文字以内にしてください (at most {MAX_ADDRESS})"
        )
    return value
