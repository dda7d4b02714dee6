"""Finding the places of a protected region in any text, however written. Pure.

One matcher is built per set of covered prefectures (and cached): two Aho-Corasick automata,
one over kanji names and one over canonical romaji (kana and Latin text both read as romaji,
fukaiji.protection.region_romaji), and sets of codes and postcodes. A call folds the text
(fukaiji.protection.region_text) and runs each view once.

Rules, chosen so that a miss is unlikely and ordinary text is rarely hidden (the false-hit rate
is measured by benchmarks/region_matcher.py and tests/protection/test_region_matching.py):

- **Kanji**: a name anywhere in the text with spaces and punctuation removed.
- **Romaji** (kana and Latin) must start where a word starts: Latin after a space, hyphen,
  dot, digit or kanji, or at a lower → upper change ("OsakaShi"); kana at any syllable. It must
  end where a Latin word ends, or at a kana syllable, or be followed by a suffix (シ, ク, ケン,
  フ, ト, チョウ, マチ, ソン, ムラ, -shi, -ku, City, Prefecture …), and then anything may follow.
  A short reading (under 5 letters of canonical romaji: Tama, Kita, ナラ) and a ward's reading
  need their own suffix (Tama-shi, Tama City, ナラケン; ヒロシ is a given name, not 広尾町 + シ;
  "それなら" is not Nara), except a Latin prefecture name standing as a word ("Nara", "Mie").
- **Blockers**: a name of a place *outside* the region that contains a name of the region
  (東京都 contains 京都, 大津市 contains 津市, トウキョウト contains キョウト) cancels the hit
  inside it, but only where it is written in one piece ("東、京都市" is still 京都市) and, in
  romaji, only where it reads at least as far as the hit with its suffix (シカマチ is 志賀町,
  not 色麻 + チ).
- **Codes**: the 6-digit local government codes and their 5-digit form without check digit,
  standing alone, and not an amount (followed by 円, 万, 人 … or after ¥).
- **Postcodes**: every postcode of the covered prefectures, as 〒541-0053, 541-0053, 5410053,
  541 0053 or with any dash; after 〒 or 郵便番号 the first 3 digits alone are enough.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache, lru_cache

import ahocorasick

from fukaiji.protection.region_places import (
    Place,
    all_places,
    postcode_prefixes_of,
    postcodes_of,
    spellings,
)
from fukaiji.protection.region_romaji import (
    LatinRun,
    canonical_kana,
    canonical_latin,
    kana_stream,
    latin_runs,
    latin_stream,
)
from fukaiji.protection.region_text import digits, light, may_hold_a_number, names

# Below this many letters of canonical romaji a reading needs its suffix (see the module doc).
MIN_BARE_READING = 5
_SUFFIXES = (
    "シ", "ク", "ケン", "フ", "ト", "チョウ", "マチ", "ソン", "ムラ", "グン", "ドウ",
)  # fmt: skip
_SUFFIX_WORDS = {
    "市": ("city",), "区": ("ward", "city"), "町": ("town",), "村": ("village",),
    "都": ("metropolis", "prefecture", "pref"), "府": ("prefecture", "pref"),
    "県": ("prefecture", "pref"),
}  # fmt: skip
_LATIN_SUFFIXES = (
    "city", "ward", "town", "village", "prefecture", "pref", "county", "district", "metropolis",
)  # fmt: skip
_DASH = r"[\s\-‐‑‒–—―−ー一~〜_.・･]"
_CODE = re.compile(r"(?<![0-9¥$])[0-9]{5,6}(?![0-9])(?![円万千百人件年月日%歳回])")
_POSTCODE = re.compile(rf"(?<![0-9])([0-9]{{3}}){_DASH}{{0,3}}([0-9]{{4}})(?![0-9])")
_MARKED_POSTCODE = re.compile(
    rf"(?:〒|郵便番号|郵便|(?i:zip\s*(?:code)?|post(?:al)?\s*code))[\s:：]*"
    rf"([0-9](?:{_DASH}{{0,2}}[0-9]){{2,6}})"
)
_ASCII_LETTER = re.compile("[A-Za-z]")


@dataclass(frozen=True, slots=True)
class _Needle:
    """One key of an automaton: a name of the region, or a blocker (a name outside it)."""

    length: int
    label: str = ""
    blocker: bool = False
    short: bool = False  # a romaji reading that needs its own suffix
    own: tuple[str, ...] = ()  # that suffix, canonical: 町 → tyo, mati, town
    tiny: bool = False  # one syllable (津 tu): in kana the suffix must end the word, too
    prefecture: bool = False


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    needle: _Needle
    reach: int = 0  # romaji: where the name ends with its suffix, if one follows


class RegionMatcher:
    """Everything that names one of the covered prefectures or a place in them."""

    def __init__(self, prefectures: frozenset[str]) -> None:
        covered = [place for place in all_places() if place.prefecture in prefectures]
        outside = [place for place in all_places() if place.prefecture not in prefectures]
        by_number = {place.prefecture: place.label for place in covered if place.is_prefecture}
        self._kanji = _automaton(_kanji_keys(covered), _kanji_keys(outside))
        self._romaji = _automaton(
            _romaji_keys(covered), _romaji_keys(outside), _own_suffixes(covered)
        )
        self._codes = _codes(covered)
        self._postcodes = {
            code: by_number[number]
            for number in sorted(prefectures)
            for code in postcodes_of(number)
        }
        self._prefixes = {
            prefix: by_number[number]
            for number in sorted(prefectures, reverse=True)
            for prefix in postcode_prefixes_of(number)
        }
        self._elsewhere = _postcodes_elsewhere(prefectures, frozenset(self._prefixes))

    def find(self, text: str) -> tuple[str, ...]:
        """The labels of every covered place ``text`` names, roughly in the order written."""
        folded = light(text)
        joined = names(folded)
        hits = self._kanji_hits(joined, lambda: names(folded, "#"))
        # Each view is also read "strictly", with punctuation kept, to see whether a blocker is
        # written in one piece; only when a blocker is found, hence the lambdas.
        kana = kana_stream(joined)
        if kana:
            hits += self._romaji_hits(
                kana.lower(), _KanaBounds(kana), lambda: kana_stream(names(folded, "#")).lower()
            )
        if _ASCII_LETTER.search(joined):
            latin = latin_stream(joined)
            hits += self._romaji_hits(
                latin, _LatinBounds(latin, folded), lambda: latin_stream(names(folded, "#"))
            )
        if may_hold_a_number(folded):
            hits += self._number_hits(digits(folded))
        return tuple(dict.fromkeys(label for _, label in sorted(hits)))

    def _kanji_hits(self, joined: str, strict: Callable[[], str]) -> list[tuple[int, str]]:
        spans = _spans(self._kanji, joined)
        if not spans:
            return []
        return _labelled(_unblocked(spans, joined, strict, _inside))

    def _romaji_hits(
        self, lower: str, bounds: _KanaBounds | _LatinBounds, strict: Callable[[], str]
    ) -> list[tuple[int, str]]:
        found = _spans(self._romaji, lower)
        if not found:
            return []
        blocked = any(span.needle.blocker for span in found)
        spans: list[_Span] = []
        labels: set[str] = set()
        for span in found:
            needle = span.needle
            if not blocked and needle.label in labels:
                continue  # one hit per place is enough when nothing can cancel it
            if bounds.starts(span.start) and (needle.blocker or _ends_well(lower, span, bounds)):
                spans.append(replace(span, reach=span.end + _suffix_at(lower, span.end)))
                labels.add(needle.label)
        return _labelled(_unblocked(spans, lower, strict, _read_within))

    def _number_hits(self, text: str) -> list[tuple[int, str]]:
        hits = [
            (found.start(), self._codes[found[0]])
            for found in _CODE.finditer(text)
            if found[0] in self._codes
        ]
        for found in _POSTCODE.finditer(text):
            prefecture = self._postcodes.get(found[1] + found[2])
            if prefecture:
                hits.append((found.start(), f"{prefecture}の郵便番号 {found[1]}-{found[2]}"))
        for found in _MARKED_POSTCODE.finditer(text):
            number = re.sub("[^0-9]", "", found[1])
            if number in self._elsewhere:  # a real postcode of the neighbour sharing the prefix
                continue
            prefecture = self._prefixes.get(number[:3])
            if prefecture:
                shown = number[:3] + (f"-{number[3:]}" if number[3:] else "")
                hits.append((found.start(), f"{prefecture}の郵便番号 {shown}"))
        return hits


@lru_cache(maxsize=128)
def matcher_for(prefectures: frozenset[str]) -> RegionMatcher:
    """The matcher of a set of 2-digit prefecture numbers, built once."""
    return RegionMatcher(prefectures)


def _spans(automaton: ahocorasick.Automaton, text: str) -> list[_Span]:
    return [
        _Span(end + 1 - needle.length, end + 1, needle)
        for end, needles in automaton.iter(text)
        for needle in needles
    ]


def _labelled(spans: list[_Span]) -> list[tuple[int, str]]:
    return [(span.start, span.needle.label) for span in spans if not span.needle.blocker]


class _KanaBounds:
    """Kana: every syllable starts with a capital in kana_stream."""

    latin = False

    def __init__(self, stream: str) -> None:
        self._stream = stream

    def starts(self, index: int) -> bool:
        return self._stream[index].isupper()

    def ends(self, index: int) -> bool:
        return index == len(self._stream) or not self._stream[index].islower()

    def ends_hard(self, index: int) -> bool:
        """The end of the kana run, not just of a syllable."""
        return index == len(self._stream) or self._stream[index] == "#"


class _LatinBounds:
    """Latin: where words start, worked out only for the runs a hit lies in."""

    latin = True

    def __init__(self, stream: str, folded: str) -> None:
        self._stream = stream
        self._folded = folded
        self._runs: list[str] | None = None
        self._breaks: list[int] = []
        self._found: dict[int, tuple[int, LatinRun]] = {}

    def starts(self, index: int) -> bool:
        return self._stream[index] != "#" and self._is_boundary(index)

    def ends(self, index: int) -> bool:
        if index == len(self._stream) or self._stream[index] == "#":
            return True
        return self._is_boundary(index)

    ends_hard = ends

    def _is_boundary(self, index: int) -> bool:
        if self._runs is None:
            self._runs = latin_runs(self._folded)
            self._breaks = [at for at, char in enumerate(self._stream) if char == "#"]
        number = bisect_left(self._breaks, index)  # the run ``index`` lies in
        if number not in self._found:
            start = 0 if number == 0 else self._breaks[number - 1] + 1
            self._found[number] = (start, LatinRun(self._runs[number]))
        start, run = self._found[number]
        return run.is_boundary(index - start)


def _ends_well(lower: str, span: _Span, bounds: _KanaBounds | _LatinBounds) -> bool:
    """Whether a romaji hit ends where a name can end (see the module doc)."""
    needle, end = span.needle, span.end
    if bounds.ends(end) and (not needle.short or (bounds.latin and needle.prefecture)):
        return True
    if not needle.short:
        return _suffix_at(lower, end) > 0
    suffix = _suffix_at(lower, end, needle.own)
    if not suffix:
        return False
    return (bounds.ends_hard if needle.tiny else bounds.ends)(end + suffix)


def _suffix_at(lower: str, index: int, suffixes: tuple[str, ...] | None = None) -> int:
    for suffix in _suffix_keys() if suffixes is None else suffixes:
        if lower.startswith(suffix, index):
            return len(suffix)
    return 0


@cache
def _suffix_keys() -> tuple[str, ...]:
    keys = {canonical_kana(suffix) for suffix in _SUFFIXES}
    keys |= {canonical_latin(suffix) for suffix in _LATIN_SUFFIXES}
    return tuple(sorted(keys, key=len, reverse=True))


def _unblocked(
    spans: list[_Span],
    text: str,
    strict: Callable[[], str],
    within: Callable[[_Span, _Span], bool],
) -> list[_Span]:
    """Drop the hits that lie inside a blocker written in one piece (see the module doc)."""
    blockers = [span for span in spans if span.needle.blocker]
    if not blockers:
        return spans
    strict_text = strict()
    keys = {text[block.start : block.end] for block in blockers}
    in_one_piece = {key for key in keys if strict_text.count(key) == text.count(key)}
    starting_at: dict[int, list[_Span]] = {}  # each position, the blockers over it
    for block in blockers:
        if text[block.start : block.end] in in_one_piece:
            for position in range(block.start, block.end):
                starting_at.setdefault(position, []).append(block)
    return [
        span
        for span in spans
        if not span.needle.blocker
        and not any(within(span, block) for block in starting_at.get(span.start, ()))
    ]


def _read_within(span: _Span, block: _Span) -> bool:
    """Romaji: inside the blocker, and the blocker with its suffix reads at least as far as the
    name with its suffix. シカマチ is 志賀町 (シカ + マチ), not 色麻 (シカマ) + チ; トウキョウト
    is 東京都, not トウ + 京都."""
    return block.start <= span.start and span.end <= block.end and block.reach >= span.reach


def _inside(span: _Span, block: _Span) -> bool:
    """Inside the blocker, or starting inside it: 京都市 in 東京都市 is read as 東京都 + 市."""
    if not block.start <= span.start < block.end:
        return False
    return span.end <= block.end or span.start > block.start


def _kanji_keys(places: list[Place]) -> dict[str, list[_Needle]]:
    keys: dict[str, list[_Needle]] = {}
    for place in places:
        for name in place.kanji:
            for spelling in spellings(name):
                key = names(light(spelling))
                keys.setdefault(key, []).append(_Needle(len(key), place.label))
    return keys


def _romaji_keys(places: list[Place]) -> dict[str, list[_Needle]]:
    keys: dict[str, list[_Needle]] = {}
    for place in places:
        key = canonical_kana(place.kana)
        if not key:
            continue
        needle = _Needle(
            len(key),
            place.label,
            short=len(key) < MIN_BARE_READING or place.is_ward,
            own=_own_suffix_keys(place),
            tiny=len(key) <= 2,
            prefecture=place.is_prefecture,
        )
        keys.setdefault(key, []).append(needle)
        full = canonical_kana(place.full_kana)
        if full != key:  # only to find blockers: トウキョウト holds キョウト
            keys.setdefault(full, [])
    return keys


def _automaton(
    covered: dict[str, list[_Needle]],
    outside: dict[str, list[_Needle]],
    with_suffix: frozenset[str] = frozenset(),
) -> ahocorasick.Automaton:
    """The region's keys, and every outside name that holds one of them as a blocker, unless
    it is one of them with its own suffix (朝日町 is アサヒマチ in 山形県, アサヒチョウ in 三重県:
    both are read as 朝日町; but フクシマケン stays a blocker of 福島区)."""
    automaton = ahocorasick.Automaton()
    for key, needles in covered.items():
        if needles:
            automaton.add_word(key, tuple(needles))
    automaton.make_automaton()
    blockers = [
        key
        for key in outside
        if key not in covered and key not in with_suffix and any(True for _ in automaton.iter(key))
    ]
    for key in blockers:
        automaton.add_word(key, (_Needle(len(key), blocker=True),))
    if blockers:
        automaton.make_automaton()
    return automaton


def _own_suffix_keys(place: Place) -> tuple[str, ...]:
    """A short reading counts only with its own suffix: ヒロシ is a given name, not 広尾町."""
    keys = {canonical_kana(suffix) for suffix in place.suffix_kana}
    keys |= {canonical_latin(word) for word in _SUFFIX_WORDS.get(place.label[-1], ())}
    return tuple(sorted(keys, key=len, reverse=True))


def _postcodes_elsewhere(prefectures: frozenset[str], prefixes: frozenset[str]) -> frozenset[str]:
    """The postcodes of other prefectures that begin like one of the region's (630 is 奈良県 and
    大阪府): a known one of them is not the region's, an unknown one may be."""
    found: set[str] = set()
    for number in {place.prefecture for place in all_places()} - prefectures:
        if postcode_prefixes_of(number) & prefixes:
            found |= {code for code in postcodes_of(number) if code[:3] in prefixes}
    return frozenset(found)


def _own_suffixes(places: list[Place]) -> frozenset[str]:
    return frozenset(
        canonical_kana(place.kana + suffix) for place in places for suffix in place.suffix_kana
    )


def _codes(places: list[Place]) -> dict[str, str]:
    """6-digit codes, and the 5-digit form of municipality and ward codes (a prefecture's
    5-digit form, 27000, is mostly seen as an amount)."""
    codes: dict[str, str] = {}
    for place in places:
        codes[place.code] = f"{place.label}のコード {place.code}"
        if not place.is_prefecture:
            codes[place.code[:5]] = f"{place.label}のコード {place.code[:5]}"
    return codes
