"""Who and what the demonstration world holds: constants only, built by ``fukaiji.demo.world``.

Every value here is invented. The passwords and PINs are fixed so that a newcomer can type them
from the printed table; the card tokens and TOTP secrets are made by the services and exist only
in what ``load_demo_world`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from fukaiji.network.models import InstitutionKind
from fukaiji.staff.roles import StaffRole

# ---- places ---------------------------------------------------------------------------------

CHIYODA = "131016"  # 東京都千代田区: where 花子 and 太郎 lived together
SHINJUKU = "131041"  # 東京都新宿区: where 美咲 lived before she fled
OSAKA = "271004"  # 大阪府大阪市: the shelter's municipality (the protected region)
SAKAI = "271403"  # 大阪府堺市: inside the same prefecture, so inside the protected region too
SHELTER_REGION = (OSAKA,)  # a municipality's region covers its prefecture as well


@dataclass(frozen=True, slots=True)
class OtherBody:
    """A national body or agency the linkage table names as a provider."""

    code: str
    name: str
    kind: InstitutionKind
    location_code: str | None
    departments: tuple[str, ...]


NENKIN = OtherBody(
    "JPNENKIN", "日本年金機構", InstitutionKind.INCORPORATED_AGENCY, "131156", ("年金給付部",)
)
MHLW = OtherBody("MHLW", "厚生労働省", InstitutionKind.NATIONAL_BODY, CHIYODA, ("職業安定局",))
OTHER_BODIES = (NENKIN, MHLW)

# ---- the legal-basis rows the records use (shipped legal_basis_sample.csv) ------------------

HEALTH_INSURANCE = "JM01000000000020"  # 国民健康保険
PUBLIC_ASSISTANCE = "JM01000000000030"  # 生活保護
LONG_TERM_CARE = "JM01000000000050"  # 介護保険
RESIDENCE_ITEM = "TM01000000000001"  # 住民票関係情報
LOCAL_TAX_ITEM = "TM02000000000001"  # 地方税関係情報
PENSION_ITEM = "TM04000000000001"  # 年金給付関係情報
EMPLOYMENT_ITEM = "TM09000000000001"  # 雇用保険給付関係情報

# ---- staff ----------------------------------------------------------------------------------

# One password for every demo account: a demonstration, never a deployment (production refuses).
DEMO_PASSWORD = "hinode-demo-2026"  # noqa: S105


@dataclass(frozen=True, slots=True)
class StaffSpec:
    username: str
    institution_code: str
    department: str
    role: StaffRole
    display_name: str


STAFF = (
    StaffSpec(
        "demo-osaka-desk", OSAKA, "DV相談窓口", StaffRole.CONSULTATION_DESK, "大阪 相談員（デモ）"
    ),
    StaffSpec("demo-osaka-tax", OSAKA, "税務課", StaffRole.BUSINESS_DESK, "大阪 税務担当（デモ）"),
    StaffSpec(
        "demo-osaka-notice", OSAKA, "福祉課", StaffRole.NOTICE_SENDER, "大阪 送信担当（デモ）"
    ),
    StaffSpec("demo-osaka-window", OSAKA, "市民課", StaffRole.CARD_WINDOW, "大阪 交付窓口（デモ）"),
    StaffSpec(
        "demo-osaka-admin", OSAKA, "情報政策課", StaffRole.ADMINISTRATOR, "大阪 管理者（デモ）"
    ),
    StaffSpec(
        "demo-chiyoda-admin",
        CHIYODA,
        "情報政策課",
        StaffRole.ADMINISTRATOR,
        "千代田 管理者（デモ）",
    ),
    StaffSpec(
        "demo-chiyoda-tax", CHIYODA, "税務課", StaffRole.BUSINESS_DESK, "千代田 税務担当（デモ）"
    ),
    StaffSpec(
        "demo-chiyoda-desk",
        CHIYODA,
        "DV相談窓口",
        StaffRole.CONSULTATION_DESK,
        "千代田 相談員（デモ）",
    ),
)
DEMO_USERNAMES = tuple(spec.username for spec in STAFF)

# ---- residents ------------------------------------------------------------------------------


class StoryRole(StrEnum):
    VICTIM = "victim"
    PERPETRATOR = "perpetrator"
    RESIDENT = "resident"

    @property
    def label(self) -> str:
        return {"victim": "被害者", "perpetrator": "加害者", "resident": "一般"}[self.value]


@dataclass(frozen=True, slots=True)
class Record:
    """A 情報照会 made while the person lived at home: requester, provider, 事務, 特定個人情報."""

    requester: str
    provider: str
    affair: str
    item: str


@dataclass(frozen=True, slots=True)
class Item:
    """A 副本 item an institution holds about the person."""

    institution: str
    item: str
    content: dict[str, object]


@dataclass(frozen=True, slots=True)
class ResidentSpec:
    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    birth_date: date
    municipality_code: str  # where they live when the story starts
    address_line: str
    moved_in_on: date
    auth_pin: str
    sign_pin: str
    role: StoryRole
    note: str
    opens_folder: bool = True  # logged in to マイナポータル at home, which opened the folder
    records: tuple[Record, ...] = ()
    items: tuple[Item, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.family_name} {self.given_name}"


_TAX = {"年度": 2025, "所得割額": 98_000, "均等割額": 5_000}

HANAKO = ResidentSpec(
    "山田", "花子", "ヤマダ", "ハナコ", date(1990, 4, 1), CHIYODA, "千代田一丁目1番1号",
    date(2016, 4, 1), "7395", "HIBARI48", StoryRole.VICTIM,
    "ケース②: 古いカードと暗証番号は太郎の手元、太郎はポータルの代理人。保護は未登録",
    records=(Record(CHIYODA, NENKIN.code, HEALTH_INSURANCE, PENSION_ITEM),),
    items=(
        Item(CHIYODA, LOCAL_TAX_ITEM, _TAX),
        Item(NENKIN.code, PENSION_ITEM, {"年金": "受給なし", "被保険者種別": "第1号"}),
        Item(MHLW.code, EMPLOYMENT_ITEM, {"雇用保険": "受給資格なし"}),
    ),
)  # fmt: skip
TARO = ResidentSpec(
    "山田", "太郎", "ヤマダ", "タロウ", date(1987, 9, 12), CHIYODA, "千代田一丁目1番1号",
    date(2016, 4, 1), "2468", "TSUBAME77", StoryRole.PERPETRATOR,
    "花子の古いカードを持ち、花子の代理人でもある",
    records=(Record(CHIYODA, NENKIN.code, HEALTH_INSURANCE, PENSION_ITEM),),
    items=(Item(CHIYODA, LOCAL_TAX_ITEM, {**_TAX, "所得割額": 231_000}),),
)  # fmt: skip
MISAKI = ResidentSpec(
    "鈴木", "美咲", "スズキ", "ミサキ", date(1993, 7, 20), SHINJUKU, "西新宿二丁目8番1号",
    date(2018, 10, 1), "5820", "KAEDE2020", StoryRole.VICTIM,
    "大阪市で保護登録済み。カードを置いてきたまま（利用停止手続は未完了）",
    records=(Record(SHINJUKU, NENKIN.code, HEALTH_INSURANCE, PENSION_ITEM),),
    items=(Item(SHINJUKU, LOCAL_TAX_ITEM, {**_TAX, "所得割額": 76_000}),),
)  # fmt: skip
ICHIRO = ResidentSpec(
    "佐藤", "一郎", "サトウ", "イチロウ", date(1975, 1, 15), CHIYODA, "神田駿河台三丁目6番",
    date(2001, 6, 1), "3141", "KANDA1975", StoryRole.RESIDENT, "",
    records=(Record(CHIYODA, NENKIN.code, HEALTH_INSURANCE, PENSION_ITEM),),
    items=(Item(CHIYODA, LOCAL_TAX_ITEM, {**_TAX, "所得割額": 312_000}),),
)  # fmt: skip
KENTA = ResidentSpec(
    "田中", "健太", "タナカ", "ケンタ", date(1982, 11, 3), OSAKA, "北区梅田三丁目1番",
    date(2010, 4, 1), "8080", "UMEDA1982", StoryRole.RESIDENT, "",
    records=(Record(OSAKA, NENKIN.code, HEALTH_INSURANCE, PENSION_ITEM),),
    items=(Item(OSAKA, LOCAL_TAX_ITEM, {**_TAX, "所得割額": 154_000}),),
)  # fmt: skip
SAKURA = ResidentSpec(
    "高橋", "さくら", "タカハシ", "サクラ", date(1999, 3, 30), OSAKA, "天王寺区上本町六丁目",
    date(2021, 4, 1), "4444", "SAKURA99", StoryRole.RESIDENT,
    "マイナポータル未開設（お知らせは「アカウントなし」）", opens_folder=False,
)  # fmt: skip
YUMI = ResidentSpec(
    "中村", "由美", "ナカムラ", "ユミ", date(1968, 6, 8), SAKAI, "堺区南瓦町3番1号",
    date(1995, 5, 1), "6502", "SAKAI1968", StoryRole.RESIDENT, "",
    records=(Record(SAKAI, NENKIN.code, LONG_TERM_CARE, PENSION_ITEM),),
)  # fmt: skip
RESIDENTS = (HANAKO, TARO, MISAKI, ICHIRO, KENTA, SAKURA, YUMI)

# ---- the flights --------------------------------------------------------------------------

# How long ago things happened, counted back from the moment the world is loaded. Cards and
# folders are older than either flight, so the cards are the ones that may have been left behind.
HOME_LIFE_DAYS_AGO = 400
MISAKI_FLED_DAYS_AGO = 30
HANAKO_FLED_DAYS_AGO = 10
DAYS_TO_MOVE_IN = 3  # from the flight to the 転入届 at the shelter's city
HANAKO_SHELTER_ADDRESS = "中央区本町二丁目3番4号"
MISAKI_SHELTER_ADDRESS = "西区九条一丁目5番6号"

# 花子's first procedures at the shelter (生活保護), which leave records naming 大阪市.
HANAKO_SHELTER_RECORDS = (
    Record(OSAKA, CHIYODA, PUBLIC_ASSISTANCE, LOCAL_TAX_ITEM),
    Record(OSAKA, MHLW.code, PUBLIC_ASSISTANCE, EMPLOYMENT_ITEM),
)
MISAKI_SHELTER_RECORDS = (Record(OSAKA, SHINJUKU, PUBLIC_ASSISTANCE, LOCAL_TAX_ITEM),)

# ---- notices --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoticeSpec:
    title: str
    body: str
    category: str


SENT_NOTICE = NoticeSpec(
    "臨時給付金のご案内",
    "大阪市から臨時給付金のご案内です。マイナポータルから申請できます。",
    "benefit",
)
DRAFT_NOTICE = NoticeSpec(
    "インフルエンザ予防接種のお知らせ",
    "大阪市では今冬の予防接種の費用を助成します。詳しくは福祉課までお問い合わせください。",
    "health",
)
NOTICE_ADDRESSEES = (KENTA, SAKURA, HANAKO, MISAKI)  # everyone with a number at 大阪市
