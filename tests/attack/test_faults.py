"""Faults: the server is killed with SIGKILL at random moments while staff write through the API
and its send worker delivers a notice. After every restart the audit chain verifies, nobody has
received the notice twice, a protected person has not received it at all, and the job finishes."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date

import httpx
from sqlalchemy import func, select
from tests.notices.conftest import office as office
from tests.protection.conftest import desk as desk

from fukaiji import audit
from fukaiji.intermediate import enrol
from fukaiji.notices import jobs
from fukaiji.notices.models import SendJob
from fukaiji.portal._common import open_account
from fukaiji.portal.models import InboxMessage, PortalAccount
from fukaiji.registry import service as registry
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole

SECRET = "f" * 40
ADDRESSEES = 300
KILLS = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(database_url: str, port: int) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FUKAIJI_")},
        "FUKAIJI_DATABASE_URL": database_url,
        "FUKAIJI_SECRET_KEY": SECRET,
        "FUKAIJI_PROTECTION_SWEEP_SECONDS": "0.5",
        # Many small, paced transactions, so that a kill lands mid-send on a fast machine too.
        "FUKAIJI_SEND_BATCH_SIZE": "3",
        "FUKAIJI_SEND_PAUSE_SECONDS": "0.03",
        "FUKAIJI_SEND_LEASE_SECONDS": "2",  # the restarted server takes the job over soon
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fukaiji", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not start")


def _keep_writing(port: int, key: str, stop: threading.Event) -> None:
    """A desk registering residents as fast as it can, oblivious of the crashes."""
    headers = {"Authorization": f"Bearer {key}"}
    index = 0
    while not stop.is_set():
        index += 1
        body = {
            "family_name": "大阪", "given_name": f"次郎{index}", "family_name_kana": "オオサカ",
            "given_name_kana": "ジロウ", "birth_date": "1985-05-05", "address_line": "北区2-2",
            "moved_in_on": "2024-04-01",
        }  # fmt: skip
        try:
            httpx.post(
                f"http://127.0.0.1:{port}/api/v1/institutions/271004/residents",
                json=body, headers=headers, timeout=5,
            )  # fmt: skip
        except httpx.TransportError:
            time.sleep(0.05)


def _addressees(office) -> list[str]:
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
        number = enrol(
            world.session, institution=world.osaka, person_id=person.id,
            network_key=world.network_key, actor="test",
        )  # fmt: skip
        numbers.append(str(number.addressee_number))
    world.session.commit()
    return numbers


def test_killing_the_server_never_double_sends_never_reaches_the_protected_and_keeps_the_chain(
    office,
    database_url: str,
) -> None:
    session = office.session
    world = office.desk.world
    victim, victim_number = office.resident("花子")
    world.appoint(victim, world.resident("太郎"))
    office.desk.register(victim, proxy=True)  # an open proxy path: she must get nothing
    notice = office.notice(*_addressees(office), victim_number)  # unscreened
    jobs.start_sending(session, notice=notice, sender=office.sender)
    _, key = staff_service.create_api_key(
        session, institution_id=world.osaka.id, name="desk", roles=[StaffRole.BUSINESS_DESK],
        actor="test",
    )  # fmt: skip
    session.commit()

    chance = random.Random(20261126)
    port = _free_port()
    after_kills = []
    for _ in range(KILLS):
        server = _serve(database_url, port)
        stop = threading.Event()
        writer = threading.Thread(target=_keep_writing, args=(port, key, stop))
        writer.start()
        _await_progress(session, notice.id, beyond=after_kills[-1] if after_kills else 0)
        time.sleep(chance.uniform(0.05, 0.6))
        server.send_signal(signal.SIGKILL)
        server.wait()
        stop.set()
        writer.join()
        after_kills.append(_check(session, victim, notice.id))
    print("delivered after each kill:", after_kills)
    assert any(0 < count < ADDRESSEES for count in after_kills), after_kills  # killed mid-send

    server = _serve(database_url, port)  # the last start runs the job to its end
    try:
        deadline = time.monotonic() + 120
        while _job_state(session) != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert _job_state(session) == "done"
    delivered = _check(session, victim, notice.id)
    assert delivered == ADDRESSEES


def _await_progress(session, notice_id, *, beyond: int) -> None:
    """Wait until this start of the server has delivered something, so the kill lands mid-send
    rather than before the worker began (a timer alone missed on a fast machine)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        delivered = session.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.source == f"notice:{notice_id}")
        )
        session.commit()
        if delivered > beyond:
            return
        time.sleep(0.01)


def _job_state(session) -> str:
    state = session.scalar(select(SendJob.state))
    session.commit()
    return state


def _check(session, victim, notice_id) -> int:
    """The invariants after a crash; returns how many folders hold the notice."""
    assert audit.verify(session).first_break is None
    per_folder = session.execute(
        select(PortalAccount.person_id, func.count())
        .join(InboxMessage, InboxMessage.account_id == PortalAccount.id)
        .where(InboxMessage.source == f"notice:{notice_id}")
        .group_by(PortalAccount.person_id)
    ).all()
    session.commit()
    assert all(count == 1 for _, count in per_folder), "a notice was delivered twice"
    assert victim.id not in {person for person, _ in per_folder}, "the protected person got it"
    return len(per_folder)
