"""A notice to 10⁴ addressees with 10³ protected persons among them: the batched gate delivers to
exactly the right ones, on SQLite and on PostgreSQL.

Of the protected, a fifth have completed their usage-stop procedures: the exclusion has lifted by
itself and the notice must reach them; the others have a path still open and must not receive it.
A tenth of everyone has no folder and is recorded as not delivered.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fukaiji.db import transaction
from fukaiji.demo.population import populate
from fukaiji.network.institutions import get_department
from fukaiji.notices import jobs, service
from fukaiji.notices.models import Delivery
from fukaiji.portal.models import InboxMessage, PortalAccount
from fukaiji.protection.exclusion import excluded_addressees
from fukaiji.protection.service import Viewer

ADDRESSEES = 10_000
PROTECTED = 1_000
LIFTED = 200


def test_a_notice_to_ten_thousand_reaches_exactly_those_it_may(engine: Engine) -> None:
    people = populate(
        engine,
        institution_code="271004",
        addressees=ADDRESSEES,
        protected=PROTECTED,
        lifted=LIFTED,
    )
    assert (len(people.excluded), len(people.lifted)) == (PROTECTED - LIFTED, LIFTED)
    with transaction(engine) as session:
        welfare = get_department(session, institution_code="271004", name="福祉課")
        sender = Viewer(welfare.institution_id, "271004", welfare.id, "staff:osaka-welfare")
        assert excluded_addressees(session, institution=welfare.institution) == people.excluded
        notice = service.create_notice(
            session,
            sender=sender,
            title="給付金のお知らせ",
            body="申請を受け付けています。",
            category="benefit",
        )
        rows = "".join(f"{number},大阪 太郎\n" for number in people.numbers)
        service.attach_destination(
            session,
            notice=notice,
            sender=sender,
            data=f"団体内統合宛名番号,氏名\n{rows}".encode(),
            filename="宛先.csv",
        )
        jobs.start_sending(session, notice=notice, sender=sender)
        notice_id = notice.id

    assert jobs.work(engine, once=True, batch_size=500) == 1

    with Session(engine) as session:
        outcomes = dict(
            session.execute(
                select(Delivery.addressee_number, Delivery.outcome).where(
                    Delivery.notice_id == notice_id
                )
            ).all()
        )
        assert len(outcomes) == ADDRESSEES
        blocked = {number for number, outcome in outcomes.items() if outcome == "blocked"}
        no_account = {number for number, outcome in outcomes.items() if outcome == "no_account"}
        sent = {number for number, outcome in outcomes.items() if outcome == "sent"}
        assert blocked == people.excluded
        assert no_account == people.without_folder - people.excluded
        assert sent == set(people.numbers) - people.excluded - people.without_folder
        assert people.lifted <= sent
        # What reached the inboxes is what the delivery rows say, one message each.
        delivered = session.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .join(PortalAccount, PortalAccount.id == InboxMessage.account_id)
        )
        assert delivered == len(sent)
