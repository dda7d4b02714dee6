"""保護地域: a municipality protects its prefecture, and a place is found in text however it is
written (full-width, spaced, ヶ/ケ, with or without 府), while places elsewhere are not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fukaiji.identifiers.local_government import all_local_governments
from fukaiji.network.linkage import InstitutionRef
from fukaiji.network.models import InstitutionKind
from fukaiji.protection.errors import InvalidProtection
from fukaiji.protection.region import parse_region

MUNICIPALITIES = [g for g in all_local_governments() if not g.is_prefecture]


def ref(prefecture: str | None, municipality: str | None) -> InstitutionRef:
    return InstitutionRef(1, "x", "x", InstitutionKind.MUNICIPALITY, prefecture, municipality)


def test_a_municipality_protects_its_whole_prefecture() -> None:
    region = parse_region(["271004"])  # 大阪市
    assert region.prefecture_codes == {"270008"}
    assert region.covers(ref("270008", "271004"))  # 大阪市
    assert region.covers(ref("270008", None))  # 大阪府庁
    assert region.covers(ref("270008", "271403"))  # 堺市: still tells the prefecture
    assert not region.covers(ref("130001", "131016"))  # 千代田区
    assert not region.covers(ref(None, None))  # a national body is located nowhere


@pytest.mark.parametrize(
    "text",
    [
        '{"住所": "大阪府大阪市北区梅田1-1"}',
        "大 阪 市 北区",  # spaced
        "ｵｵｻｶ 大阪",  # the prefecture without 府
        "堺市堺区",  # another city of the prefecture
        "団体コード 271004",
        "２７１００４",  # full-width digits fold to the code
    ],
)
def test_places_of_the_region_are_found_however_written(text: str) -> None:
    assert parse_region(["271004"]).places_named_in(text)


@pytest.mark.parametrize(
    "text", ['{"住所": "東京都千代田区千代田1-1"}', "所得割額 123400", "1271004 円"]
)
def test_places_elsewhere_are_not(text: str) -> None:
    assert parse_region(["271004"]).places_named_in(text) == ()


def test_ヶ_and_ケ_are_the_same_place() -> None:
    region = parse_region(["142077"])  # 茅ヶ崎市
    assert region.places_named_in("茅ケ崎市") and region.places_named_in("茅ヶ崎市")


@given(
    st.sampled_from(MUNICIPALITIES),
    st.text(max_size=20).filter(lambda t: not any(c.isdigit() for c in t)),
    st.text(max_size=20).filter(lambda t: not any(c.isdigit() for c in t)),
)
def test_every_municipality_is_found_inside_any_text(government, before, after) -> None:
    region = parse_region([government.code.value])
    assert government.name in region.places_named_in(before + (government.city or "") + after)


@pytest.mark.parametrize(
    ("codes", "fault"),
    [([], "1 つ以上"), (["271005"], "検査用数字"), (["480002"], "一覧にありません")],
)
def test_a_bad_region_is_refused_with_the_rule(codes, fault) -> None:
    with pytest.raises(InvalidProtection) as refused:
        parse_region(codes)
    assert refused.value.field == "保護地域" and fault in refused.value.message
