"""保護地域 (the protected region): where the shelter is, and what would give it away. Pure.

The desk enters the shelter's prefecture and/or municipality codes. The perpetrator's goal is
the prefecture *or* the municipality (DESIGN §2), so a municipality code protects its prefecture
too: an item from any institution of that prefecture, or naming any place in it, would tell the
perpetrator which prefecture to look in. What is covered is therefore every prefecture of the
region, with all its municipalities.

Whether a text names the region is decided by fukaiji.protection.region_matcher, which folds
every script and spelling first (kanji, kana, romaji, codes, postcodes, zero-width tricks; see
that module and region_text). Matching errs on the side of a hit: 府中市 is found whether the
shelter is in 東京都 or 広島県, which costs a hidden item, never a leak.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache

from fukaiji.identifiers import InvalidIdentifier
from fukaiji.identifiers.local_government import (
    LocalGovernment,
    lookup_local_government,
)
from fukaiji.network.linkage import InstitutionRef
from fukaiji.protection.errors import InvalidProtection
from fukaiji.protection.region_matcher import RegionMatcher, matcher_for
from fukaiji.protection.region_text import light, names

REGION_FIELD = "保護地域"
# Texts up to this length are remembered (``_places_named_in``): titles, 事務 names, short notices
# and 副本. A longer one is read every time, so the cache stays within a few tens of megabytes.
MAX_REMEMBERED_TEXT = 512


@dataclass(frozen=True, slots=True)
class ProtectedRegion:
    """The codes as the desk entered them, and the prefectures they cover."""

    governments: tuple[LocalGovernment, ...]
    # Asked for every item the portal shows: worked out once.
    prefecture_codes: frozenset[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        prefectures = frozenset(government.prefecture_code.value for government in self.governments)
        object.__setattr__(self, "prefecture_codes", prefectures)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(government.code.value for government in self.governments)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(government.name for government in self.governments)

    def covers(self, institution: InstitutionRef) -> bool:
        """Whether the institution is located in a covered prefecture."""
        prefecture = institution.prefecture_code or _prefecture_of(institution.municipality_code)
        return prefecture is not None and prefecture in self.prefecture_codes

    def places_named_in(self, text: str) -> tuple[str, ...]:
        """Every covered place, code or postcode that ``text`` names, however written, roughly
        in the order written: "大阪府", "大阪府大阪市", "大阪府の郵便番号 541-0053"."""
        if len(text) > MAX_REMEMBERED_TEXT:
            return _matcher(self.prefecture_codes).find(text)
        return _places_named_in(self.prefecture_codes, text)


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


@lru_cache(maxsize=1 << 16)
def _places_named_in(prefecture_codes: frozenset[str], text: str) -> tuple[str, ...]:
    # The portal asks for every item it shows, and items are immutable and often alike (one
    # 事務 in many records, one notice sent to many): each text is read once per region.
    return _matcher(prefecture_codes).find(text)


@cache
def _matcher(prefecture_codes: frozenset[str]) -> RegionMatcher:
    return matcher_for(frozenset(code[:2] for code in prefecture_codes))


def fold(text: str) -> str:
    """The text as names are matched in kanji: invisible characters, width, variants and every
    space and punctuation mark folded away (fukaiji.protection.region_text)."""
    return names(light(text))


@lru_cache(maxsize=4096)
def _prefecture_of(municipality_code: str | None) -> str | None:
    """The prefecture of a municipality code. A code missing from the shipped list (a ward of a
    designated city, a newer municipality) still names its prefecture in its first two digits:
    when in doubt, the institution counts as located there."""
    if municipality_code is None:
        return None
    try:
        return lookup_local_government(municipality_code).prefecture_code.value
    except InvalidIdentifier:
        pass
    if not _CODE_SHAPE.fullmatch(municipality_code):
        return None
    body = municipality_code[:2] + "000"
    return body + _check_digit(body)


def _check_digit(body: str) -> str:
    total = sum(weight * int(digit) for weight, digit in zip((6, 5, 4, 3, 2), body, strict=True))
    return str((11 - total % 11) % 10)


_CODE_SHAPE = re.compile("[0-9]{5,6}")
