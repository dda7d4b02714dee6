"""The places a protected region is made of, with every name they go by, and their postcodes. Pure.

A place is a prefecture, a municipality (総務省's list, fukaiji.identifiers) or a ward of a
designated city (``data/wards.csv``, from Japan Post's list: 大阪市天王寺区 is not in 総務省's list
but its name and code give Osaka away). Each has its kanji names, the kana reading of its name
without the suffix (オオサカ for 大阪府 and 大阪市: the suffix is matched separately, so that
"Osaka", "Osaka-fu" and "おおさかし" all count), and its codes.

Postcodes come from ``data/postcodes.txt`` (see ``data/README.md``): every postcode of every
area and large office, by prefecture.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fukaiji.identifiers.local_government import LocalGovernment, all_local_governments

# The reading of each suffix as the official list writes it; 町 and 村 have two.
_SUFFIX_KANA = {
    "都": ("ト",),
    "府": ("フ",),
    "県": ("ケン",),
    "市": ("シ",),
    "区": ("ク",),
    "町": ("チョウ", "マチ"),
    "村": ("ソン", "ムラ"),
}
# Kana that joins two kanji in a name and is written several ways: 茅ヶ崎/茅ケ崎/茅が崎,
# 山ノ内/山の内.
_JOINING_KANA = {"ケ": "ケガがカか", "ガ": "ケガがカか", "カ": "ケガがカか", "ノ": "ノの之"}
# A municipality is also found by its name without 市/町/村 when what is left is this long:
# "世田谷" and "八王子" say where as clearly as "世田谷区", but "中央" or "府中" alone do not.
_MIN_KANJI_STEM = 3


@dataclass(frozen=True, slots=True)
class Place:
    """One prefecture, municipality or ward, and the names it is written as."""

    prefecture: str  # the 2-digit prefecture number, "27"
    label: str  # how a hit is reported: "大阪府", "大阪府大阪市", "大阪府大阪市天王寺区"
    code: str  # the 6-digit local government code
    kanji: tuple[str, ...]  # its names as written, before folding
    kana: str  # the reading without the suffix, katakana
    full_kana: str  # the reading with it
    is_prefecture: bool = False
    is_ward: bool = False

    @property
    def suffix_kana(self) -> tuple[str, ...]:
        """The readings its own suffix may have: 町 is チョウ or マチ whatever the list says."""
        return _SUFFIX_KANA.get(self.label[-1], ()) if self.kana != self.full_kana else ()


@cache
def all_places() -> tuple[Place, ...]:
    """Every prefecture, municipality and designated-city ward (loaded once)."""
    places = [_from_government(government) for government in all_local_governments()]
    ward_names = Counter(place_name for place_name, _ in _ward_rows_names())
    names_elsewhere = _names_by_prefecture(places)
    for row in _ward_rows():
        places.append(_ward(row, ward_names, names_elsewhere))
    return tuple(places)


def _from_government(government: LocalGovernment) -> Place:
    name = government.city or government.prefecture
    full_kana = unicodedata.normalize("NFKC", government.city_kana or government.prefecture_kana)
    kanji = [name]
    if government.is_prefecture:
        stem = re.sub("[都府県]$", "", name)
        if stem != name:
            kanji.append(stem)
    else:
        stem = re.sub("[市区町村]$", "", name)
        if len(stem) >= _MIN_KANJI_STEM:
            kanji.append(stem)
    return Place(
        prefecture=government.code.value[:2],
        label=government.name,
        code=government.code.value,
        kanji=tuple(kanji),
        kana=_without_suffix(full_kana, name),
        full_kana=full_kana,
        is_prefecture=government.is_prefecture,
    )


def _ward(row: dict[str, str], ward_names: Counter, names_elsewhere: dict[str, set[str]]) -> Place:
    """A ward is named by itself only when no other prefecture has a place of that name:
    天王寺区 means Osaka, 中央区 or 北区 means nothing in particular."""
    ward = row["ward"]
    prefecture = row["code"][:2]
    unique = ward_names[ward] == 1 and names_elsewhere.get(ward, set()) <= {prefecture}
    kana = _without_suffix(row["ward_kana"], ward)
    return Place(
        prefecture=prefecture,
        label=row["prefecture"] + row["city"] + ward,
        code=row["code"],
        kanji=(ward,) if unique else (),
        kana=kana if unique else "",
        full_kana=row["ward_kana"] if unique else "",
        is_ward=True,
    )


def _names_by_prefecture(places: list[Place]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for place in places:
        for name in place.kanji:
            found.setdefault(name, set()).add(place.prefecture)
    return found


def _without_suffix(kana: str, name: str) -> str:
    for suffix in _SUFFIX_KANA.get(name[-1], ()):
        if kana.endswith(suffix) and len(kana) > len(suffix):
            return kana.removesuffix(suffix)
    return kana


def spellings(name: str) -> tuple[str, ...]:
    """``name`` with each joining kana between two kanji written every way it is written."""
    variants = [""]
    for index, char in enumerate(name):
        between_kanji = 0 < index < len(name) - 1 and _is_kanji(name[index - 1] + name[index + 1])
        options = _JOINING_KANA.get(char, char) if between_kanji else char
        variants = [variant + option for variant in variants for option in options]
    return tuple(variants)


def _is_kanji(chars: str) -> bool:
    return all(unicodedata.name(char, "").startswith("CJK") for char in chars)


def _data(name: str):
    return resources.files("fukaiji.protection") / "data" / name


@cache
def _ward_rows() -> tuple[dict[str, str], ...]:
    with _data("wards.csv").open(encoding="utf-8", newline="") as stream:
        return tuple(csv.DictReader(stream))


def _ward_rows_names() -> list[tuple[str, str]]:
    """(ward name, prefecture) once per prefecture: 北区 of 大阪市 and of 堺市 count once."""
    return sorted({(row["ward"], row["code"][:2]) for row in _ward_rows()})


@cache
def postcodes_of(prefecture: str) -> frozenset[str]:
    """Every 7-digit postcode of the prefecture (2-digit number)."""
    found: set[str] = set()
    for line_prefecture, prefix, steps in _postcode_lines():
        if line_prefecture == prefecture:
            rest = 0
            for step in steps.split():
                rest += int(step)
                found.add(f"{prefix}{rest:04d}")
    return frozenset(found)


@cache
def postcode_prefixes_of(prefecture: str) -> frozenset[str]:
    """The first 3 digits of the prefecture's postcodes (some are shared with a neighbour)."""
    return frozenset(prefix for pref, prefix, _ in _postcode_lines() if pref == prefecture)


@cache
def _postcode_lines() -> tuple[tuple[str, str, str], ...]:
    text = _data("postcodes.txt").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            prefecture, prefix, steps = line.split(" ", 2)
            rows.append((prefecture, prefix, steps))
    return tuple(rows)
