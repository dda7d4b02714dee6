"""The demonstration world: a small world in which a newcomer can walk the whole protection
journey by clicking — the seed's ケース② waiting at the consultation desk of 大阪市.

It is built only through the services of each package, in the order the story happened: people
registered and given cards at home, folders opened, a proxy appointed, records made at the old
places; then 美咲's flight (already registered as protected at 大阪市, her card still usable),
then 花子's flight (moved to 大阪市, her first procedures there, nothing registered yet), then a
notice from 大阪市 that reached 花子 and was stopped for 美咲, and a draft notice to send.

Loading is refused when a demo account already exists (``DemoWorldExists``): the card tokens are
stored nowhere but in the returned world, so an existing world could not be handed back, and a
second one would duplicate every resident. Everything happens in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from fukaiji import intermediate, portal
from fukaiji.config import Settings
from fukaiji.db.base import utc_now
from fukaiji.demo import cast
from fukaiji.demo.cast import ResidentSpec, StoryRole
from fukaiji.demo.errors import DemoWorldExists, PendingSendJob, refuse_production
from fukaiji.demo.totp import demo_totp_secret
from fukaiji.intermediate.addressee_files import ADDRESSEE_COLUMN
from fukaiji.intermediate.service import tokyo_date
from fukaiji.jpki import service as jpki
from fukaiji.jpki.service import CA_KEY_PURPOSE
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.errors import UnknownInstitution
from fukaiji.network.institutions import (
    add_institution,
    get_department,
    get_institution,
    load_local_governments,
)
from fukaiji.network.models import Institution
from fukaiji.notices import jobs
from fukaiji.notices import service as notices
from fukaiji.notices.models import Notice
from fukaiji.portal import proxies
from fukaiji.portal.models import ProxyGrant
from fukaiji.protection import requests
from fukaiji.protection import service as protection
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.models import Protection
from fukaiji.protection.service import Requester, Viewer
from fukaiji.registry import moves
from fukaiji.registry import service as registry
from fukaiji.registry.models import Person
from fukaiji.registry.service import MY_NUMBER_KEY_PURPOSE
from fukaiji.staff import service as staff_service
from fukaiji.staff.errors import UnknownStaff
from fukaiji.staff.models import StaffAccount
from fukaiji.staff.roles import StaffRole
from fukaiji.staff.totp import TOTP_KEY_PURPOSE

DEMO_WORKER = "demo-loader"
_SETTLED_AFTER = timedelta(days=30)  # from the cards to the folders, the proxy and the records

# ---- what is handed back ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoStaff:
    institution_code: str
    institution_name: str
    department: str
    role: StaffRole
    username: str
    display_name: str
    password: str = field(repr=False)
    totp_secret: str = field(repr=False)

    @property
    def role_label(self) -> str:
        return self.role.label


@dataclass(frozen=True, slots=True)
class DemoResident:
    name: str
    person_id: uuid.UUID
    municipality_code: str  # where they live now
    municipality_name: str
    my_number: str
    role: StoryRole
    note: str
    card_token: str = field(repr=False)
    auth_pin: str = field(repr=False)
    sign_pin: str = field(repr=False)

    @property
    def role_label(self) -> str:
        return self.role.label


@dataclass(frozen=True, slots=True)
class DemoStory:
    """The seed's ケース②, with every fact the consultation desk needs to register it."""

    victim: DemoResident
    perpetrator: DemoResident
    fled_from: str  # 地方公共団体コード
    fled_from_name: str
    fled_to: str
    fled_to_name: str
    fled_on: date
    region_codes: tuple[str, ...]
    facts: CaseFacts  # what the desk learns from her, ready for register_protection
    victim_account_id: int
    proxy_grant_id: int
    registered: DemoResident  # the other victim, already protected at 大阪市
    registered_protection_id: uuid.UUID
    sent_notice_id: uuid.UUID
    draft_notice_id: uuid.UUID

    def lines(self) -> list[str]:
        """The story in words, for the people walking it."""
        victim, perpetrator, other = self.victim.name, self.perpetrator.name, self.registered.name
        yes_no = {True: "はい", False: "いいえ"}
        return [
            f"{victim}さんは {self.fled_on:%Y-%m-%d} に{self.fled_from_name}から"
            f"{self.fled_to_name}へ避難し、住民票も移しました。",
            f"古いマイナンバーカードと暗証番号は{perpetrator}の手元にあります"
            f"（上の表の{victim}さんの行のカードトークン）。",
            f"{perpetrator}は{victim}さんのマイナポータルの代理人です"
            f"（代理人設定 {self.proxy_grant_id}、利用者フォルダ {self.victim_account_id}）。",
            f"{self.fled_to_name}での最初の手続（生活保護）の記録・自己情報と{self.fled_to_name}"
            "からのお知らせは、まだ不開示になっていません。",
            f"相談窓口 (demo-osaka-desk) で保護を登録してください: 本人の個人番号 "
            f"{self.victim.my_number}、加害者の個人番号 {self.perpetrator.my_number}、"
            f"避難日 {self.fled_on:%Y-%m-%d}、保護地域 {', '.join(self.region_codes)}、"
            f"本人の手続 {yes_no[self.facts.own_procedures]}、"
            f"カードを置いてきた {yes_no[self.facts.card_left_behind]}、"
            f"加害者が代理人 {yes_no[self.facts.perpetrator_is_proxy]}、"
            f"加害者が法定代理人 {yes_no[self.facts.perpetrator_is_legal_representative]}。",
            f"{other}さんは{self.fled_to_name}で保護登録済みですが、置いてきたカードがまだ使えます"
            "（利用停止手続は未完了）。福祉課 (demo-osaka-notice) の下書きのお知らせを送信すると、"
            "送信ゲートが止めます。",
        ]


@dataclass(frozen=True, slots=True)
class DemoWorld:
    staff: tuple[DemoStaff, ...]
    residents: tuple[DemoResident, ...]
    story: DemoStory

    def staff_member(self, username: str) -> DemoStaff:
        return next(member for member in self.staff if member.username == username)

    def resident(self, name: str) -> DemoResident:
        return next(resident for resident in self.residents if resident.name == name)


# ---- loading ----------------------------------------------------------------------------------


def demo_world_loaded(session: Session) -> bool:
    """Whether any demo account exists: the sign that the world was loaded before."""
    return any(_staff_id(session, username) is not None for username in cast.DEMO_USERNAMES)


def load_demo_world(session: Session, *, settings: Settings, actor: str = "demo") -> DemoWorld:
    """Build the demonstration world in the caller's transaction and return its credentials.

    Refused in production (``DemoInProduction``) and when it is already loaded
    (``DemoWorldExists``); nothing is written then. ``actor`` is who the audit log names for the
    register, card and set-up steps; the demo staff and residents act as themselves."""
    refuse_production(settings)
    if demo_world_loaded(session):
        raise DemoWorldExists()
    load_local_governments(session, actor=actor)
    builder = _Builder(session, settings, actor)
    builder.add_other_bodies()
    staff = builder.add_staff()
    builder.register_residents()
    grant = builder.live_at_home()
    protected = builder.misaki_flees()
    fled_on = builder.hanako_flees()
    sent, draft = builder.send_notices()
    residents = builder.handed_over()
    story = builder.story(residents, fled_on, grant, protected, sent, draft)
    return DemoWorld(staff, residents, story)


def existing_demo_staff(session: Session, *, settings: Settings, actor: str) -> list[DemoStaff]:
    """The demo staff of a world loaded before, their TOTP secrets decrypted as the login does.
    (Card tokens cannot be recovered like this: only their hashes are stored.)"""
    found = []
    for spec in cast.STAFF:
        if _staff_id(session, spec.username) is None:
            continue
        secret = demo_totp_secret(session, username=spec.username, settings=settings, actor=actor)
        institution = get_institution(session, spec.institution_code)
        found.append(_demo_staff(spec, institution, secret))
    return found


def _staff_id(session: Session, username: str) -> int | None:
    try:
        return staff_service.find_staff_id(session, username)
    except UnknownStaff:
        return None


def _demo_staff(spec: cast.StaffSpec, institution: Institution, secret: str) -> DemoStaff:
    return DemoStaff(
        institution_code=institution.code,
        institution_name=institution.name,
        department=spec.department,
        role=spec.role,
        username=spec.username,
        display_name=spec.display_name,
        password=cast.DEMO_PASSWORD,
        totp_secret=secret,
    )


# ---- building ---------------------------------------------------------------------------------


class _Builder:
    """The story, step by step. Holds what later steps need: institutions, accounts, people,
    card tokens and addressee numbers."""

    def __init__(self, session: Session, settings: Settings, actor: str) -> None:
        self.session = session
        self.actor = actor
        self.my_number_key = settings.derive_key(MY_NUMBER_KEY_PURPOSE)
        self.ca_key = settings.derive_key(CA_KEY_PURPOSE)
        self.network_key = settings.derive_key(NETWORK_KEY_PURPOSE)
        self.totp_key = settings.derive_key(TOTP_KEY_PURPOSE)
        self.now = utc_now()
        self.today = tokyo_date(self.now)
        self.home_at = self.now - timedelta(days=cast.HOME_LIFE_DAYS_AGO)
        self.institutions: dict[str, Institution] = {}
        self.accounts: dict[str, StaffAccount] = {}
        self.persons: dict[str, Person] = {}
        self.card_tokens: dict[str, str] = {}
        self.addressees: dict[tuple[str, str], str] = {}

    # -- places and people --

    def institution(self, code: str) -> Institution:
        if code not in self.institutions:
            self.institutions[code] = get_institution(self.session, code)
        return self.institutions[code]

    def add_other_bodies(self) -> None:
        for body in cast.OTHER_BODIES:
            try:
                get_institution(self.session, body.code)
            except UnknownInstitution:  # a body someone added by hand is used as it is
                add_institution(
                    self.session,
                    code=body.code,
                    name=body.name,
                    kind=body.kind,
                    location_code=body.location_code,
                    departments=body.departments,
                    actor=self.actor,
                )

    def add_staff(self) -> tuple[DemoStaff, ...]:
        staff = []
        for spec in cast.STAFF:
            institution = self.institution(spec.institution_code)
            department = get_department(
                self.session, institution_code=institution.code, name=spec.department
            )
            account, secret = staff_service.create_staff(
                self.session,
                institution_id=institution.id,
                department_id=department.id,
                username=spec.username,
                display_name=spec.display_name,
                password=cast.DEMO_PASSWORD,
                roles=[spec.role],
                totp_key=self.totp_key,
                actor=self.actor,
            )
            self.accounts[spec.username] = account
            staff.append(_demo_staff(spec, institution, secret))
        return tuple(staff)

    def viewer(self, username: str) -> Viewer:
        account = self.accounts[username]
        institution = self.session.get_one(Institution, account.institution_id)
        return Viewer(
            institution.id,
            institution.code,
            account.department_id,
            staff_service.staff_subject(account.id),
        )

    def register_residents(self) -> None:
        """Everyone registered where they lived, and given a card, long before either flight."""
        for spec in cast.RESIDENTS:
            person = registry.register_resident(
                self.session,
                municipality_code=spec.municipality_code,
                family_name=spec.family_name,
                given_name=spec.given_name,
                family_name_kana=spec.family_kana,
                given_name_kana=spec.given_kana,
                birth_date=spec.birth_date,
                address_line=spec.address_line,
                moved_in_on=spec.moved_in_on,
                my_number_key=self.my_number_key,
                actor=self.actor,
                now=self.home_at,
            )
            issued = jpki.issue_card(
                self.session,
                person_id=person.id,
                auth_pin=spec.auth_pin,
                sign_pin=spec.sign_pin,
                ca_key=self.ca_key,
                actor=self.actor,
                now=self.home_at,
            )
            self.persons[spec.name] = person
            self.card_tokens[spec.name] = issued.card_token

    def addressee(self, spec: ResidentSpec, code: str, actor: str | None = None) -> str:
        """The person's 団体内統合宛名番号 at the institution, given at the first procedure."""
        key = (spec.name, code)
        if key not in self.addressees:
            enrolment = intermediate.enrol(
                self.session,
                institution=self.institution(code),
                person_id=self.persons[spec.name].id,
                network_key=self.network_key,
                actor=actor or self.actor,
            )
            self.addressees[key] = str(enrolment.addressee_number)
        return self.addressees[key]

    # -- life at home --

    def live_at_home(self) -> ProxyGrant:
        """Folders opened, 副本 held and records made at the old places; 花子 appoints 太郎."""
        at = self.home_at + _SETTLED_AFTER
        for spec in cast.RESIDENTS:
            if spec.opens_folder:
                portal.log_out(self.session, self.log_in(spec, at).token, now=at)
            for item in spec.items:
                self.register_item(spec, item.institution, item.item, item.content, at)
            for record in spec.records:
                self.query(spec, record, at)
        return self.appoint(cast.HANAKO, cast.TARO, at)

    def log_in(self, spec: ResidentSpec, at: datetime) -> portal.Login:
        """A card login as the portal sees it: the card signs the portal's challenge."""
        challenge = portal.issue_challenge(self.session, now=at)
        signed = jpki.card_signature(
            self.session,
            card_token=self.card_tokens[spec.name],
            pin=spec.auth_pin,
            challenge=challenge.nonce,
            now=at,
        )
        return portal.log_in(
            self.session,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
            now=at,
        )

    def appoint(self, principal: ResidentSpec, proxy: ResidentSpec, at: datetime) -> ProxyGrant:
        principal_login = self.log_in(principal, at)
        invitation = proxies.create_invitation(self.session, principal_login.portal_session, now=at)
        proxy_login = self.log_in(proxy, at)
        grant = proxies.accept_invitation(
            self.session, proxy_login.portal_session, code=invitation.code, now=at
        )
        for login in (principal_login, proxy_login):
            portal.log_out(self.session, login.token, now=at)
        return grant

    def register_item(
        self,
        spec: ResidentSpec,
        code: str,
        item_code: str,
        content: dict[str, object],
        at: datetime,
        actor: str | None = None,
    ) -> None:
        intermediate.register_self_info(
            self.session,
            institution=self.institution(code),
            addressee_number=self.addressee(spec, code, actor),
            item_code=item_code,
            content=content,
            publish_from=tokyo_date(at),
            actor=actor or self.actor,
            now=at,
        )

    def query(
        self, spec: ResidentSpec, record: cast.Record, at: datetime, actor: str | None = None
    ) -> None:
        self.addressee(spec, record.provider, actor)
        intermediate.query(
            self.session,
            requester=self.institution(record.requester),
            addressee_number=self.addressee(spec, record.requester, actor),
            provider_code=record.provider,
            affair_code=record.affair,
            item_code=record.item,
            actor=actor or self.actor,
            now=at,
        )

    # -- the flights --

    def flee(self, spec: ResidentSpec, days_ago: int, address_line: str) -> date:
        """The flight: on the day she leaves, the municipality she lived in records her 転出届
        to 大阪市; a few days later 大阪市 completes it with the 転入届 (which revokes the 署名用
        certificate, as any change of address does). Returns the day of flight."""
        fled_on = self.today - timedelta(days=days_ago)
        fled_at = self.now - timedelta(days=days_ago)
        moved_at = fled_at + timedelta(days=cast.DAYS_TO_MOVE_IN)
        person = self.persons[spec.name]
        moves.record_move_out(
            self.session,
            person_id=person.id,
            destination_code=cast.OSAKA,
            planned_on=fled_on,
            actor=self.actor,
            municipality_code=spec.municipality_code,
            now=fled_at,
        )
        moves.complete_move_in(
            self.session,
            municipality_code=cast.OSAKA,
            my_number=registry.current_my_number(self.session, person.id),
            address_line=address_line,
            moved_on=fled_on + timedelta(days=cast.DAYS_TO_MOVE_IN),
            actor=self.actor,
            now=moved_at,
        )
        jpki.on_address_change(self.session, person_id=person.id, actor=self.actor)
        return fled_on

    def shelter_procedures(
        self, spec: ResidentSpec, records: tuple[cast.Record, ...], address_line: str
    ) -> None:
        """The first procedures at 大阪市 (生活保護) by its business desk: queries to the old
        places and a 住民票 副本 that names the shelter's city."""
        actor = self.viewer("demo-osaka-tax").actor
        for record in records:
            self.query(spec, record, self.now, actor)
        residence = {"住所": f"大阪府大阪市{address_line}", "異動": "転入"}
        self.register_item(spec, cast.OSAKA, cast.RESIDENCE_ITEM, residence, self.now, actor)

    def misaki_flees(self) -> Protection:
        """美咲 asked for 不開示 at her first procedure and the desk registered her case; her card
        left behind still works, so her usage-stop procedures are not complete."""
        spec = cast.MISAKI
        fled_on = self.flee(spec, cast.MISAKI_FLED_DAYS_AGO, cast.MISAKI_SHELTER_ADDRESS)
        person_id = self.persons[spec.name].id
        osaka = self.institution(cast.OSAKA)
        requests.request_nondisclosure(
            self.session,
            institution=osaka,
            person_id=person_id,
            requester=Requester.checked("person", None, None),
            network_key=self.network_key,
            actor=self.viewer("demo-osaka-tax").actor,
        )
        desk = self.viewer("demo-osaka-desk")
        registered = protection.register_protection(
            self.session,
            institution=osaka,
            department_id=self.accounts["demo-osaka-desk"].department_id,
            person_id=person_id,
            facts=CaseFacts(
                own_procedures=True,
                card_left_behind=True,
                perpetrator_is_proxy=False,
                perpetrator_is_legal_representative=False,
            ),
            region_codes=list(cast.SHELTER_REGION),
            requester=Requester.checked("person", None, None),
            fled_on=fled_on,
            network_key=self.network_key,
            actor=desk.actor,
        )
        self.shelter_procedures(spec, cast.MISAKI_SHELTER_RECORDS, cast.MISAKI_SHELTER_ADDRESS)
        return registered

    def hanako_flees(self) -> date:
        """花子 moved and made her first procedures; nobody has asked for 不開示 yet."""
        spec = cast.HANAKO
        fled_on = self.flee(spec, cast.HANAKO_FLED_DAYS_AGO, cast.HANAKO_SHELTER_ADDRESS)
        self.shelter_procedures(spec, cast.HANAKO_SHELTER_RECORDS, cast.HANAKO_SHELTER_ADDRESS)
        return fled_on

    # -- notices --

    def send_notices(self) -> tuple[Notice, Notice]:
        """A notice sent without screening (the gate stops 美咲, 花子 receives it) and a draft
        with the same addressees, for the newcomer to screen and send."""
        sender = self.viewer("demo-osaka-notice")
        sent = self.notice(sender, cast.SENT_NOTICE)
        job = jobs.start_sending(self.session, notice=sent, sender=sender)
        claimed = jobs.claim(self.session, worker=DEMO_WORKER)
        if claimed is None or claimed.id != job.id:
            raise PendingSendJob()
        while jobs.run_batch(self.session, job_id=job.id, worker=DEMO_WORKER):
            pass
        return sent, self.notice(sender, cast.DRAFT_NOTICE)

    def notice(self, sender: Viewer, spec: cast.NoticeSpec) -> Notice:
        notice = notices.create_notice(
            self.session, sender=sender, title=spec.title, body=spec.body, category=spec.category
        )
        rows = [
            f"{self.addressee(person, cast.OSAKA)},{person.name}\n"
            for person in cast.NOTICE_ADDRESSEES
        ]
        data = f"{ADDRESSEE_COLUMN},氏名\n{''.join(rows)}".encode()
        notices.attach_destination(
            self.session, notice=notice, sender=sender, data=data, filename="宛先_デモ.csv"
        )
        return notice

    # -- what is handed back --

    def handed_over(self) -> tuple[DemoResident, ...]:
        return tuple(self.demo_resident(spec) for spec in cast.RESIDENTS)

    def demo_resident(self, spec: ResidentSpec) -> DemoResident:
        person = registry.get_person(self.session, self.persons[spec.name].id)
        municipality = self.institution(person.current_residence.municipality_code)
        return DemoResident(
            name=spec.name,
            person_id=person.id,
            municipality_code=municipality.code,
            municipality_name=municipality.name,
            my_number=str(registry.current_my_number(self.session, person.id)),
            role=spec.role,
            note=spec.note,
            card_token=self.card_tokens[spec.name],
            auth_pin=spec.auth_pin,
            sign_pin=spec.sign_pin,
        )

    def story(
        self,
        residents: tuple[DemoResident, ...],
        fled_on: date,
        grant: ProxyGrant,
        protected: Protection,
        sent: Notice,
        draft: Notice,
    ) -> DemoStory:
        named = {resident.name: resident for resident in residents}
        victim, perpetrator = named[cast.HANAKO.name], named[cast.TARO.name]
        return DemoStory(
            victim=victim,
            perpetrator=perpetrator,
            fled_from=cast.CHIYODA,
            fled_from_name=self.institution(cast.CHIYODA).name,
            fled_to=cast.OSAKA,
            fled_to_name=self.institution(cast.OSAKA).name,
            fled_on=fled_on,
            region_codes=cast.SHELTER_REGION,
            facts=CaseFacts(
                own_procedures=True,
                card_left_behind=True,
                perpetrator_is_proxy=True,
                perpetrator_is_legal_representative=False,
                perpetrator_id=perpetrator.person_id,
            ),
            victim_account_id=grant.account_id,
            proxy_grant_id=grant.id,
            registered=named[cast.MISAKI.name],
            registered_protection_id=protected.id,
            sent_notice_id=sent.id,
            draft_notice_id=draft.id,
        )
