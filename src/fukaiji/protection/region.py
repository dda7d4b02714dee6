"""保護地域 (the protected region): where the shelter is, and what would give it away. Pure.

The desk enters the shelter's prefecture and/or municipality codes. The perpetrator's goal is
the prefecture *or* the municipality (DESIGN §2), so a municipality code protects its prefecture
too: an item from any institution of that prefecture, or naming any place in it, would tell the
perpetrator which prefecture to look in. What is covered is therefore every prefecture of the
region, with all its municipalities.

Text is matched after NFKC folding with spaces removed and ヶ read as ケ, against the prefecture
names (also without 都・府・県, as people write "大阪"), the municipality names and the 6-digit
local government codes. Matching errs on the side of a hit: 府中市 is found whether the shelter
is in 東京都 or 広島県, which costs a warning, never a leak.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from fukaiji.identifiers import InvalidIdentifier
from fukaiji.identifiers.local_government import (
    LocalGovernment,
    all_local_governments,
    lookup_local_government,
)
from fukaiji.network.linkage import InstitutionRef
from fukaiji.protection.errors import InvalidProtection

REGION_FIELD = "保護地域"


@dataclass(frozen=True, slots=True)
class ProtectedRegion:
    """The codes as the desk entered them, and the prefectures they cover."""

    governments: tuple[LocalGovernment, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(government.code.value for government in self.governments)

    @property
    def prefecture_codes(self) -> frozenset[str]:
        return frozenset(government.prefecture_code.value for government in self.governments)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(government.name for government in self.governments)

    def covers(self, institution: InstitutionRef) -> bool:
        """Whether the institution is located in a covered prefecture."""
        prefecture = institution.prefecture_code or _prefecture_of(institution.municipality_code)
        return prefecture is not None and prefecture in self.prefecture_codes

    def places_named_in(self, text: str) -> tuple[str, ...]:
        """Every covered place name or code that ``text`` carries, in the order first found."""
        folded = fold(text)
        hits: list[tuple[int, str]] = []
        for needle, label in _needles(self.prefecture_codes):
            position = _position(folded, needle)
            if position >= 0:
                hits.append((position, label))
        return tuple(dict.fromkeys(label for _, label in sorted(hits)))


def parse_region(codes: Iterable[str]) -> ProtectedRegion:
    """The region of the given codes; at least one, each a listed prefecture or municipality."""
    governments: dict[str, LocalGovernment] = {}
    for code in codes:
        try:
            government = lookup_local_government(str(code).strip())
        except InvalidIdentifier as error:
            raise InvalidProtection(REGION_FIELD, str(error)) from error
        governments.setdefault(government.code.value, government)
    if not governments:
        raise InvalidProtection(
            REGION_FIELD,
            "避難先の都道府県又は市区町村のコードを 1 つ以上指定してください"
            " (at least one prefecture or municipality code is required)",
        )
    return ProtectedRegion(tuple(sorted(governments.values(), key=lambda g: g.code.value)))


def fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).replace("ヶ", "ケ")
    return "".join(char for char in folded if not char.isspace())


def _position(text: str, needle: str) -> int:
    """Where ``needle`` first occurs, or -1. A code counts only standing alone: 271004 is a
    code in "コード271004", not in "1271004円"."""
    if not needle.isdigit():
        return text.find(needle)
    found = _standalone(needle).search(text)
    return found.start() if found else -1


@cache
def _standalone(code: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9]){code}(?![0-9])")


def _prefecture_of(municipality_code: str | None) -> str | None:
    if municipality_code is None:
        return None
    try:
        return lookup_local_government(municipality_code).prefecture_code.value
    except InvalidIdentifier:
        return None


def _needles(prefecture_codes: frozenset[str]) -> list[tuple[str, str]]:
    return [needle for code in sorted(prefecture_codes) for needle in _prefecture_needles(code)]


@cache
def _prefecture_needles(prefecture_code: str) -> tuple[tuple[str, str], ...]:
    """(what to look for, how to name the hit) for one prefecture and its municipalities."""
    needles: list[tuple[str, str]] = []
    for government in all_local_governments():
        if government.prefecture_code.value != prefecture_code:
            continue
        needles.append((government.code.value, f"{government.name}のコード {government.code}"))
        if government.is_prefecture:
            needles.append((fold(government.prefecture), government.prefecture))
            stem = re.sub(r"[都府県]$", "", government.prefecture)
            if stem != government.prefecture:
                needles.append((fold(stem), government.prefecture))
        else:
            needles.append((fold(government.city or ""), government.name))
    return tuple(needles)
