"""Appends from several processes at once still form one unbroken chain."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, select

from fukaiji import audit
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
        actors = session.scalars(select(AuditEntry.actor).order_by(AuditEntry.seq)).all()
    assert result.intact
    assert result.entries == base + 2 * ENTRIES_PER_PROCESS
    assert actors.count("process:a") == actors.count("process:b") == ENTRIES_PER_PROCESS
    switches = sum(1 for first, second in itertools.pairwise(actors) if first != second)
    assert switches > 1, "the two processes never interleaved, so the test proved nothing"
