"""Folding text before region matching, so that a place cannot be hidden by how it is written. Pure.

Three views of one text are matched (fukaiji.protection.region_matcher):

- ``light(text)``: escapes decoded (``\\u5927``, ``&#22823;``, ``%E5%A4%A7``), every invisible
  character removed (Unicode category Cf — zero-width space and joiners, soft hyphen, bidi
  controls, tags — and variation selectors, the combining grapheme joiner, Hangul fillers, the
  blank braille cell), NFKC (width: full-width Latin and digits, half-width kana), kana voicing
  marks recomposed, Latin diacritics dropped (ō → o), Cyrillic
  and Greek look-alikes read as Latin, old and variant kanji read as the common form (﨑 → 崎,
  龍 → 竜), small ヶ/ヵ read as ケ/カ.
- ``names(light)``: every space, punctuation mark and symbol removed, so "大 阪", "大.阪" and
  "O-s-a-k-a" read as one word (where a Latin word began is worked out separately, for a hit
  only: region_romaji.latin_boundaries).
- ``digits(light)``: other decimal digits and runs of kanji numerals read as ASCII digits, for
  codes and postcodes.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import cache
from urllib.parse import unquote

# Code points that are not categorised Cf but still draw nothing.
_ALSO_INVISIBLE = (
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    "\ufe00-\ufe0f\U000e0100-\U000e01ef"
)

# Old or variant kanji that people (and Japan Post's list) use for the same place name, and
# the small ヶ/ヵ of names (茅ヶ崎) read as ケ/カ.
_KANJI_VARIANTS = dict(
    zip(
        "﨑嵜髙德惠檮澤濱邊邉嶋嶌龍國櫻廣齋眞條瀨淺戶縣驛實壽豐鹽藏澁黑萬會榮靜關與兒寶當"
        "嶽冨檜舊礪莊對團ヶヵゕゖ",
        "崎崎高徳恵梼沢浜辺辺島島竜国桜広斎真条瀬浅戸県駅実寿豊塩蔵渋黒万会栄静関与児宝当"
        "岳富桧旧砺荘対団ケカかけ",
        strict=True,
    )
)
# Letters that look Latin in other scripts: "Оsaka" with a Cyrillic О still reads Osaka.
_LOOKALIKES = dict(
    zip(
        "авекмнорстухіјѕԛԝАВЕКМНОРСТХІЈЅαικνοτυΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
        "abekmhopctyxijsqwABEKMHOPCTXIJSaikvotuABEZHIKMNOPTYX",
        strict=True,
    )
)
_KANJI_DIGITS = str.maketrans("〇一二三四五六七八九", "0123456789")

_ESCAPES = re.compile(r"\\u[0-9A-Fa-f]{4}|&#[0-9]+;|&#[xX][0-9A-Fa-f]+;|%[0-9A-Fa-f]{2}")
_JSON_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})")
_SEPARATORS = re.compile(r"[\W_]+")
# Three or more kanji numerals in a row are a number (〒五四一-〇〇五三); one alone is not
# (一宮市, and 一 is also typed as a dash).
_KANJI_NUMBER = re.compile("[〇一二三四五六七八九]{3,}")
_THREE_DIGITS = re.compile("[0-9〇一二三四五六七八九]{3}")


def light(text: str) -> str:
    """Decoded, invisible characters removed, NFKC, marks, variants and look-alikes folded."""
    if _ESCAPES.search(text):
        text = _unescape(text)
    if text.isascii():  # nothing invisible, nothing NFKC or the variant table would change
        return text
    text = unicodedata.normalize("NFKC", _invisible().sub("", text))
    if "\u3099" in text or "\u309a" in text:
        text = _recompose(text)
    if _variant_chars().search(text):
        text = text.translate(_variant_table())
    return text


def names(folded: str, separator: str = "") -> str:
    """The light text with spaces, punctuation and symbols removed (``separator`` instead: the
    strict reading, where a name split by punctuation does not count as one)."""
    return _SEPARATORS.sub(separator, folded)


def digits(folded: str) -> str:
    """The light text with other decimal digits and kanji numbers read as ASCII digits."""
    if folded.isascii():
        return folded
    if _other_digits().search(folded):
        folded = folded.translate(_digit_table())
    if _KANJI_NUMBER.search(folded):
        folded = _KANJI_NUMBER.sub(lambda run: run[0].translate(_KANJI_DIGITS), folded)
    return folded


def may_hold_a_number(folded: str) -> bool:
    """Whether ``digits(folded)`` can hold a code or postcode (3 digits in a row at least)."""
    if _THREE_DIGITS.search(folded):
        return True
    return not folded.isascii() and _other_digits().search(folded) is not None


def _unescape(text: str) -> str:
    """What a reader would see if the escapes were rendered: a JSON \\uXXXX, an HTML character
    reference or percent-encoded UTF-8 can carry a place name past a matcher that reads bytes."""
    text = _JSON_ESCAPE.sub(lambda found: chr(int(found[1], 16)), text)
    text = html.unescape(text)
    return unquote(text, errors="replace") if "%" in text else text


def _recompose(text: str) -> str:
    # NFKC turns a spacing ゛ into space + U+3099; glue it back to its kana, compose, and drop
    # a voicing mark left over. Other combining marks need no step of their own: names() drops
    # every character that is not a letter or digit, and NFKC has composed ō and the like.
    text = text.replace(" \u3099", "\u3099").replace(" \u309a", "\u309a")
    text = unicodedata.normalize("NFC", text)
    return text.replace("\u3099", "").replace("\u309a", "")


def _code_points(predicate) -> str:
    """A regex character class body for the code points of planes 0, 1 and 14 that satisfy
    ``predicate`` (computed once; the other planes hold no format characters or marks)."""
    points = [
        point
        for plane in (range(0x20000), range(0xE0000, 0xE1000))
        for point in plane
        if predicate(chr(point))
    ]
    ranges: list[str] = []
    start = previous = points[0]
    for point in [*points[1:], -2]:
        if point != previous + 1:
            last = "" if start == previous else "-" + re.escape(chr(previous))
            ranges.append(re.escape(chr(start)) + last)
            start = point
        previous = point
    return "".join(ranges)


@cache
def _invisible() -> re.Pattern[str]:
    return re.compile(f"[{_code_points(_is_format)}{_ALSO_INVISIBLE}]+")


def _is_format(char: str) -> bool:
    return unicodedata.category(char) == "Cf"


def _is_mark(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Mc", "Me")


@cache
def _variant_table() -> dict[int, str]:
    table = {ord(old): new for old, new in {**_KANJI_VARIANTS, **_LOOKALIKES}.items()}
    for point in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        base = "".join(
            char for char in unicodedata.normalize("NFKD", chr(point)) if not _is_mark(char)
        )
        if base != chr(point) and base.isascii() and base.isalpha():
            table[point] = base
    return table


@cache
def _variant_chars() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(chr(point)) for point in _variant_table()) + "]")


@cache
def _digit_table() -> dict[int, str]:
    return {
        point: str(unicodedata.decimal(chr(point)))
        for point in range(0x80, 0x20000)
        if unicodedata.decimal(chr(point), None) is not None
    }


@cache
def _other_digits() -> re.Pattern[str]:
    """Decimal digits of other scripts (NFKC has already folded the full-width ones). A
    character class, not \\d: \\d looks every character up in the Unicode database."""
    # Plane 0 only: a class with characters beyond it is searched range by range, 30 times
    # slower; the digits of plane 1 that NFKC does not fold are of historic scripts.
    points = sorted(point for point in _digit_table() if 0x80 <= point < 0x10000)
    return re.compile("[" + "".join(re.escape(chr(point)) for point in points) + "]")
