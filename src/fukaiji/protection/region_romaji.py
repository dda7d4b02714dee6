"""Kana and Latin text read as one canonical romaji, so that オオサカ, おーさか, ｵｵｻｶ, Osaka, Ōsaka,
Oosaka, Ohsaka and OSAKA all read ``osaka``. Pure.

The canonical form is Kunrei-like and drops vowel length:

- kana: ジ/ヂ → zi, ズ/ヅ → zu, シ → si, チ → ti, ツ → tu, フ → hu, ヲ → o, ヴ → bu; キャ → kya;
  ッ dropped; ー dropped, and a vowel kana that only lengthens the one before (オオ, オウ, ウウ,
  エイ, イイ, アア) dropped.
- Latin: shi → si, sh → sy, chi → ti, ch → ty, tch → ty, tsu → tu, ji → zi, j → zy, fu → hu,
  f → h, v → b, wo → o, m before b/m/p → n; a doubled letter single (kk, tt, pp, and long
  vowels aa ii uu ee oo), ou → o, ei → e, and "oh" before a consonant → o (Ohsaka). Diacritics
  are already gone (ō → o, region_text). None of these spellings occurs in what kana turn into,
  so a reading and its romaji meet.

In the kana stream each syllable starts with a capital letter (a name can only start there:
"ita" is not in キタ). The Latin stream is lower case; where its words start is worked out for
a hit only (``latin_boundaries``), which keeps the common case fast.
"""

from __future__ import annotations

import re

# Each kana as canonical romaji, capitalised where the syllable starts.
_SYLLABLES = (
    "A I U E O Ka Ki Ku Ke Ko Ga Gi Gu Ge Go Sa Si Su Se So Za Zi Zu Ze Zo Ta Ti Tu "
    "Te To Da Zi Zu De Do Na Ni Nu Ne No Ha Hi Hu He Ho Ba Bi Bu Be Bo Pa Pi Pu Pe Po "
    "Ma Mi Mu Me Mo Ya Yu Yo Ra Ri Ru Re Ro Wa I E O N Bu Ba Bi Be Bo Ka Ke"
)
_KATAKANA = dict(
    zip(
        "アイウエオカキクケコガギグゲゴサシスセソザジズゼゾタチツテトダヂヅデドナニヌネノ"
        "ハヒフヘホバビブベボパピプペポマミムメモヤユヨラリルレロワヰヱヲンヴヷヸヹヺヵヶ",
        _SYLLABLES.split(),
        strict=True,
    )
)
# \x01: a small ya/yu/yo that joins the syllable before (キャ → kya); \x02: a small vowel that
# replaces the vowel before (ファ → ha, ティ → ti); ッ, ー and the iteration marks are dropped.
_KATAKANA |= dict(
    zip(
        "ャュョヮァィゥェォ",
        ["\x01ya", "\x01yu", "\x01yo", "\x02a", "\x02a", "\x02i", "\x02u", "\x02e", "\x02o"],
        strict=True,
    )
)
_KATAKANA |= dict.fromkeys("ッーヽヾゝゞ", "")
_HIRAGANA_OFFSET = ord("ァ") - ord("ぁ")


def _kana_table() -> dict[int, str]:
    table = {ord(kana): romaji for kana, romaji in _KATAKANA.items()}
    for kana, romaji in _KATAKANA.items():
        hiragana = chr(ord(kana) - _HIRAGANA_OFFSET)
        if "\u3041" <= hiragana <= "\u3096":
            table[ord(hiragana)] = romaji
    return table


_KANA = _kana_table()
# Runs of two kana or more: every reading of a name with its suffix is at least that long.
_KANA_RUN = re.compile("[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe]{2,}")


# After the kana are read as romaji (each syllable capitalised): a vowel that only lengthens
# the syllable before it. オオサカ (OOSaKa) and オーサカ (ー is dropped) are Osaka; トウキョウ
# (ToUKi\x01yoU) is Tokyo; エイ is e.
_LONG_VOWEL = re.compile("[AIUEO](?<=[aA]A|[iIeE]I|[uUoO]U|[eE]E|[oO]O)")
_JOINED = re.compile("i?\x01")
_SMALL_E = re.compile("i\x02e")  # シェ → sye, like Latin "she"
_SMALL_VOWEL = re.compile("(?<=[A-Za-z])[aiueo]\x02|\x02")

# Hepburn and its look-alikes to the canonical spelling, applied in this order to lower-case
# text (longer spellings first).
_HEPBURN = (
    ("tchi", "ti"), ("cchi", "ti"), ("tch", "ty"), ("cch", "ty"), ("shi", "si"), ("chi", "ti"),
    ("tsu", "tu"), ("dzu", "zu"), ("sh", "sy"), ("ch", "ty"), ("ts", "t"), ("ji", "zi"),
    ("jy", "zy"), ("j", "zy"), ("fu", "hu"), ("f", "h"), ("v", "b"), ("wo", "o"),
    ("mb", "nb"), ("mp", "np"), ("mm", "nm"),
)  # fmt: skip
# Doubled letters read once: long vowels (Oosaka, Kyuushuu) and doubled consonants (Hokkaido;
# ッ is dropped on the kana side). Not nn: ン before ナ is a real n.
_DOUBLES = tuple((letter * 2, letter) for letter in "aiueobcdghkprstwyz")
_OH = re.compile("oh(?![aeiouy])")  # Ohsaka, Ohno; not Ohara
_NON_LATIN = re.compile("[^A-Za-z]+")
_CAMEL = re.compile("([a-z])(?=[A-Z])")
_SEPARATORS = re.compile(r"[\W_]+")  # as in region_text.names


def kana_stream(text: str) -> str:
    """The kana runs of ``text`` as canonical romaji, each syllable capitalised, joined by ``#``
    (positions are not those of ``text``: a hit needs only its label); "" without any."""
    runs = _KANA_RUN.findall(text)
    return _romanised("#".join(runs)) if runs else ""


def _romanised(kana: str) -> str:
    text = kana.translate(_KANA)
    if "\x01" in text:
        text = _JOINED.sub("", text)
    if "\x02" in text:
        text = _SMALL_VOWEL.sub("", _SMALL_E.sub("ye", text))
    text, dropped = _LONG_VOWEL.subn("", text)
    while dropped:  # ショウオウ: オ lengthens ショ once ウ is gone
        text, dropped = _LONG_VOWEL.subn("", text)
    return text


def latin_stream(text: str) -> str:
    """The Latin letters of a ``names()`` text as lower-case canonical romaji, the rest ``#``.
    Where words start is not kept here (it is cheap to search without; the matcher works out
    the word boundaries of a hit with ``latin_boundaries``)."""
    return canonical_latin_lower(_NON_LATIN.sub("#", text).lower())


def canonical_latin_lower(text: str) -> str:
    for written, canonical in _HEPBURN:
        if written in text:
            text = text.replace(written, canonical)
    text = _single(text)
    if "ou" in text or "ei" in text:
        text = _single(text.replace("ou", "o").replace("ei", "e"))
    if "oh" in text:
        text = _single(_OH.sub("o", text))
    return text


def _single(text: str) -> str:
    for double, single in _DOUBLES:
        while double in text:
            text = text.replace(double, single)
    return text


def latin_runs(folded: str) -> list[str]:
    """The runs of Latin letters of a ``light()`` text, as in ``latin_stream`` but with the first
    letter of every word capitalised: after a space, hyphen, dot, digit or kanji, and at a
    lower → upper change ("OsakaShi")."""
    words = _CAMEL.sub(r"\1 ", folded).title()
    return _NON_LATIN.sub("#", _SEPARATORS.sub("", words)).split("#")


# Two letters no rule above reads together: the canonical form of a text cut between them is
# the canonical forms of the two parts, one after the other.
_SAFE_BEFORE = frozenset("bgklnpqrxy")  # not z: dz|u
_STARTS_A_RULE = frozenset("cdfhjmstvw")  # j → zy would meet a z before the cut


class LatinRun:
    """Where words start and end in ``canonical_latin_lower`` of one run of Latin letters.

    ``words`` is the run with each word's first letter capitalised (``latin_runs``). A boundary
    in the canonical text is the length of the canonical form of the text before a word start:
    exact except inside a spelling split by a hyphen (s-hi), where it may be one letter off. The
    lengths are summed over pieces cut where no rule reaches across (between a consonant such
    as k, n, r and a letter that no rule starts with), so a long run costs one pass.
    """

    def __init__(self, words: str) -> None:
        self._words = words
        self._found: frozenset[int] | None = None

    def is_boundary(self, position: int) -> bool:
        if self._found is None:
            self._found = self._boundaries()
        return position in self._found

    def _boundaries(self) -> frozenset[int]:
        lower = self._words.lower()
        starts = [index for index, char in enumerate(self._words) if char.isupper()]
        starts.append(len(lower))
        cuts = iter([*(i for i in range(1, len(lower)) if _safe_cut(lower, i)), len(lower)])
        found = {0}
        cut, before_cut, next_cut = 0, 0, next(cuts)
        for start in starts:
            while next_cut <= start:  # move the last cut up, summing the pieces between cuts
                before_cut += len(canonical_latin_lower(lower[cut:next_cut]))
                cut, next_cut = next_cut, next(cuts, len(lower) + 1)
            found.add(before_cut + len(canonical_latin_lower(lower[cut:start])))
        return frozenset(found)


def _safe_cut(lower: str, index: int) -> bool:
    before, after = lower[index - 1], lower[index]
    return before in _SAFE_BEFORE and after != before and after not in _STARTS_A_RULE


def canonical_kana(kana: str) -> str:
    """The key of a kana reading (the needle side of ``kana_stream``)."""
    return _romanised(kana).lower()


def canonical_latin(word: str) -> str:
    """The key of a Latin word (the needle side of ``latin_stream``)."""
    return latin_stream(word)
