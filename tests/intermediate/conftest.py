"""A small world for the linkage tests: municipalities from the official list, a pension body and
a ministry, residents with real 個人番号, and short-hands for enrolling, registering, querying.

Shared values are fixtures rather than importable constants because the suite runs with
``--import-mode=importlib``, where test modules cannot import a conftest.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.identifiers import MyNumber
from fukaiji.intermediate import FlagReport, NondisclosureRequester, SelfInfoItem
from fukaiji.network.institutions import add_institution, get_institution
from fukaiji.network.linkage import QueryResult
from fukaiji.network.models import Institution, InstitutionKind
from fukaiji.registry import service as registry
from fukaiji.registry.models import Person

NETWORK_KEY = bytes(range(100, 132))
MY_NUMBER_KEY = b"m" * 32
START = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo

CHILD_ALLOWANCE = "JM01000000000010"  # 児童手当 (市町村長 → 市町村長)
NATIONAL_HEALTH = "JM01000000000020"  # 国民健康保険 (市町村長 → 市町村長, 日本年金機構)
PENSION_AFFAIR = "JM01000000000060"  # 国民年金 (日本年金機構 → 市町村長)
LOCAL_TAX = "TM02000000000001"  # 地方税関係情報
RESIDENT_RECORD = "TM01000000000001"  # 住民票関係情報
PENSION_BENEFIT = "TM04000000000001"  # 年金給付関係情報


@dataclass
class World:
    session: Session
    chiyoda: Institution  # 131016 千代田区 (東京都)
    yokohama: Institution  # 141003 横浜市 (神奈川県)
    osaka: Institution  # 271004 大阪市 (大阪府)
    tokyo: Institution  # 130001 東京都
    nenkin: Institution  # JPNENKIN 日本年金機構 (incorporated agency in 東京都)
    network_key: bytes = NETWORK_KEY
    clock: itertools.count = field(default_factory=itertools.count)

    def now(self) -> datetime:
        """A later instant at every call, so records are ordered as they were made."""
        return START + timedelta(seconds=next(self.clock))

    def person(self, given_name: str = "花子", municipality_code: str = "131016") -> Person:
        return registry.register_resident(
            self.session,
            municipality_code=municipality_code,
            family_name="山田",
            given_name=given_name,
            family_name_kana="ヤマダ",
            given_name_kana="ハナコ",
            birth_date=date(1990, 4, 1),
            address_line="千代田一丁目1番1号",
            moved_in_on=date(2020, 4, 1),
            my_number_key=MY_NUMBER_KEY,
            actor="test",
        )

    def my_number(self, person: Person) -> MyNumber:
        return registry.current_my_number(self.session, person.id)

    def enrol(self, person: Person | uuid.UUID, institution: Institution) -> str:
        person_id = person if isinstance(person, uuid.UUID) else person.id
        enrolment = intermediate.enrol(
            self.session,
            institution=institution,
            person_id=person_id,
            network_key=self.network_key,
            actor="test:desk",
            now=self.now(),
        )
        return str(enrolment.addressee_number)

    def register(
        self,
        institution: Institution,
        addressee_number: str,
        item_code: str = LOCAL_TAX,
        content: dict[str, Any] | None = None,
        **options: Any,
    ) -> SelfInfoItem:
        return intermediate.register_self_info(
            self.session,
            institution=institution,
            addressee_number=addressee_number,
            item_code=item_code,
            content=content if content is not None else {"所得割額": 123_400, "年度": 2026},
            publish_from=options.pop("publish_from", date(2026, 4, 1)),
            actor="test:provider",
            now=self.now(),
            **options,
        )

    def query(
        self,
        requester: Institution,
        addressee_number: str,
        provider: Institution | None,
        affair_code: str = CHILD_ALLOWANCE,
        item_code: str = LOCAL_TAX,
        **options: Any,
    ) -> QueryResult:
        """``provider`` None: routed by the network to the municipality of residence."""
        return intermediate.query(
            self.session,
            requester=requester,
            addressee_number=addressee_number,
            provider_code=None if provider is None else provider.code,
            affair_code=affair_code,
            item_code=item_code,
            actor="test:requester",
            now=self.now(),
            **options,
        )

    def flag(self, institution: Institution, addressee_number: str) -> FlagReport:
        return intermediate.set_nondisclosure_flag(
            self.session,
            institution=institution,
            addressee_number=addressee_number,
            requested_by=NondisclosureRequester.PERSON,
            actor="test:consultation",
            now=self.now(),
        )

    def records(self, person: Person) -> list[intermediate.DisclosableRecord]:
        return intermediate.disclosable_records(
            self.session, person.id, network_key=self.network_key
        )

    def self_info(self, person: Person) -> list[intermediate.DisclosableSelfInfo]:
        return intermediate.disclosable_self_info(
            self.session, person.id, network_key=self.network_key, on=date(2026, 11, 28)
        )


def build_world(session: Session) -> World:
    nenkin = add_institution(
        session,
        code="JPNENKIN",
        name="日本年金機構",
        kind=InstitutionKind.INCORPORATED_AGENCY,
        location_code="131130",
        departments=["年金給付部"],
        actor="test",
    )
    return World(
        session=session,
        chiyoda=get_institution(session, "131016"),
        yokohama=get_institution(session, "141003"),
        osaka=get_institution(session, "271004"),
        tokyo=get_institution(session, "130001"),
        nenkin=nenkin,
    )


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


@pytest.fixture
def make_world():
    """``build_world`` for tests that need a fresh world per Hypothesis example."""
    return build_world
