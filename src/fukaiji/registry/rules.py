"""Pure rules of the register: what a name, a kana reading and a date of birth must be; the
periods of a move (転出届 and 転入届); and what of a person's addresses a municipality sees."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from typing import TYPE_CHECKING

from fukaiji.registry.errors import InvalidResident, MoveOutRefused

if TYPE_CHECKING:
    from fukaiji.registry.models import Person, Residence

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


# ---- moves (住民基本台帳法) ------------------------------------------------------------------

# A 転出届 is made in advance (第24条: あらかじめ), accepted from 14 days before the planned day;
# one who has already moved may still make it within the 14 days that 第22条 gives the 転入届.
MOVE_OUT_AHEAD = timedelta(days=14)
MOVE_OUT_LATE = timedelta(days=14)
# The 転入届 within 14 days of moving in (第22条), and within 30 days after the planned 転出 day,
# the period of the 転入 that completes a 転出 made with the card (転入届の特例, 第24条の2).
MOVE_IN_FILING = timedelta(days=14)
MOVE_IN_AFTER_PLANNED = timedelta(days=30)
# Moving in earlier than planned is allowed by as much as a 転出届 may be made ahead.
MOVE_IN_BEFORE_PLANNED = MOVE_OUT_AHEAD


def japanese_date(day: date) -> str:
    """A day as people read it: 2026年12月3日."""
    return f"{day.year}年{day.month}月{day.day}日"


def check_planned_day(planned_on: date, today: date, lived_here_since: date | None) -> date:
    """転出予定日: from 14 days ago to 14 days ahead, and not before the person moved into the
    current address (``lived_here_since``; None on the portal, whose answers must not depend on
    where the person lives: the 転入 checks its own day against that address)."""
    if planned_on > today + MOVE_OUT_AHEAD:
        raise MoveOutRefused(
            "転出予定日",
            "転出予定日が先すぎます。転出届は転出予定日の 14 日前から受け付けます。"
            f"{japanese_date(today + MOVE_OUT_AHEAD)}までの日付を入力してください。",
        )
    if planned_on < today - MOVE_OUT_LATE:
        raise MoveOutRefused(
            "転出予定日",
            "転出予定日が 14 日より前です。すでに転出した方の転出届は、転出した日から 14 日以内に"
            "受け付けます。転出した市区町村の窓口にご相談ください。",
        )
    if lived_here_since is not None and planned_on < lived_here_since:
        raise MoveOutRefused(
            "転出予定日",
            f"転出予定日が、今の住所に住み始めた日（{japanese_date(lived_here_since)}）より前です。",
        )
    return planned_on


def future_move_fault(moved_on: date, today: date) -> str | None:
    if moved_on > today:
        return "異動日が未来の日付です。実際に住み始めた日を入力してください。"
    return None


def move_in_fault(
    *, moved_on: date, planned_on: date, lived_there_since: date, today: date
) -> str | None:
    """Why a 転入 on ``moved_on``, completing a 転出届 for ``planned_on`` from an address lived in
    since ``lived_there_since``, is refused ``today``; None if it is within the rules."""
    if (fault := future_move_fault(moved_on, today)) is not None:
        return fault
    if moved_on < lived_there_since:
        return "異動日が、前住所に住み始めた日より前です。実際に住み始めた日を入力してください。"
    if moved_on < planned_on - MOVE_IN_BEFORE_PLANNED:
        return (
            f"異動日が転出予定日（{japanese_date(planned_on)}）の 14 日より前です。"
            "転出元の市区町村で転出予定日を確かめてください。"
        )
    if today > moved_on + MOVE_IN_FILING:
        return (
            "転入届の期間を過ぎています。転入届は住み始めた日から 14 日以内に出す必要があります。"
            "転出元の市区町村にご相談ください。"
        )
    if today > planned_on + MOVE_IN_AFTER_PLANNED:
        return (
            f"転出予定日（{japanese_date(planned_on)}）から 30 日を過ぎているため、"
            "この転出届では転入できません。転出元の市区町村にご相談ください。"
        )
    return None


# ---- what a municipality sees -----------------------------------------------------------------


def residences_visible_to(person: Person, municipality_code: str) -> list[Residence]:
    """The addresses the staff of a municipality see: those of the person's current stay there
    (with its 転居), and the immediately previous address (前住所), which a 転入 hands over.
    Never an older one (the shelter she left two moves ago stays hidden), and nothing at all if
    she does not live there now."""
    residences = list(person.residences)
    if not residences or residences[-1].moved_out_on is not None:
        return []
    start = len(residences)
    while start > 0 and residences[start - 1].municipality_code == municipality_code:
        start -= 1
    if start == len(residences):
        return []
    return residences[max(start - 1, 0) :]
