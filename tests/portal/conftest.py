"""A small world for the portal tests: residents with real 個人番号 and cards, the card reader, and
short-hands for logging in, entering folders, and making the records and 副本 a victim's
procedures leave behind.

Cards are issued at the real time (the portal checks validity at the real time on every request).
Shared values live on the world object, not as constants to import: the suite runs with
``--import-mode=importlib``; other test directories import ``build_portal_world`` from here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji import intermediate, portal
from fukaiji.intermediate import NondisclosureRequester
from fukaiji.jpki import service as jpki
from fukaiji.jpki.service import CardSignature
from fukaiji.network.institutions import get_institution
from fukaiji.network.linkage import QueryResult
from fukaiji.network.models import Institution
from fukaiji.portal import proxies
from fukaiji.portal.folder import FolderView
from fukaiji.portal.models import AccessLogEntry, PortalSession, ProxyGrant
from fukaiji.registry import service as registry
from fukaiji.registry.models import Person

NETWORK_KEY = bytes(range(100, 132))
CA_KEY = bytes(range(32))
MY_NUMBER_KEY = b"m" * 32
AUTH_PIN = "7395"
SIGN_PIN = "HIBARI48TSUBAME"
CHILD_ALLOWANCE = "JM01000000000010"  # 児童手当 (市町村長 → 市町村長)
LOCAL_TAX = "TM02000000000001"  # 地方税関係情報


@dataclass
class Resident:
    person: Person
    card_token: str = field(repr=False)

    @property
    def id(self) -> uuid.UUID:
        return self.person.id


@dataclass
class PortalWorld:
    session: Session
    chiyoda: Institution  # 131016 千代田区: where the victim and the perpetrator lived
    yokohama: Institution  # 141003 横浜市
    osaka: Institution  # 271004 大阪市: the shelter's municipality (the protected region)
    network_key: bytes = NETWORK_KEY
    ca_key: bytes = CA_KEY
    auth_pin: str = AUTH_PIN

    # ---- residents and cards ----------------------------------------------------------------

    def resident(self, given_name: str = "花子", family_name: str = "山田") -> Resident:
        person = registry.register_resident(
            self.session,
            municipality_code="131016",
            family_name=family_name,
            given_name=given_name,
            family_name_kana="ヤマダ",
            given_name_kana="ハナコ",
            birth_date=date(1990, 4, 1),
            address_line="千代田一丁目1番1号",
            moved_in_on=date(2020, 4, 1),
            my_number_key=MY_NUMBER_KEY,
            actor="test:desk",
        )
        issued = jpki.issue_card(
            self.session,
            person_id=person.id,
            auth_pin=AUTH_PIN,
            sign_pin=SIGN_PIN,
            ca_key=CA_KEY,
            actor="test:window",
        )
        self.session.commit()
        return Resident(person, issued.card_token)

    def my_number(self, resident: Resident) -> str:
        return str(registry.current_my_number(self.session, resident.id))

    def card_id(self, resident: Resident) -> int:
        card = jpki.find_card_for_person(self.session, resident.id)
        assert card is not None
        return card.id

    def suspend(self, resident: Resident) -> None:
        jpki.suspend_card(
            self.session, card_id=self.card_id(resident), channel="phone", actor="test:0120"
        )
        self.session.commit()

    def reissue(self, resident: Resident) -> str:
        """A new card for the resident; the old token becomes worthless. Returns the old one."""
        old = resident.card_token
        issued = jpki.reissue_card(
            self.session,
            person_id=resident.id,
            auth_pin=AUTH_PIN,
            sign_pin=SIGN_PIN,
            ca_key=CA_KEY,
            actor="test:window",
        )
        self.session.commit()
        resident.card_token = issued.card_token
        return old

    # ---- the card reader and logins -----------------------------------------------------------

    def sign(self, card_token: str, nonce: bytes, pin: str = AUTH_PIN) -> CardSignature:
        return jpki.card_signature(self.session, card_token=card_token, pin=pin, challenge=nonce)

    def login(self, card_token: str, *, now: datetime | None = None) -> portal.Login:
        """A login with whatever card is in hand (the victim's, left behind, or one's own)."""
        challenge = portal.issue_challenge(self.session, now=now)
        signed = self.sign(card_token, challenge.nonce)
        login = portal.log_in(
            self.session,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
            now=now,
        )
        self.session.commit()
        return login

    def resolve(self, login: portal.Login, *, now: datetime | None = None) -> PortalSession | None:
        resolved = portal.resolve_session(self.session, login.token, now=now)
        self.session.commit()
        return resolved

    def view(self, login: portal.Login) -> FolderView:
        resolved = self.resolve(login)
        assert resolved is not None, "the session is dead"
        view = portal.view_folder(self.session, resolved, network_key=self.network_key)
        self.session.commit()
        return view

    def appoint(self, principal: Resident, proxy: Resident) -> ProxyGrant:
        """The principal logs in and invites; the proxy logs in with their own card and accepts."""
        principal_login = self.login(principal.card_token)
        issued = proxies.create_invitation(self.session, principal_login.portal_session)
        proxy_login = self.login(proxy.card_token)
        grant = proxies.accept_invitation(
            self.session, proxy_login.portal_session, code=issued.code
        )
        self.session.commit()
        return grant

    def enter(self, login: portal.Login, account_id: int | None) -> PortalSession:
        resolved = self.resolve(login)
        assert resolved is not None, "the session is dead"
        switched = portal.switch_folder(self.session, resolved, account_id=account_id)
        self.session.commit()
        return switched

    def history(self, account_id: int) -> list[AccessLogEntry]:
        return list(
            self.session.scalars(
                select(AccessLogEntry)
                .where(AccessLogEntry.account_id == account_id)
                .order_by(AccessLogEntry.id)
            )
        )

    # ---- what the victim's procedures leave behind -------------------------------------------

    def enrol(self, resident: Resident, institution: Institution) -> str:
        enrolment = intermediate.enrol(
            self.session,
            institution=institution,
            person_id=resident.id,
            network_key=self.network_key,
            actor="test:desk",
        )
        return str(enrolment.addressee_number)

    def register(self, institution: Institution, number: str, **content: object) -> int:
        item = intermediate.register_self_info(
            self.session,
            institution=institution,
            addressee_number=number,
            item_code=LOCAL_TAX,
            content=content or {"所得割額": 123_400, "年度": 2026},
            publish_from=date(2026, 4, 1),
            actor="test:provider",
        )
        return item.id

    def query(self, requester: Institution, number: str, provider: Institution) -> QueryResult:
        return intermediate.query(
            self.session,
            requester=requester,
            addressee_number=number,
            provider_code=provider.code,
            affair_code=CHILD_ALLOWANCE,
            item_code=LOCAL_TAX,
            actor="test:requester",
        )

    def flag(self, institution: Institution, number: str) -> None:
        intermediate.set_nondisclosure_flag(
            self.session,
            institution=institution,
            addressee_number=number,
            requested_by=NondisclosureRequester.PERSON,
            actor="test:consultation",
        )

    def fled_to_osaka(self, victim: Resident, *, flagged: bool = True) -> dict[str, int]:
        """The victim's life in the records: an old query between Yokohama and Chiyoda (reveals
        nothing), then procedures at the shelter in Osaka (a query Osaka → Chiyoda, a 副本 item
        at Osaka), and — if ``flagged`` — the 不開示 request at Osaka's first desk."""
        at_chiyoda = self.enrol(victim, self.chiyoda)
        at_yokohama = self.enrol(victim, self.yokohama)
        at_osaka = self.enrol(victim, self.osaka)
        chiyoda_item = self.register(self.chiyoda, at_chiyoda)
        harmless = self.query(self.yokohama, at_yokohama, self.chiyoda)
        revealing = self.query(self.osaka, at_osaka, self.chiyoda)
        osaka_item = self.register(self.osaka, at_osaka, 住所="大阪市北区")
        if flagged:
            self.flag(self.osaka, at_osaka)
        self.session.commit()
        return {
            "harmless_record": harmless.record_id,
            "revealing_record": revealing.record_id,
            "chiyoda_item": chiyoda_item,
            "osaka_item": osaka_item,
        }


def build_portal_world(session: Session) -> PortalWorld:
    return PortalWorld(
        session=session,
        chiyoda=get_institution(session, "131016"),
        yokohama=get_institution(session, "141003"),
        osaka=get_institution(session, "271004"),
    )


@pytest.fixture
def world(session: Session) -> PortalWorld:
    return build_portal_world(session)
