"""保護地域 matching that cannot be walked around (issue 15 part 2).

The perpetrator must not read the region however an item writes it: kanji with zero-width
characters inside, hiragana, katakana, half-width kana, Hepburn (and Kunrei) romaji with every
usual long-vowel spelling, suffix or none, spaces and hyphens anywhere, any case, codes and
postcodes in every format. Properties generate those spellings of the region's places inside
surrounding text; a corpus of ordinary texts from elsewhere (addresses of the other prefectures
in kanji, kana, romaji and postcodes, and everyday phrases) bounds the false-hit rate.

The spelling and corpus generators here are also used by benchmarks/region_matcher.py.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fukaiji.identifiers.local_government import LocalGovernment, all_local_governments
from fukaiji.protection.region import ProtectedRegion, parse_region
from fukaiji.protection.region_matcher import MIN_BARE_READING
from fukaiji.protection.region_places import Place, all_places, postcodes_of
from fukaiji.protection.region_romaji import (
    LatinRun,
    canonical_kana,
    canonical_latin_lower,
    latin_runs,
)

REGIONS = {"大阪府": "270008", "東京都": "130001", "鳥取県": "310000"}
# Measured on the corpus below (2,000 texts per region, seed 15): 大阪府 0.55 %, 東京都 0.15 %,
# 鳥取県 0.10 %; on 10,000 texts (benchmarks/region_matcher.py) 0.8 %, 0.2 %, 0.1 %. What is
# hidden is a place of the same name elsewhere (太子町, 日野町, 南部町), a reading shared with a
# surname (イケダ: 池田市) or another place (さかい: 坂井市 and 堺市). The bound leaves room for
# another seed, not for a rule that hides much more.
FALSE_HIT_BOUND = 0.02

Choose = Callable[[Sequence[str]], str]

# ---- spellings of a place --------------------------------------------------------------------

_HEPBURN = {
    "ア": "a", "イ": "i", "ウ": "u", "エ": "e", "オ": "o", "カ": "ka", "キ": "ki", "ク": "ku",
    "ケ": "ke", "コ": "ko", "ガ": "ga", "ギ": "gi", "グ": "gu", "ゲ": "ge", "ゴ": "go",
    "サ": "sa", "シ": "shi", "ス": "su", "セ": "se", "ソ": "so", "ザ": "za", "ジ": "ji",
    "ズ": "zu", "ゼ": "ze", "ゾ": "zo", "タ": "ta", "チ": "chi", "ツ": "tsu", "テ": "te",
    "ト": "to", "ダ": "da", "ヂ": "ji", "ヅ": "zu", "デ": "de", "ド": "do", "ナ": "na",
    "ニ": "ni", "ヌ": "nu", "ネ": "ne", "ノ": "no", "ハ": "ha", "ヒ": "hi", "フ": "fu",
    "ヘ": "he", "ホ": "ho", "バ": "ba", "ビ": "bi", "ブ": "bu", "ベ": "be", "ボ": "bo",
    "パ": "pa", "ピ": "pi", "プ": "pu", "ペ": "pe", "ポ": "po", "マ": "ma", "ミ": "mi",
    "ム": "mu", "メ": "me", "モ": "mo", "ヤ": "ya", "ユ": "yu", "ヨ": "yo", "ラ": "ra",
    "リ": "ri", "ル": "ru", "レ": "re", "ロ": "ro", "ワ": "wa", "ヲ": "o", "ン": "n",
}  # fmt: skip
# Non-Hepburn spellings people also type (Kunrei, Nihon-shiki).
_KUNREI = {"シ": "si", "チ": "ti", "ツ": "tu", "フ": "hu", "ジ": "zi", "ヂ": "zi", "ヅ": "zu"}
_SMALL = {"ャ": "a", "ュ": "u", "ョ": "o"}
_MACRON = {"a": "āâ", "i": "īî", "u": "ūû", "e": "ēê", "o": "ōô"}
_LENGTHENS = {"a": "ア", "i": "イ", "u": "ウ", "e": "エイ", "o": "オウ"}
_LATIN_SUFFIXES = {
    "市": ("shi", "si", "-shi", " City", " city", "-Shi", "SHI"),
    "区": ("ku", "-ku", " Ward", " ward", "-Ku"),
    "町": ("cho", "chou", "chō", "machi", "-cho", "-machi", " Town", " town"),
    "村": ("son", "mura", "-mura", "-son", " Village"),
    "都": ("to", "-to", " Metropolis", "-To"),
    "府": ("fu", "-fu", "hu", " Prefecture", "-Fu", " FU"),
    "県": ("ken", "-ken", " Prefecture", " Pref.", "-Ken", " KEN"),
}
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\ufe0f", "\u180e")
_DASHES = ("-", "－", "ー", "−", "–", "—", "‐", "‑")


def morae(kana: str) -> list[str]:
    found: list[str] = []
    for char in kana:
        if char in _SMALL and found:
            found[-1] += char
        else:
            found.append(char)
    return found


def _mora_romaji(mora: str, choose: Choose) -> str:
    base = choose([_HEPBURN[mora[0]], _KUNREI.get(mora[0], _HEPBURN[mora[0]])])
    if len(mora) == 1:
        return base
    vowel, stem = _SMALL[mora[1]], base[:-1]
    if stem in ("sh", "ch", "j"):
        return stem + vowel
    return choose([stem + "y" + vowel, *(["jy" + vowel] if stem == "z" else [])])


def _vowel_of(mora: str | None) -> str | None:
    if mora is None:
        return None
    if mora[-1] in _SMALL:
        return _SMALL[mora[-1]]
    vowel = _HEPBURN.get(mora, "n")[-1]
    return vowel if vowel in "aiueo" else None


def _lengthens(mora: str, vowel: str | None) -> bool:
    """Whether ``mora`` only lengthens a syllable ending in ``vowel`` (オオ, オウ, エイ, ー)."""
    return vowel is not None and (mora == "ー" or mora in _LENGTHENS[vowel])


def romanise(kana: str, choose: Choose) -> str:
    """Hepburn (or Kunrei) romaji of a katakana reading, each long vowel written one of the
    usual ways: as the kana has it (ou, oo, ei, uu), with a macron or circumflex, as "oh"
    before a consonant, or not at all."""
    units = morae(kana)
    written: list[str] = []
    vowel: str | None = None
    for index, mora in enumerate(units):
        following = units[index + 1] if index + 1 < len(units) else None
        if mora == "ッ":
            written.append("")  # doubled below, once the next syllable is known
            continue
        if _lengthens(mora, vowel) and vowel:
            written.append(_long_vowel(written, vowel, following, choose, mora))
            continue
        romaji = "n" if mora == "ン" else _mora_romaji(mora, choose)
        if written and written[-1] == "" and index > 0 and units[index - 1] == "ッ":
            written[-1] = choose(["t", "c"]) if romaji.startswith("ch") else romaji[0]
        if mora == "ン" and following:
            romaji = _syllabic_n(following, choose)
        written.append(romaji)
        vowel = _vowel_of(mora)
    return "".join(written)


def _long_vowel(
    written: list[str], vowel: str, following: str | None, choose: Choose, mora: str
) -> str:
    as_written = vowel if mora == "ー" else _HEPBURN[mora]
    styles = [as_written, "", "macron"]
    if vowel == "o" and (following is None or _HEPBURN.get(following[0], "a")[0] not in "aiueoy"):
        styles.append("h")
    style = choose(styles)
    if style == "macron":
        written[-1] = written[-1][:-1] + choose(list(_MACRON[vowel]))
        return ""
    return style


def _syllabic_n(following: str, choose: Choose) -> str:
    first = _HEPBURN.get(following[0], "a")[0]
    if first in "bmp":
        return choose(["n", "m"])
    if first in "aiueoy":
        return choose(["n", "n'", "n-"])
    return "n"


def scramble_latin(text: str, choose: Choose) -> str:
    """Random case and separators: "oSaKa", "O-s-a-k-a", "Osa ka"."""
    case = choose(["lower", "upper", "title", "random"])
    out = []
    for index, char in enumerate(text):
        if case == "upper" or (case == "title" and index == 0):
            char = char.upper()
        elif case == "random":
            char = choose([char.lower(), char.upper()])
        if index and char.isalpha() and text[index - 1].isalpha():
            out.append(choose(["", "", "", "", "-", " ", "."]))
        out.append(char)
    return "".join(out)


def _reading_needs_suffix(place: Place, latin: bool) -> bool:
    short = len(canonical_kana(place.kana)) < MIN_BARE_READING or place.is_ward
    return short and not (latin and place.is_prefecture)


def latin_spelling(place: Place, choose: Choose) -> str:
    stem = scramble_latin(romanise(place.kana, choose), choose)
    suffixes = _LATIN_SUFFIXES.get(place.label[-1], ("",))
    if place.kana == place.full_kana:  # 北海道: the reading is the whole name
        suffixes = ("",)
    if not _reading_needs_suffix(place, latin=True):
        suffixes = ("", " ", *suffixes)
    return stem + choose(list(suffixes))


def kana_spelling(place: Place, choose: Choose) -> str:
    """Katakana, hiragana or half-width, with ー for long vowels or not, suffix or not."""
    suffix = place.full_kana[len(place.kana) :]
    with_suffix = _reading_needs_suffix(place, latin=False) or choose(["yes", "no"]) == "yes"
    kana = place.kana + (suffix if with_suffix else "")
    if choose(["ー", "as written"]) == "ー":
        kana = _with_long_marks(kana)
    script = choose(["katakana", "hiragana", "half-width"])
    if script == "hiragana":
        return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in kana)
    if script == "half-width":
        return "".join(_half_width().get(c, c) for c in kana)
    return kana


def _with_long_marks(kana: str) -> str:
    out: list[str] = []
    vowel: str | None = None
    for mora in morae(kana):
        if _lengthens(mora, vowel):
            out.append("ー")
            continue
        out.append(mora)
        vowel = _vowel_of(mora)
    return "".join(out)


def _half_width() -> dict[str, str]:
    table: dict[str, str] = {}
    for point in range(0xFF61, 0xFFA0):
        half = chr(point)
        table.setdefault(unicodedata.normalize("NFKC", half), half)
        for mark in ("ﾞ", "ﾟ"):
            composed = unicodedata.normalize("NFKC", half + mark)
            if len(composed) == 1:
                table.setdefault(composed, half + mark)
    return table


def kanji_spelling(place: Place, choose: Choose) -> str:
    """A kanji name with zero-width characters, soft hyphens and variation selectors inside."""
    name = choose(list(place.kanji))
    out = []
    for char in name:
        out.append(char)
        out.append(choose(["", "", *ZERO_WIDTH, " ", "・"]))
    return "".join(out)


def postcode_spelling(postcode: str, choose: Choose) -> str:
    head, tail = postcode[:3], postcode[3:]
    form = choose(["〒{}-{}", "〒 {}-{}", "{}-{}", "{}{}", "{} {}", "〒{}{}", "郵便番号 {}-{}"])
    text = form.format(head, tail)
    text = text.replace("-", choose(list(_DASHES)))
    if choose(["ascii", "full-width"]) == "full-width":
        text = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return text


# ---- the property -----------------------------------------------------------------------------

_AROUND = st.text(
    alphabet="、。・「」（）：; ,.!?\n\u3000様方殿住所在地本日通知書類写", max_size=12
)
_SEPARATOR = st.sampled_from([" ", "、", "：", "（", "\n", "「"])


def _places_of(region_code: str) -> list[Place]:
    prefecture = region_code[:2]
    return [place for place in all_places() if place.prefecture == prefecture and place.kana]


def _draw_spelling(data: st.DataObject, place: Place) -> str:
    def choose(options: Sequence[str]) -> str:
        return data.draw(st.sampled_from(list(options)))

    kind = choose(["kanji", "kana", "latin", "code", "postcode"])
    if kind == "kanji" and place.kanji:
        return kanji_spelling(place, choose)
    if kind == "kana":
        return kana_spelling(place, choose)
    if kind == "code":
        code = choose([place.code] if place.is_prefecture else [place.code, place.code[:5]])
        digits = choose(["0123456789", "０１２３４５６７８９"])
        return code.translate(str.maketrans("0123456789", digits))
    if kind == "postcode":
        return postcode_spelling(choose(sorted(postcodes_of(place.prefecture))), choose)
    return latin_spelling(place, choose)


@pytest.mark.parametrize("region_name", list(REGIONS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_spelling_of_every_place_is_found_inside_any_text(region_name, data) -> None:
    region = parse_region([REGIONS[region_name]])
    place = data.draw(st.sampled_from(_places_of(REGIONS[region_name])))
    written = _draw_spelling(data, place)
    text = (
        data.draw(_AROUND)
        + data.draw(_SEPARATOR)
        + written
        + data.draw(_SEPARATOR)
        + data.draw(_AROUND)
    )
    found = region.places_named_in(text)
    assert found, f"{place.label} not found in {text!r}"
    if not any(label.startswith(place.label[:3]) for label in found):
        pytest.fail(f"{place.label} written {written!r} found as {found}")


@pytest.mark.parametrize("region_name", list(REGIONS))
def test_every_place_of_the_region_is_found_in_every_script(region_name: str) -> None:
    """The property above draws places at random; this goes through all of them once."""
    region, rng = parse_region([REGIONS[region_name]]), random.Random(region_name)
    for place in _places_of(REGIONS[region_name]):
        spellings = [kana_spelling(place, rng.choice), latin_spelling(place, rng.choice)]
        spellings += [kanji_spelling(place, rng.choice)] if place.kanji else []
        for written in spellings:
            assert region.places_named_in(f"様 {written}、"), (place.label, written)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aeiouyshctkmnbprjfzwdvglxqAEIOSTKN -", max_size=60))
def test_word_boundaries_of_long_latin_text_add_up(text: str) -> None:
    """A Latin run's canonical length is the sum over the pieces LatinRun cuts it into: the
    word boundaries of a hit are where the matcher found it."""
    for run in latin_runs(text):
        assert LatinRun(run).is_boundary(len(canonical_latin_lower(run.lower())))


# ---- the cases of the issue ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Osaka-shi Chuo-ku", "大阪府大阪市"),
        ("〒541-0053", "大阪府の郵便番号 541-0053"),
        ("〒 541-0053", "大阪府の郵便番号 541-0053"),
        ("541-0053", "大阪府の郵便番号 541-0053"),
        ("5410053", "大阪府の郵便番号 541-0053"),
        ("541 0053", "大阪府の郵便番号 541-0053"),
        ("〒５４１ー００５３", "大阪府の郵便番号 541-0053"),
        ("〒541—0053", "大阪府の郵便番号 541-0053"),
        ("〒五四一－〇〇五三", "大阪府の郵便番号 541-0053"),
        ("郵便番号 541", "大阪府の郵便番号 541"),
        ("大\u200b阪", "大阪府"),
        ("大\u200d阪\ufe0f市", "大阪府大阪市"),
        ("大\u00ad阪", "大阪府"),
        ("大 阪", "大阪府"),
        ("大.阪", "大阪府"),
        ("おおさか", "大阪府"),
        ("おーさかし", "大阪府大阪市"),
        ("ｵｵｻｶ", "大阪府"),
        ("ｵｰｻｶﾌ", "大阪府"),
        ("オ\u200bオ\u200bサ\u200bカ", "大阪府"),
        ("Oosaka", "大阪府"),
        ("Ōsaka", "大阪府"),
        ("Ôsaka", "大阪府"),
        ("Ohsaka", "大阪府"),
        ("OSAKA FU", "大阪府"),
        ("O-s-a-k-a", "大阪府"),
        ("Ｏｓａｋａ", "大阪府"),
        ("Оsaka", "大阪府"),  # a Cyrillic О
        ("Osa\u200bka", "大阪府"),
        ("27100", "大阪府大阪市のコード 27100"),
        ("271004", "大阪府大阪市のコード 271004"),
        ("２７１００４", "大阪府大阪市のコード 271004"),
        ("天王寺区", "大阪府大阪市天王寺区"),  # a ward: not in 総務省's list
        ("Tennoji-ku", "大阪府大阪市天王寺区"),
        ("271098", "大阪府大阪市天王寺区のコード 271098"),
        ("Sakai City", "大阪府堺市"),
        ("\\u5927\\u962a", "大阪府"),  # JSON escapes
        ("&#22823;&#38442;", "大阪府"),  # HTML character references
        ("%E5%A4%A7%E9%98%AA", "大阪府"),  # percent-encoded UTF-8
    ],
)
def test_the_spellings_of_the_issue_are_found(text: str, label: str) -> None:
    assert label in parse_region(["271004"]).places_named_in(text)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("東京都千代田区", False),  # 京都 inside 東京都
        ("トウキョウト", False),
        ("東京都市大学", False),
        ("東、京都市", True),  # split by punctuation: read as 京都市, when in doubt hide
        ("Kyoto", True),
        ("きょうとふ", True),
    ],
)
def test_a_name_inside_another_place_is_not_that_place(text: str, found: bool) -> None:
    assert bool(parse_region(["260002"]).places_named_in(text)) is found


@pytest.mark.parametrize(
    "text",
    [
        "それなら、また",  # ナラ without 県 is not 奈良
        "わたしが",  # シガ without 県 is not 滋賀
        "Tsushima",  # 津 only as 津市, Tsu-shi
        "所得割額 27100円",  # an amount, not 大阪市's 5-digit code
        "¥27100",
    ],
)
def test_short_readings_and_amounts_are_not_places(text: str) -> None:
    for code in ("290009", "250007", "240001", "271004"):
        assert parse_region([code]).places_named_in(text) == (), (code, text)


@pytest.mark.parametrize("text", ["Nara", "奈良", "ナラケン", "Nara-ken", "Mie", "Tsu-shi", "ツシ"])
def test_a_short_name_is_found_when_it_stands_as_a_name(text: str) -> None:
    assert parse_region(["290009", "240001"]).places_named_in(text)


def test_a_ward_code_locates_an_institution_in_its_prefecture() -> None:
    from fukaiji.network.linkage import InstitutionRef
    from fukaiji.network.models import InstitutionKind

    ward = InstitutionRef(1, "x", "x", InstitutionKind.MUNICIPALITY, None, "271098")
    assert parse_region(["271004"]).covers(ward)


# ---- the false-hit rate ----------------------------------------------------------------------

ORDINARY = (
    "住民税の決定について", "児童手当の支給について（お知らせ）", "国民健康保険税の納税通知書",
    "マイナンバーカードの有効期限が近づいています", "令和6年度 課税証明書", "医療費通知",
    "年金振込通知書", "介護保険料額決定通知書", "ワクチン接種のご案内", "特別定額給付金",
    "健康診断のお知らせ", "所得割額 123400 均等割額 5000", "お問い合わせは下記までどうぞ",
    "いつもありがとうございます。", "ご不明な点がございましたら窓口までお越しください。",
    "それならまた来週にしましょう", "わたしがやります", "たまにはゆっくり休んでください",
    "できたら早めにお願いします", "手続きが完了しました", "本人確認書類をお持ちください",
    "Your application has been received.", "Notice of payment for resident tax",
    "Please contact the office for details.", "Total amount: 12,345 yen",
    "My Number Card renewal", "Saga of the long winter", "The meeting is on Monday.",
    "振込先 口座番号 1234567", "電話 03-1234-5678", "受付番号 2024-001234",
    '{"所得": 3456000, "控除": 480000}', '{"status": "ok", "amount": 27000}',
)  # fmt: skip
SURNAMES_KANA = (
    "ヤマダ", "タナカ", "スズキ", "サトウ", "タカハシ", "ワタナベ", "イトウ", "ナカムラ",
    "コバヤシ", "カトウ", "ヨシダ", "ヤマモト", "イノウエ", "キムラ", "ハヤシ", "シミズ",
    "ヤマザキ", "モリ", "アベ", "イケダ", "ハシモト", "ヤマシタ", "イシカワ", "ナカジマ",
    "マエダ", "フジタ", "オガワ", "ゴトウ", "オカダ", "ハセガワ", "ムラカミ", "コンドウ",
)  # fmt: skip
GIVEN_KANA = ("ハナコ", "タロウ", "ユミ", "ケンジ", "サクラ", "ヒロシ", "アヤ", "マコト")
TOWNS = ("本町", "栄町", "緑町", "旭町", "幸町", "新町", "駅前", "東町", "西町", "元町")


def _addresses_elsewhere(prefecture: str) -> list[tuple[LocalGovernment, str]]:
    return [
        (government, government.code.value[:2])
        for government in all_local_governments()
        if not government.is_prefecture and government.code.value[:2] != prefecture
    ]


def ordinary_corpus(region_code: str, count: int, seed: int = 15) -> list[str]:
    """Texts that name nothing of the region: addresses of the other prefectures in kanji,
    kana, romaji and postcodes, people's names in kana and romaji, everyday phrases."""
    rng = random.Random(seed)
    elsewhere = _addresses_elsewhere(region_code[:2])
    postcodes: dict[str, list[str]] = {}
    texts: list[str] = []
    while len(texts) < count:
        government, prefecture = rng.choice(elsewhere)
        kind = rng.randrange(6)
        if kind == 0:
            texts.append(_kanji_address(government, rng))
        elif kind == 1:
            if prefecture not in postcodes:
                postcodes[prefecture] = sorted(postcodes_of(prefecture))
            code = rng.choice(postcodes[prefecture])
            texts.append(f"〒{code[:3]}-{code[3:]} {_kanji_address(government, rng)}")
        elif kind == 2:
            texts.append(_romaji_address(government, rng))
        elif kind == 3:
            kana = unicodedata.normalize("NFKC", government.prefecture_kana + government.city_kana)
            texts.append(f"{kana} {rng.choice(SURNAMES_KANA)} {rng.choice(GIVEN_KANA)}")
        elif kind == 4:
            surname = rng.choice(SURNAMES_KANA)
            first = rng.choice(GIVEN_KANA)
            romaji = (
                f"{romanise(surname, rng.choice).title()} {romanise(first, rng.choice).title()}"
            )
            texts.append(f"氏名カナ {surname} {first} / {romaji}")
        else:
            texts.append(rng.choice(ORDINARY))
    return texts


def _kanji_address(government: LocalGovernment, rng: random.Random) -> str:
    numbers = f"{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
    return f"{government.name}{rng.choice(TOWNS)}{numbers}"


def _romaji_address(government: LocalGovernment, rng: random.Random) -> str:
    def reading(kana: str) -> str:
        return romanise(unicodedata.normalize("NFKC", kana), rng.choice).title()

    city = reading(government.city_kana or "")
    prefecture = reading(government.prefecture_kana)
    block = f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    return f"{block} Honcho, {city}, {prefecture}"


def false_hit_rate(region: ProtectedRegion, texts: list[str]) -> tuple[float, list[str]]:
    hidden = [text for text in texts if region.places_named_in(text)]
    return len(hidden) / len(texts), hidden


@pytest.mark.parametrize("region_name", list(REGIONS))
def test_ordinary_texts_from_elsewhere_are_rarely_hidden(region_name: str) -> None:
    code = REGIONS[region_name]
    rate, hidden = false_hit_rate(parse_region([code]), ordinary_corpus(code, 2000))
    assert rate < FALSE_HIT_BOUND, (region_name, rate, hidden[:20])
