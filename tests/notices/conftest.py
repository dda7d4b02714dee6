"""A notice department (福祉課) of 大阪市 beside the consultation desk of tests/protection:
residents with and without portal folders, a protected victim, a destination file of them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from tests.portal.conftest import Resident
from tests.protection.conftest import Desk, _viewer
from tests.protection.conftest import desk as desk

from fukaiji.notices import jobs, service
from fukaiji.notices.models import Notice
from fukaiji.portal.models import InboxMessage, PortalAccount
from fukaiji.protection.service import Viewer


@dataclass
class Office:
    desk: Desk
    sender: Viewer

    @property
    def session(self):
        return self.desk.world.session

    def resident(self, name: str, *, with_folder: bool = True) -> tuple[Resident, str]:
        world = self.desk.world
        resident = world.resident(name)
        if with_folder:
            world.login(resident.card_token)
        return resident, world.enrol(resident, world.osaka)

    def notice(self, *numbers: str, category: str = "benefit", screen: bool = False) -> Notice:
        notice = service.create_notice(
            self.session,
            sender=self.sender,
            title="給付金のお知らせ",
            body="申請を受け付けています。",
            category=category,
        )
        data = ("団体内統合宛名番号,氏名\n" + "".join(f"{n},大阪 太郎\n" for n in numbers)).encode()
        service.attach_destination(
            self.session, notice=notice, sender=self.sender, data=data, filename="宛先.csv"
        )
        if screen:
            service.screen(self.session, notice=notice, sender=self.sender)
        self.session.commit()
        return notice

    def send(self, notice: Notice, engine) -> jobs.DeliveryReport:
        jobs.start_sending(self.session, notice=notice, sender=self.sender)
        self.session.commit()
        jobs.work(engine, once=True, batch_size=2)
        report = jobs.delivery_report(self.session, notice=notice)
        self.session.commit()
        return report

    def inbox_titles(self, resident: Resident) -> list[str]:
        titles = self.session.scalars(
            select(InboxMessage.title)
            .join(PortalAccount, PortalAccount.id == InboxMessage.account_id)
            .where(PortalAccount.person_id == resident.id, PortalAccount.deleted_at.is_(None))
        ).all()
        self.session.commit()
        return list(titles)


@pytest.fixture
def office(desk) -> Office:
    return Office(desk, _viewer(desk.world, "271004", "福祉課", "staff:osaka-welfare"))
