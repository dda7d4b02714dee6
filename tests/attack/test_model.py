"""The invariant of DESIGN §2 under attack by a state machine over the real services.

花子 (the victim) lived in 千代田区 with 太郎 (the perpetrator) and has fled to a shelter in 大阪市;
the protected region is 大阪市, which covers all of 大阪府 (so 堺市 gives it away too). 次郎 is an
honest bystander she may appoint as a proxy. The case facts are drawn once per example: whether
she left her card behind (then 太郎 holds card 0 and its PIN for good), whether she had appointed
太郎 as her proxy before fleeing, whether the desk can name 太郎, and whether she had opened her
folder at home.

The rules are plain service calls: she moves; her card is suspended by phone, lifted at the window
(even the card left behind: a mistake the system must survive), reissued; she opens her folder,
appoints or cancels a proxy, deletes her folder; while her card left behind still logs in, 太郎,
logged in as her, appoints himself or 次郎 (then his accomplice), keeps an invitation code to
accept later, or deletes her folder; the window records 太郎 as 法定代理人 and ends it;
institutions inside the region (大阪市, 堺市) and outside it (千代田区, 横浜市) query each other
about her and register 副本 naming an address in Osaka or in Tokyo; the 大阪市 desk registers the
protection (at once, or at some later step); she asks for 不開示 at any of the institutions,
consents to a category of notices and withdraws it; notice departments inside and outside the
region prepare notices (screened or not, naming a place in the region or not) and send them
through the gate at once or at a later step; her 個人番号 is changed.

The model (``Model``) is small and independent of the implementation: who holds which card and
whether it can sign, the live folder and the cards that logged into it, the live grants, every
record and 副本 item with the institutions it names, the 不開示 flags, consents, and each
notice's fate. From it follow what every view must display, which perpetrator paths are open,
whether the usage-stop procedures are complete, and who is excluded from notices.

After every step (``everything_holds``):
1. the desk's derived status and each gate's exclusion agree with the model;
2. the exposure check reports exactly the paths and items the model predicts;
3. 太郎's sessions from the previous check are alive exactly while their path still is;
4. everybody logs in by every path the portal offers them — 花子 with her own card, 太郎 with her
   card left behind and with his own card as proxy, 次郎 as proxy — and 太郎 is refused on every
   closed path; each display equals the model's, never shows anything 不開示, and, while she is
   protected, whatever 太郎 sees that gives the region away is in the exposure report of that very
   path (the exposure check and the portal agree, item for item).

Each example makes fresh residents in the test's one database (a new database per example would
cost more than the example); what earlier examples left behind belongs to other people.

Found so far: with her card, 太郎 appointed an accomplice, whose path the exposure check did not
report (tests/attack/test_regressions.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.portal.conftest import PortalWorld, Resident, build_portal_world
from tests.portal.test_perpetrator import delete

from fukaiji import intermediate, portal
from fukaiji.intermediate.display import DisclosableRecord, DisclosableSelfInfo
from fukaiji.intermediate.models import SelfInfoItem
from fukaiji.jpki import CardRefused, LoginRefused
from fukaiji.jpki import service as jpki
from fukaiji.network.institutions import get_department, get_institution
from fukaiji.network.models import Institution, LinkageRecord
from fukaiji.notices import jobs
from fukaiji.notices import service as notices
from fukaiji.notices.models import Notice
from fukaiji.portal import InvitationRefused, NoFolderAccess, proxies
from fukaiji.portal.folder import FolderView, InboxItem
from fukaiji.portal.states import GrantKind, ViewKind
from fukaiji.protection import consent, exposure, requests, service, status
from fukaiji.protection.exclusion import is_excluded
from fukaiji.protection.exposure import ExposureReport, PathKind
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.models import Protection
from fukaiji.protection.region import parse_region
from fukaiji.protection.service import Requester, Viewer
from fukaiji.registry import moves
from fukaiji.registry import service as registry

# ---- the places ------------------------------------------------------------------------------

OSAKA, SAKAI = "271004", "271403"  # inside the protected region (大阪府)
CHIYODA, YOKOHAMA = "131016", "141003"  # outside it
INSIDE = frozenset({OSAKA, SAKAI})
INSTITUTIONS = (OSAKA, SAKAI, CHIYODA, YOKOHAMA)
REGION = parse_region([OSAKA])

CHILD_ALLOWANCE = "JM01000000000010"  # 児童手当 (市町村長 → 市町村長)
ITEMS = ("TM02000000000001", "TM01000000000001")  # 地方税関係情報, 住民票関係情報
# The region named in every script and spelling a sender might use, or hide it in: the mask must
# find each one (fukaiji.protection.region), and the model expects each to be held back.
OSAKA_SPELLINGS = (
    "大阪市北区梅田一丁目1番1号",
    "堺市堺区南瓦町3番1号",
    "大\u200b阪\u200d市北区",  # zero-width characters between the letters
    "おおさかし きたく うめだ",
    "オオサカシ キタク",
    "ｵｵｻｶｼ ｷﾀｸ",  # half-width katakana
    "Osaka-shi Kita-ku Umeda 1-1",
    "OOSAKA SHI",
    "Ōsaka City",
    "〒530-0001",
    "郵便番号 5900078",
    "ＳＡＫＡＩ－ＳＨＩ",  # full-width
)
ELSEWHERE = "東京都千代田区千代田一丁目1番1号"
NOTICE_BODIES = {False: "申請を受付中です。"}


def notice_body(spelling: str) -> str:
    return f"{spelling}の窓口で受け付けています。"
CATEGORIES = ("benefit", "tax")
MOVES = {OSAKA: "梅田一丁目1番1号", CHIYODA: "千代田一丁目2番2号", YOKOHAMA: "日本大通1番地"}

TOKYO = ZoneInfo("Asia/Tokyo")

PERPETRATOR, BYSTANDER = "perpetrator", "bystander"
CARD_PATH: tuple[str, int | None] = (PathKind.CARD.value, None)
OWN_PATH: tuple[str, int | None] = ("own", None)

# ---- the model ---------------------------------------------------------------------------------


class CardState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ABOLISHED = "abolished"


@dataclass
class ModelCard:
    token: str = field(repr=False)
    issued: int  # on the model's clock
    state: CardState = CardState.ACTIVE
    with_victim: bool = True  # False for the card left behind: 太郎 has it

    @property
    def usable(self) -> bool:
        return self.state is CardState.ACTIVE


@dataclass
class ModelAccount:
    account_id: int
    created: int
    cards_used: set[int] = field(default_factory=set)  # indices of the victim's cards
    inbox: set[str] = field(default_factory=set)  # notice titles


@dataclass
class ModelGrant:
    grant_id: int
    kind: GrantKind
    by_perpetrator: bool = False  # made by 太郎 logged in with her card: 次郎 is his accomplice


@dataclass(frozen=True)
class Shown:
    """What one view displays, by record id, 副本 item id and notice title."""

    records: frozenset[int]
    self_info: frozenset[int]
    inbox: frozenset[str]

    @classmethod
    def of(cls, view: FolderView) -> Shown:
        return cls(
            frozenset(r.record_id for r in view.records),
            frozenset(i.item_id for i in view.self_info),
            frozenset(m.title for m in view.inbox),
        )


@dataclass
class PendingNotice:
    notice: Notice
    institution: str
    title: str
    category: str
    removed_by_screening: bool


@dataclass
class Model:
    """The truth of one example, kept by the test alone."""

    left_behind: bool
    identified: bool
    clock: int = 0
    cards: list[ModelCard] = field(default_factory=list)
    account: ModelAccount | None = None
    grants: dict[str, ModelGrant] = field(default_factory=dict)  # live, by proxy
    records: dict[int, tuple[str, str]] = field(default_factory=dict)  # requester, provider
    items: dict[int, tuple[str, bool]] = field(default_factory=dict)  # institution, names region
    latest: dict[tuple[str, str], int] = field(default_factory=dict)  # current version's id
    notices: dict[str, tuple[str, bool]] = field(default_factory=dict)  # institution, names region
    flagged: set[str] = field(default_factory=set)
    consents: dict[int, tuple[str, str]] = field(default_factory=dict)  # live, by id
    registered: int | None = None  # when the desk registered the protection

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    # -- cards and paths --

    @property
    def current(self) -> int:
        return len(self.cards) - 1

    def victim_card(self) -> int | None:
        """The card she holds and can log in with, if any."""
        card = self.cards[self.current]
        return self.current if card.with_victim and card.usable else None

    def risky(self, index: int) -> bool:
        """A card that existed when the case was registered may be in 太郎's hands."""
        return self.registered is not None and self.cards[index].issued < self.registered

    def card_path_open(self) -> bool:
        return self.left_behind and self.cards[0].usable

    def perpetrator_paths(self) -> set[tuple[str, int | None]]:
        """The paths truly open to 太郎."""
        paths: set[tuple[str, int | None]] = {CARD_PATH} if self.card_path_open() else set()
        paths |= {
            (PathKind.PROXY.value, grant.grant_id)
            for proxy, grant in self.grants.items()
            if proxy == PERPETRATOR or grant.by_perpetrator
        }
        return paths

    def risky_grants(self) -> list[ModelGrant]:
        """Grants the desk must fear: 太郎's; every one where he is not identified, or where the
        folder is one the card left behind may have reached (whoever held it could appoint
        anyone; this model found 太郎 appointing an accomplice: see test_regressions.py)."""
        every = not self.identified or (self.left_behind and self.stale_account())
        return [grant for proxy, grant in self.grants.items() if every or proxy == PERPETRATOR]

    def stale_account(self) -> bool:
        if self.account is None or self.registered is None:
            return False
        return self.account.created < self.registered or any(
            self.risky(i) for i in self.account.cards_used
        )

    def usage_stop_complete(self) -> bool:
        risky_card_usable = any(self.risky(i) and c.usable for i, c in enumerate(self.cards))
        card_closed = not (self.left_behind and (risky_card_usable or self.stale_account()))
        return card_closed and not self.risky_grants()

    def card_path_feared(self) -> bool:
        """The desk must fear the card path while any card that existed at registration can log
        in: 太郎 may hold any of them."""
        return self.left_behind and any(
            self.risky(i) and c.usable for i, c in enumerate(self.cards)
        )

    # -- notices --

    def excluded(self, institution: str, category: str) -> bool:
        """Whether a notice of ``category`` from ``institution`` must not reach her now."""
        if (institution, category) in self.consents.values():
            return False
        if institution == OSAKA and self.registered is not None:
            return not self.usage_stop_complete()  # the protection decides (別添2(4))
        return institution in self.flagged  # known from the flag alone: always excluded

    # -- the views --

    def masked(self, path: tuple[str, int | None], card: int | None = None) -> bool:
        """Whether the portal holds back from ``path`` what gives the region away: from the
        moment the desk registers her, on every path it must fear (the card left behind, a
        card of hers that existed then, a risky grant); never on her own reissued card."""
        if self.registered is None:
            return False
        if path == CARD_PATH:
            return self.left_behind and self.risky(0)
        if path == OWN_PATH:
            return self.left_behind and card is not None and self.risky(card)
        return any(path == (PathKind.PROXY.value, g.grant_id) for g in self.risky_grants())

    def view(self, *, new_folder: bool = False, masked: bool = False) -> Shown:
        shown = self._unmasked_view(new_folder=new_folder)
        if not masked:
            return shown
        hidden = self.revealing(shown)
        return Shown(
            frozenset(r for r in shown.records if (ViewKind.RECORDS.value, r) not in hidden),
            frozenset(i for i in shown.self_info if (ViewKind.SELF_INFO.value, i) not in hidden),
            frozenset(t for t in shown.inbox if (ViewKind.INBOX.value, t) not in hidden),
        )

    def _unmasked_view(self, *, new_folder: bool) -> Shown:
        records = {
            record_id
            for record_id, (requester, provider) in self.records.items()
            if requester not in self.flagged and provider not in self.flagged
        }
        items = {
            item_id
            for (institution, _), item_id in self.latest.items()
            if institution not in self.flagged
        }
        inbox = self.account.inbox if self.account and not new_folder else set()
        return Shown(frozenset(records), frozenset(items), frozenset(inbox))

    def reveals(self, view: str, key: int | str) -> bool:
        """Whether an item gives the region away: it names an institution inside it, or its
        text names a place there."""
        if view == ViewKind.RECORDS.value:
            return bool(set(self.records[key]) & INSIDE)
        institution, names_region = (
            self.items if view == ViewKind.SELF_INFO.value else self.notices
        )[key]
        return institution in INSIDE or names_region

    def revealing(self, shown: Shown) -> set[tuple[str, int | str]]:
        """What of ``shown`` gives the region away, keyed as the exposure report is."""
        keys = [
            *((ViewKind.RECORDS.value, record_id) for record_id in shown.records),
            *((ViewKind.SELF_INFO.value, item_id) for item_id in shown.self_info),
            *((ViewKind.INBOX.value, title) for title in shown.inbox),
        ]
        return {key for key in keys if self.reveals(*key)}


# ---- reading the system --------------------------------------------------------------------------


def exposed(
    report: ExposureReport, *, held_back: bool = False
) -> dict[tuple[str, int | None], set[tuple[str, int | str]]]:
    """The exposure report's items (or those it lists as held back) by path, keyed like
    ``Model.revealing``."""
    by_path: dict[tuple[str, int | None], set[tuple[str, int | str]]] = {
        (path.kind.value, path.grant_id): set() for path in report.paths
    }
    for item in report.held_back if held_back else report.items:
        key = item.title if item.view is ViewKind.INBOX else item.item_id
        by_path[(item.path.kind.value, item.path.grant_id)].add((item.view.value, key))
    return by_path


def key_of(item: DisclosableRecord | DisclosableSelfInfo | InboxItem) -> tuple[str, int | str]:
    if isinstance(item, DisclosableRecord):
        return ViewKind.RECORDS.value, item.record_id
    if isinstance(item, DisclosableSelfInfo):
        return ViewKind.SELF_INFO.value, item.item_id
    return ViewKind.INBOX.value, item.title


def names_the_region(item: DisclosableRecord | DisclosableSelfInfo | InboxItem) -> bool:
    """The region rules applied to a displayed item: an institution located there, or a place
    there named in its text."""
    if isinstance(item, DisclosableRecord):
        text = f"{item.affair_name} {item.item_name}"
    elif isinstance(item, DisclosableSelfInfo):
        text = f"{item.item_name} {item.content_json}"
    else:
        text = f"{item.title} {item.body}"
    located = any(REGION.covers(institution) for institution in item.institutions)
    return located or bool(REGION.places_named_in(text))


# ---- the machine -------------------------------------------------------------------------------


def victim_machine(session: Session, engine: Engine) -> type[RuleBasedStateMachine]:
    world: PortalWorld = build_portal_world(session)
    institutions: dict[str, Institution] = {
        code: get_institution(session, code) for code in INSTITUTIONS
    }

    def viewer(code: str, department: str) -> Viewer:
        found = get_department(session, institution_code=code, name=department)
        return Viewer(found.institution_id, code, found.id, f"staff:{code}:{department}")

    desk = viewer(OSAKA, "DV相談窓口")
    senders = {code: viewer(code, "福祉課") for code in (OSAKA, SAKAI, CHIYODA)}
    session.commit()

    class VictimAndPerpetrator(RuleBasedStateMachine):
        model: Model

        # -- setting the scene --

        @initialize(
            left_behind=st.booleans(),
            proxy_before=st.booleans(),
            identified=st.booleans(),
            folder_at_home=st.booleans(),
            desk_at_once=st.booleans(),
        )
        def flee(
            self,
            left_behind: bool,
            proxy_before: bool,
            identified: bool,
            folder_at_home: bool,
            desk_at_once: bool,
        ) -> None:
            session.rollback()  # a failed example may have left the session mid-transaction
            self.model = Model(left_behind=left_behind, identified=identified)
            self.victim = world.resident("花子")
            self.perpetrator = world.resident("太郎", family_name="佐藤")
            self.bystander = world.resident("次郎", family_name="鈴木")
            self.model.cards.append(ModelCard(self.victim.card_token, self.model.tick()))
            self.proxy_before = proxy_before
            self.protection: Protection | None = None
            self.pending: list[PendingNotice] = []
            self.invitations: list[tuple[str, int]] = []  # 太郎's codes, and the folder
            self.kept: dict[tuple[str, int | None], tuple[portal.Login, int]] = {}
            self.last_account_id: int | None = None
            self.moves = 0
            self.notice_count = 0
            if folder_at_home:
                self._victim_login()
            if proxy_before:
                self._appoint(PERPETRATOR)
            # She fled; if the card stayed behind, from now on 太郎 holds it.
            self.model.cards[0].with_victim = not left_behind
            if desk_at_once:  # else the rule below registers her, whenever it is drawn
                self._register(proxy=proxy_before)

        def _commit(self) -> None:
            session.commit()

        def _number(self, code: str) -> str:
            return world.enrol(self.victim, institutions[code])

        def _resident(self, proxy: str) -> Resident:
            return self.perpetrator if proxy == PERPETRATOR else self.bystander

        # -- her card, her folder --

        def _victim_login(self) -> portal.Login:
            index = self.model.victim_card()
            assert index is not None
            login = world.login(self.model.cards[index].token)
            self._opened(login, index)
            return login

        def _opened(self, login: portal.Login, card: int | None) -> None:
            """A login into her own folder: the model's folder is created or used."""
            if self.model.account is None:
                assert login.account_created
                self.model.account = ModelAccount(login.account.id, self.model.tick())
                self.last_account_id = login.account.id
            assert login.account.id == self.model.account.account_id
            if card is not None:
                self.model.account.cards_used.add(card)

        @rule()
        def suspend_card(self) -> None:
            card = self.model.cards[self.model.current]
            jpki.suspend_card(
                session, card_id=world.card_id(self.victim), channel="phone", actor="test:0120"
            )
            self._commit()
            card.state = CardState.SUSPENDED

        @precondition(lambda self: self.model.cards[self.model.current].state == "suspended")
        @rule()
        def lift_suspension(self) -> None:
            jpki.lift_suspension(session, card_id=world.card_id(self.victim), actor="test:window")
            self._commit()
            self.model.cards[self.model.current].state = CardState.ACTIVE

        @precondition(lambda self: len(self.model.cards) < 4)
        @rule()
        def reissue_card(self) -> None:
            self.model.cards[self.model.current].state = CardState.ABOLISHED
            world.reissue(self.victim)
            self.model.cards.append(ModelCard(self.victim.card_token, self.model.tick()))

        @precondition(lambda self: self.model.victim_card() is not None)
        @rule()
        def open_folder(self) -> None:
            self._victim_login()

        @precondition(lambda self: self.model.victim_card() is not None)
        @rule(proxy=st.sampled_from([PERPETRATOR, BYSTANDER]))
        def appoint(self, proxy: str) -> None:
            if proxy in self.model.grants:
                return
            self._appoint(proxy)

        def _appoint(self, proxy: str, *, by_perpetrator: bool = False) -> None:
            own = self._card_left_behind_login() if by_perpetrator else self._victim_login()
            issued = proxies.create_invitation(session, own.portal_session)
            theirs = world.login(self._resident(proxy).card_token)
            grant = proxies.accept_invitation(session, theirs.portal_session, code=issued.code)
            self._commit()
            self.model.grants[proxy] = ModelGrant(grant.id, GrantKind.APPOINTED, by_perpetrator)

        # -- what 太郎 can do with her card while it still logs in --

        def _card_left_behind_login(self) -> portal.Login:
            login = world.login(self.model.cards[0].token)
            self._opened(login, 0)
            return login

        @precondition(lambda self: self.model.card_path_open())
        @rule(proxy=st.sampled_from([PERPETRATOR, BYSTANDER]))
        def perpetrator_appoints_with_her_card(self, proxy: str) -> None:
            if proxy not in self.model.grants:
                self._appoint(proxy, by_perpetrator=True)

        @precondition(lambda self: self.model.card_path_open() and len(self.invitations) < 2)
        @rule()
        def perpetrator_invites_with_her_card(self) -> None:
            """An invitation he keeps for later: it outlives the card's suspension."""
            login = self._card_left_behind_login()
            issued = proxies.create_invitation(session, login.portal_session)
            self._commit()
            self.invitations.append((issued.code, login.account.id))

        @precondition(lambda self: bool(self.invitations))
        @rule(proxy=st.sampled_from([PERPETRATOR, BYSTANDER]))
        def invitation_accepted_later(self, proxy: str) -> None:
            if proxy in self.model.grants:
                return
            code, account_id = self.invitations.pop(0)
            login = world.login(self._resident(proxy).card_token)
            folder = self.model.account
            live = folder is not None and folder.account_id == account_id
            try:
                grant = proxies.accept_invitation(session, login.portal_session, code=code)
            except InvitationRefused:
                self._commit()
                assert not live, "an invitation into her live folder was refused"
                return
            self._commit()
            assert live, "an invitation into a deleted folder was accepted"
            self.model.grants[proxy] = ModelGrant(grant.id, GrantKind.APPOINTED, True)

        @precondition(lambda self: self.model.card_path_open() and self.model.account is not None)
        @rule()
        def perpetrator_deletes_her_folder(self) -> None:
            self._delete(self._card_left_behind_login(), self.model.cards[0].token)

        @precondition(lambda self: self.model.victim_card() is not None and self.model.grants)
        @rule(data=st.data())
        def cancel_grant(self, data: st.DataObject) -> None:
            proxy = data.draw(st.sampled_from(sorted(self.model.grants)), label="proxy")
            own = self._victim_login()
            proxies.cancel_grant(session, own.portal_session, self.model.grants[proxy].grant_id)
            self._commit()
            del self.model.grants[proxy]

        @precondition(lambda self: PERPETRATOR not in self.model.grants)
        @rule()
        def window_records_legal_representative(self) -> None:
            grant = proxies.record_legal_representative(
                session,
                person_id=self.victim.id,
                representative_id=self.perpetrator.id,
                representation="adult_guardian",
                institution=institutions[CHIYODA],
                actor="test:window",
            )
            self._commit()
            if self.model.account is None:  # the window opens the folder it needs
                self.model.account = ModelAccount(grant.account_id, self.model.tick())
                self.last_account_id = grant.account_id
            assert grant.account_id == self.model.account.account_id
            self.model.grants[PERPETRATOR] = ModelGrant(grant.id, GrantKind.LEGAL)

        @precondition(
            lambda self: (
                PERPETRATOR in self.model.grants
                and self.model.grants[PERPETRATOR].kind is GrantKind.LEGAL
            )
        )
        @rule()
        def window_ends_legal_representation(self) -> None:
            proxies.end_legal_representation(
                session,
                person_id=self.victim.id,
                grant_id=self.model.grants[PERPETRATOR].grant_id,
                ground="guardian_dismissed",  # the family court dismissed the 成年後見人
                reference="令和8年（家）第1234号",
                institution=institutions[CHIYODA],
                actor="test:window",
            )
            self._commit()
            del self.model.grants[PERPETRATOR]

        @precondition(
            lambda self: self.model.victim_card() is not None and self.model.account is not None
        )
        @rule()
        def delete_folder(self) -> None:
            index = self.model.victim_card()
            assert index is not None
            self._delete(self._victim_login(), self.model.cards[index].token)

        def _delete(self, login: portal.Login, token: str) -> None:
            report = delete(world, login, token)
            assert report.grants_ended == len(self.model.grants)
            self.model.account = None
            self.model.grants.clear()

        @precondition(lambda self: self.moves < 3)
        @rule(code=st.sampled_from(sorted(MOVES)))
        def move(self, code: str) -> None:
            self.moves += 1
            # A 転出届 at her municipality and the 転入 at the destination, or a 転居 within it;
            # each later than the one before, within the legal periods of today.
            moved_on = datetime.now(TOKYO).date() - timedelta(days=10 - self.moves)
            current = registry.get_person(session, self.victim.id).current_residence
            if current.municipality_code == code:
                moves.relocate(
                    session,
                    municipality_code=code,
                    person_id=self.victim.id,
                    address_line=MOVES[code],
                    moved_on=moved_on,
                    actor="test:window",
                )
            else:
                moves.record_move_out(
                    session,
                    person_id=self.victim.id,
                    destination_code=code,
                    planned_on=moved_on,
                    actor="test:window",
                    municipality_code=current.municipality_code,
                )
                moves.complete_move_in(
                    session,
                    municipality_code=code,
                    my_number=registry.current_my_number(session, self.victim.id),
                    address_line=MOVES[code],
                    moved_on=moved_on,
                    actor="test:window",
                )
            jpki.on_address_change(session, person_id=self.victim.id, actor="test:window")
            self._commit()  # the 利用者証明用 certificate stays valid: no path changes

        @rule()
        def change_my_number(self) -> None:
            registry.change_my_number(
                session,
                person_id=self.victim.id,
                reason="DV被害のため",
                my_number_key=b"m" * 32,
                actor="test:window",
            )
            self._commit()

        # -- her procedures at institutions --

        @rule(
            requester=st.sampled_from(INSTITUTIONS),
            provider=st.sampled_from(INSTITUTIONS),
            provider_knows_her=st.booleans(),
        )
        def linkage_query(self, requester: str, provider: str, provider_knows_her: bool) -> None:
            if requester == provider:
                return
            if provider_knows_her:
                self._number(provider)
            result = intermediate.query(
                session,
                requester=institutions[requester],
                addressee_number=self._number(requester),
                provider_code=provider,
                affair_code=CHILD_ALLOWANCE,
                item_code=ITEMS[0],
                actor="test:requester",
            )
            self._commit()
            self.model.records[result.record_id] = (requester, provider)

        @rule(
            institution=st.sampled_from(INSTITUTIONS),
            item_code=st.sampled_from(ITEMS),
            in_osaka=st.booleans(),
            spelling=st.sampled_from(OSAKA_SPELLINGS),
        )
        def register_self_info(
            self, institution: str, item_code: str, in_osaka: bool, spelling: str
        ) -> None:
            item = intermediate.register_self_info(
                session,
                institution=institutions[institution],
                addressee_number=self._number(institution),
                item_code=item_code,
                content={"住所": spelling if in_osaka else ELSEWHERE, "年度": 2026},
                publish_from=date(2026, 4, 1),
                actor="test:provider",
            )
            self._commit()
            self.model.items[item.id] = (institution, in_osaka)
            self.model.latest[(institution, item_code)] = item.id

        # -- the measures --

        @precondition(lambda self: self.model.registered is None)
        @rule(proxy=st.booleans())
        def desk_registers_protection(self, proxy: bool) -> None:
            self._register(proxy=self.proxy_before or proxy)

        def _register(self, *, proxy: bool) -> None:
            facts = CaseFacts(
                own_procedures=True,
                card_left_behind=self.model.left_behind,
                perpetrator_is_proxy=proxy,
                perpetrator_is_legal_representative=False,
                perpetrator_id=self.perpetrator.id if self.model.identified else None,
            )
            # 大阪市 deals with her at the shelter, so she is its addressee: its desk may
            # register only its own people.
            self._number(OSAKA)
            self.protection = service.register_protection(
                session,
                institution=institutions[OSAKA],
                department_id=desk.department_id,
                person_id=self.victim.id,
                facts=facts,
                region_codes=[OSAKA],
                requester=Requester.checked("person", None, None),
                fled_on=None,
                network_key=world.network_key,
                actor=desk.actor,
            )
            self._commit()
            self.model.registered = self.model.tick()

        @rule(institution=st.sampled_from(INSTITUTIONS))
        def request_nondisclosure(self, institution: str) -> None:
            requests.request_nondisclosure(
                session,
                institution=institutions[institution],
                person_id=self.victim.id,
                requester=Requester.checked("person", None, None),
                network_key=world.network_key,
                actor=f"staff:{institution}:窓口",
            )
            self._commit()
            self.model.flagged.add(institution)

        @rule(institution=st.sampled_from([OSAKA, SAKAI]), category=st.sampled_from(CATEGORIES))
        def consent_to_notices(self, institution: str, category: str) -> None:
            given = consent.record_consent(
                session,
                institution=institutions[institution],
                addressee_number=self._number(institution),
                given_on=date(2026, 11, 1),
                channel="window",
                category=category,
                actor=f"staff:{institution}:窓口",
            )
            self._commit()
            self.model.consents[given.id] = (institution, category)

        @precondition(lambda self: bool(self.model.consents))
        @rule(data=st.data())
        def withdraw_consent(self, data: st.DataObject) -> None:
            consent_id = data.draw(st.sampled_from(sorted(self.model.consents)), label="consent")
            institution, _ = self.model.consents.pop(consent_id)
            consent.withdraw_consent(
                session,
                institution=institutions[institution],
                consent_id=consent_id,
                actor=f"staff:{institution}:窓口",
            )
            self._commit()

        # -- notices: prepared in one step, sent through the gate in a later one --

        @precondition(lambda self: len(self.pending) < 2)
        @rule(
            institution=st.sampled_from([OSAKA, SAKAI, CHIYODA]),
            category=st.sampled_from(CATEGORIES),
            names_region=st.booleans(),
            spelling=st.sampled_from(OSAKA_SPELLINGS),
            screened=st.booleans(),
            send_now=st.booleans(),
        )
        def prepare_notice(
            self,
            institution: str,
            category: str,
            names_region: bool,
            spelling: str,
            screened: bool,
            send_now: bool,
        ) -> None:
            self.notice_count += 1
            title = f"お知らせ{self.notice_count}号"
            sender = senders[institution]
            number = self._number(institution)
            body = notice_body(spelling) if names_region else NOTICE_BODIES[False]
            notice = notices.create_notice(
                session, sender=sender, title=title, body=body, category=category
            )
            data = f"団体内統合宛名番号,氏名\n{number},山田 花子\n".encode()
            notices.attach_destination(
                session, notice=notice, sender=sender, data=data, filename="宛先.csv"
            )
            removed = False
            if screened:
                report = notices.screen(session, notice=notice, sender=sender)
                removed = self.model.excluded(institution, category)
                assert report.removed == int(removed)
            self._commit()
            self.model.notices[title] = (institution, names_region)
            self.pending.append(PendingNotice(notice, institution, title, category, removed))
            if send_now:
                self._send_oldest()

        @precondition(lambda self: bool(self.pending))
        @rule()
        def send_notice(self) -> None:
            self._send_oldest()

        def _send_oldest(self) -> None:
            """The oldest notice prepared goes out; the gate asks again, whatever screening said."""
            pending = self.pending.pop(0)
            jobs.start_sending(session, notice=pending.notice, sender=senders[pending.institution])
            self._commit()
            jobs.work(engine, once=True)
            report = jobs.delivery_report(session, notice=pending.notice)
            self._commit()
            assert report is not None and report.state == "done"
            outcome = (report.removed_by_screening, report.blocked, report.no_account, report.sent)
            if pending.removed_by_screening:
                assert outcome == (1, 0, 0, 0)
            elif self.model.excluded(pending.institution, pending.category):
                assert outcome == (0, 1, 0, 0), "the gate let an excluded addressee through"
            elif self.model.account is None:
                assert outcome == (0, 0, 1, 0)
            else:
                assert outcome == (0, 0, 0, 1)
                self.model.account.inbox.add(pending.title)

        # -- after every step --

        @invariant()
        def everything_holds(self) -> None:
            self._status_and_exclusion()
            report = self._exposure()
            self._old_sessions()
            for who, path, view in self._log_in_by_every_path():
                self._check_view(who, path, view, report)
            self._commit()

        def _status_and_exclusion(self) -> None:
            if self.protection is not None:
                current = status.current_status(session, self.protection)
                assert current.usage_stop.complete is self.model.usage_stop_complete(), (
                    current.usage_stop.open_paths
                )
            for code in (OSAKA, SAKAI):
                number = self._number(code)
                for category in CATEGORIES:
                    excluded = is_excluded(
                        session,
                        institution=institutions[code],
                        addressee_number=number,
                        category=category,
                    )
                    assert excluded is self.model.excluded(code, category), (code, category)

        def _exposure(self) -> ExposureReport | None:
            if self.protection is None:
                return None
            report = exposure.check_exposure(
                session, self.protection, network_key=world.network_key, actor="test:desk"
            )
            cards = [p.new_folder for p in report.paths if p.kind is PathKind.CARD]
            feared = [self.model.account is None] if self.model.card_path_feared() else []
            assert cards == feared
            granted = {p.grant_id for p in report.paths if p.kind is PathKind.PROXY}
            assert granted == {grant.grant_id for grant in self.model.risky_grants()}
            # Every path truly open to 太郎 is among those reported.
            reported = {(path.kind.value, path.grant_id) for path in report.paths}
            missed = self.model.perpetrator_paths() - reported
            assert not missed, f"open paths the exposure check does not report: {missed}"
            # Through each, nothing of the region is shown: the mask holds back exactly what the
            # model says would give it away, and the report lists that apart.
            by_path, held_by_path = exposed(report), exposed(report, held_back=True)
            for path in report.paths:
                key = (path.kind.value, path.grant_id)
                expected = self.model.revealing(self.model.view(new_folder=path.new_folder))
                assert by_path[key] == set(), path
                assert held_by_path[key] == expected, path
            return report

        def _old_sessions(self) -> None:
            """太郎's sessions from the last check live exactly while their path does."""
            for path, (login, account_id) in self.kept.items():
                resolved = world.resolve(login)
                if path == CARD_PATH:
                    alive = self.model.card_path_open() and (
                        self.model.account is not None
                        and self.model.account.account_id == account_id
                    )
                else:
                    alive = path in self.model.perpetrator_paths()
                assert (resolved is not None) is alive, path
            self.kept.clear()

        def _log_in_by_every_path(self) -> list[tuple[str, tuple[str, int | None], FolderView]]:
            views = []
            index = self.model.victim_card()
            if index is not None and self.model.account is not None:
                login = world.login(self.model.cards[index].token)
                self._opened(login, index)
                views.append(("victim", OWN_PATH, world.view(login)))
            if self.model.left_behind:
                views += self._with_the_card_left_behind()
            views += self._as_proxy(PERPETRATOR)
            if BYSTANDER in self.model.grants:
                views += self._as_proxy(BYSTANDER)
            return views

        def _with_the_card_left_behind(
            self,
        ) -> list[tuple[str, tuple[str, int | None], FolderView]]:
            try:
                login = self._card_left_behind_login()
            except (CardRefused, LoginRefused):
                self._commit()
                assert not self.model.card_path_open(), "the card left behind was refused"
                return []
            assert self.model.card_path_open(), "the card left behind still logs in"
            self.kept[CARD_PATH] = (login, login.account.id)
            return [(PERPETRATOR, CARD_PATH, world.view(login))]

        def _as_proxy(self, proxy: str) -> list[tuple[str, tuple[str, int | None], FolderView]]:
            login = world.login(self._resident(proxy).card_token)
            grant = self.model.grants.get(proxy)
            folders = portal.proxied_folders(session, login.portal_session)
            assert [f.grant_id for f in folders] == ([] if grant is None else [grant.grant_id])
            target = self.last_account_id if grant is None else self.model.account.account_id
            if target is None:
                return []
            try:
                world.enter(login, target)
            except NoFolderAccess:
                self._commit()
                assert grant is None, f"{proxy} was refused a live grant"
                return []
            assert grant is not None, f"{proxy} entered a folder without a live grant"
            path = (PathKind.PROXY.value, grant.grant_id)
            if path in self.model.perpetrator_paths():
                self.kept[path] = (login, target)
            return [(proxy, path, world.view(login))]

        def _check_view(
            self,
            who: str,
            path: tuple[str, int | None],
            view: FolderView,
            report: ExposureReport | None,
        ) -> None:
            shown = Shown.of(view)
            card = self.model.victim_card() if path == OWN_PATH else None
            assert shown == self.model.view(masked=self.model.masked(path, card)), (who, path)
            self._nothing_undisclosed(view)
            # The model's idea of what gives the region away is the region rules' idea.
            for item in (*view.records, *view.self_info, *view.inbox):
                assert self.model.reveals(*key_of(item)) is names_the_region(item), item
            if report is None:
                return
            # The invariant, enforced: while she is protected, 太郎 sees nothing of the region
            # on any path open to him.
            items = (*view.records, *view.self_info, *view.inbox)
            if path in self.model.perpetrator_paths():
                assert not [key_of(i) for i in items if names_the_region(i)], (who, path)
            # And the check reports what the portal shows, item for item.
            by_path = exposed(report)
            assert path in by_path or path not in self.model.perpetrator_paths(), path
            if path in by_path:
                items = (*view.records, *view.self_info, *view.inbox)
                assert by_path[path] == {key_of(i) for i in items if names_the_region(i)}, path

        def _nothing_undisclosed(self, view: FolderView) -> None:
            """Nothing 不開示 is displayed, read straight from the stored flags (columns, not ORM
            objects: the session's objects do not see the flags' bulk updates)."""
            records = session.execute(
                select(
                    LinkageRecord.requester_undisclosed, LinkageRecord.provider_undisclosed
                ).where(LinkageRecord.id.in_([r.record_id for r in view.records]))
            ).all()
            assert len(records) == len(view.records)
            assert not any(requester or provider for requester, provider in records)
            items = session.scalars(
                select(SelfInfoItem.undisclosed).where(
                    SelfInfoItem.id.in_([i.item_id for i in view.self_info])
                )
            ).all()
            assert len(items) == len(view.self_info) and not any(items)
            flagged = {institutions[code].id for code in self.model.flagged}
            for item in (*view.records, *view.self_info):
                assert not {ref.id for ref in item.institutions} & flagged, item

    return VictimAndPerpetrator


def test_no_path_shows_the_region_and_the_exposure_check_agrees(
    session: Session, engine: Engine
) -> None:
    run_state_machine_as_test(
        victim_machine(session, engine),
        settings=settings(
            # 40, not 60: every step now also builds the masked views and what they hold back,
            # and the whole suite must stay inside CI's 40 minutes.
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
