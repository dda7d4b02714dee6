"""Appends from several processes at once still form unbroken chains, and appenders of
different institutions never wait on each other."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.audit import pending
from fukaiji.audit.chain import SYSTEM_CHAIN
from fukaiji.audit.models import AuditEntry
from fukaiji.db import transaction

ENTRIES_PER_PROCESS = 500

_APPENDER = """
import sys, time
from pathlib import Path
from fukaiji import audit
from fukaiji.db import create_db_engine, transaction

url, actor, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
engine = create_db_engine(url)
while not go.exists():
    time.sleep(0.01)
for index in range(count):
    with transaction(engine) as session:
        audit.record(session, actor=actor, action="test.concurrent", details={"index": index})
engine.dispose()
"""


def test_two_processes_appending_at_once_leave_one_intact_chain(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with transaction(engine) as session:
        base = audit.verify(session).entries
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _APPENDER,
                database_url,
                actor,
                str(ENTRIES_PER_PROCESS),
                str(go),
            ]
        )
        for actor in ("process:a", "process:b")
    ]
    time.sleep(0.5)
    go.touch()
    assert [process.wait(timeout=300) for process in processes] == [0, 0]

    with transaction(engine) as session:
        result = audit.verify(session)
        actors = session.scalars(
            select(AuditEntry.actor)
            .where(AuditEntry.chain == SYSTEM_CHAIN)
            .order_by(AuditEntry.position)
        ).all()
    assert result.intact
    assert result.entries == base + 2 * ENTRIES_PER_PROCESS
    assert actors.count("process:a") == actors.count("process:b") == ENTRIES_PER_PROCESS
    switches = sum(1 for first, second in itertools.pairwise(actors) if first != second)
    assert switches > 1, "the two processes never interleaved, so the test proved nothing"


def _append_one(engine: Engine, institution: str) -> None:
    with transaction(engine) as session:
        session.execute(text("SET LOCAL lock_timeout = '30s'"))
        audit.record(session, actor="test", action="test.lock", institution=institution)


def _waiting_on_a_lock(engine: Engine, backend: int) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"),
                {"pid": backend},
            ).scalar()
        )


def test_appenders_of_different_institutions_do_not_wait_on_each_other(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time by design")
    _append_one(engine, "131016")  # both chains exist before the race
    _append_one(engine, "271004")
    with engine.connect() as waiter_connection:
        backend = waiter_connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        waiter_connection.commit()

        def same_chain() -> None:
            with Session(bind=waiter_connection) as session, session.begin():
                audit.record(session, actor="test", action="test.lock", institution="131016")

        waiter = threading.Thread(target=same_chain)
        with transaction(engine) as holder:
            audit.record(holder, actor="test", action="test.lock", institution="131016")
            # Written now instead of at commit, so that 131016's head stays locked until this
            # block ends. Another institution's append must not queue behind it at all: with a
            # 1 ms lock_timeout it would fail at once.
            pending.write(holder)
            with transaction(engine) as other:
                other.execute(text("SET LOCAL lock_timeout = '1ms'"))
                audit.record(other, actor="test", action="test.lock", institution="271004")
            # The same institution's append does wait: seen in pg_locks, not guessed from a
            # clock (the loop only bounds how long a broken build may hang).
            waiter.start()
            for _ in range(3000):
                if _waiting_on_a_lock(engine, backend):
                    break
                time.sleep(0.01)
            else:
                pytest.fail("the second appender of 131016 never waited for the first")
        waiter.join()
    with transaction(engine) as session:
        assert audit.verify(session).intact
