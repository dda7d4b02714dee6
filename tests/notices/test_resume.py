"""A send killed in the middle — the worker process gets SIGKILL — and resumed by another worker
delivers each notice exactly once, and the audit chain still verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date

from sqlalchemy import func, select

from fukaiji import audit
from fukaiji.intermediate import enrol
from fukaiji.notices import jobs, service
from fukaiji.notices.models import Delivery, SendJob
from fukaiji.portal._common import open_account
from fukaiji.portal.models import InboxMessage
from fukaiji.registry import service as registry

ADDRESSEES = 400


def _residents(office) -> list[str]:
    """Residents with folders, made directly (no cards needed to receive a notice)."""
    world = office.desk.world
    numbers = []
    for index in range(ADDRESSEES):
        person = registry.register_resident(
            world.session, municipality_code="271004", family_name="大阪",
            given_name=f"{index}", family_name_kana="オオサカ", given_name_kana="タロウ",
            birth_date=date(1980, 1, 1), address_line="北区1-1", moved_in_on=date(2020, 1, 1),
            my_number_key=b"m" * 32, actor="test",
        )  # fmt: skip
        open_account(world.session, person_id=person.id, actor="test")
        numbers.append(
            str(
                enrol(
                    world.session, institution=world.osaka, person_id=person.id,
                    network_key=world.network_key, actor="test",
                ).addressee_number
            )
        )  # fmt: skip
    world.session.commit()
    return numbers


def _worker(database_url: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "FUKAIJI_DATABASE_URL": database_url, "FUKAIJI_SECRET_KEY": "k" * 40}
    return subprocess.Popen(
        [sys.executable, "-m", "fukaiji", "notices", "work", "--batch-size", "5", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _delivered(session) -> int:
    count = session.scalar(select(func.count()).select_from(Delivery))
    session.commit()
    return count


def test_a_killed_send_resumes_and_delivers_each_notice_exactly_once(office, database_url) -> None:
    session = office.session
    numbers = _residents(office)
    notice = office.notice(*numbers)
    jobs.start_sending(session, notice=notice, sender=office.sender)
    session.commit()

    first = _worker(database_url, "--lease-seconds", "1", "--pause", "0.02")
    deadline = time.monotonic() + 60
    while _delivered(session) < 40 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.01)
    crashed = first.poll()
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert crashed is None, first.stderr.read().decode()[-3000:]
    killed_at = _delivered(session)
    assert 40 <= killed_at < ADDRESSEES, "the kill must land in the middle of the send"

    time.sleep(1.2)  # the dead worker's lease lapses
    second = _worker(database_url, "--once")
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr.decode()

    per_folder = session.execute(
        select(InboxMessage.account_id, func.count())
        .where(InboxMessage.source == service.notice_subject(notice.id))
        .group_by(InboxMessage.account_id)
    ).all()
    assert len(per_folder) == ADDRESSEES and {count for _, count in per_folder} == {1}
    job = session.scalars(select(SendJob)).one()
    assert (job.state, job.sent, _delivered(session)) == ("done", ADDRESSEES, ADDRESSEES)
    assert audit.verify(session).first_break is None
