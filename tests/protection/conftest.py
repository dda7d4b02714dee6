"""A consultation desk (DV相談窓口) in Osaka, the shelter's city, on top of the portal world:
register a protected person, read their status and check what the perpetrator can see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from tests.portal.conftest import PortalWorld, Resident, build_portal_world

from fukaiji import intermediate
from fukaiji.network.institutions import get_department
from fukaiji.protection import exposure, service, status
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.models import Protection
from fukaiji.protection.service import Requester, Viewer

OSAKA_REGION = ["271004"]  # 大阪市: its prefecture, 大阪府, is covered with it


@dataclass
class Desk:
    world: PortalWorld
    desk: Viewer  # DV相談窓口 of 大阪市: the registering desk
    tax: Viewer  # 税務課 of 大阪市: another department of the same institution
    outsider: Viewer  # DV相談窓口 of 千代田区: another institution

    def register(
        self,
        victim: Resident,
        *,
        own_procedures: bool = True,
        card_left_behind: bool = False,
        proxy: bool = False,
        legal: bool = False,
        perpetrator: Resident | None = None,
        requester: Requester | None = None,
        fled_on: date | None = None,
        region: list[str] | None = None,
    ) -> Protection:
        # She lives at the shelter without moving her 住民票 (住登外者): 大阪市 deals with her, so
        # it has given her an addressee number; a desk may register only its own people.
        intermediate.enrol(
            self.world.session,
            institution=self.world.osaka,
            person_id=victim.id,
            network_key=self.world.network_key,
            actor=self.desk.actor,
        )
        protection = service.register_protection(
            self.world.session,
            institution=self.world.osaka,
            department_id=self.desk.department_id,
            person_id=victim.id,
            facts=CaseFacts(
                own_procedures=own_procedures,
                card_left_behind=card_left_behind,
                perpetrator_is_proxy=proxy,
                perpetrator_is_legal_representative=legal,
                perpetrator_id=None if perpetrator is None else perpetrator.id,
            ),
            region_codes=region or OSAKA_REGION,
            requester=requester or Requester.checked("person", None, None),
            fled_on=fled_on,
            network_key=self.world.network_key,
            actor=self.desk.actor,
        )
        self.world.session.commit()
        return protection

    def status(self, protection: Protection) -> status.ProtectionStatus:
        result = status.current_status(self.world.session, protection)
        self.world.session.commit()
        return result

    def exposure(self, protection: Protection) -> exposure.ExposureReport:
        report = exposure.check_exposure(
            self.world.session, protection, network_key=self.world.network_key, actor="test"
        )
        self.world.session.commit()
        return report


def _viewer(world: PortalWorld, code: str, department: str, actor: str) -> Viewer:
    found = get_department(world.session, institution_code=code, name=department)
    return Viewer(found.institution_id, code, found.id, actor)


@pytest.fixture
def desk(session) -> Desk:
    world = build_portal_world(session)
    return Desk(
        world,
        desk=_viewer(world, "271004", "DV相談窓口", "staff:osaka-desk"),
        tax=_viewer(world, "271004", "税務課", "staff:osaka-tax"),
        outsider=_viewer(world, "131016", "DV相談窓口", "staff:chiyoda-desk"),
    )


def unused_id() -> uuid.UUID:
    return uuid.uuid4()
