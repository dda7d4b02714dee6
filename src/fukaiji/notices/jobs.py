"""Sending a notice as a resumable job (送信ジョブ).

A job walks the destination file's rows in id order, a batch per transaction. Each batch goes
through the intermediate server's gate at the moment of sending (the exclusion list is asked
again for the whole batch in one query, whatever screening said), and each outcome is written as
a ``Delivery`` row in the same transaction as the inbox messages and the job's cursor. A crash
or a restart loses at most the batch in flight, which is done again; the unique (notice,
addressee) delivery row makes a second delivery impossible. If the gate cannot read the
exclusion list, the batch fails whole and nothing of it is sent; the job is tried again later.

A worker holds a job by a lease: ``lease_until`` in the future. A worker that dies lets the
lease lapse and any worker takes the job over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, or_, select
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db import transaction
from fukaiji.db.base import utc_now
from fukaiji.db.sets import one_of, strings
from fukaiji.intermediate.gate import GateOutcome, pass_gate
from fukaiji.network.models import Institution
from fukaiji.notices.errors import NoticeLocked
from fukaiji.notices.models import Delivery, DestinationFile, DestinationRow, Notice, SendJob
from fukaiji.notices.service import notice_subject, require_destination
from fukaiji.portal.delivery import deliver_to_inboxes
from fukaiji.protection.exclusion import excluded_among
from fukaiji.protection.service import Viewer

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500  # one exclusion question and one insert per batch
DEFAULT_LEASE = timedelta(seconds=60)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def start_sending(
    session: Session, *, notice: Notice, sender: Viewer, now: datetime | None = None
) -> SendJob:
    """Queue the notice for sending; a worker picks it up. A notice is sent once."""
    if session.scalar(select(SendJob.id).where(SendJob.notice_id == notice.id)) is not None:
        raise NoticeLocked("notice", "このお知らせは送信済みか送信中です (already sent or sending)")
    file = require_destination(session, notice)
    total = session.scalar(
        select(func.count()).where(
            DestinationRow.file_id == file.id, DestinationRow.removed.is_(False)
        )
    )
    job = SendJob(
        notice_id=notice.id, total=total or 0, created_at=now or utc_now(), created_by=sender.actor
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor=sender.actor,
        action="notices.send_started",
        institution=sender.institution_code,
        subject=notice_subject(notice.id),
        details={"job": job.id, "total": job.total, "screened": file.screened_at is not None},
    )
    return job


def claim(
    session: Session, *, worker: str, lease: timedelta = DEFAULT_LEASE, now: datetime | None = None
) -> SendJob | None:
    """Take the oldest unfinished job whose lease has lapsed (or was never taken)."""
    now = now or utc_now()
    job = session.scalars(
        select(SendJob)
        .where(
            SendJob.state != "done",
            or_(SendJob.lease_until.is_(None), SendJob.lease_until < now),
        )
        .order_by(SendJob.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).one_or_none()
    if job is None:
        return None
    job.worker, job.lease_until, job.state = worker, now + lease, "running"
    job.started_at = job.started_at or now
    session.flush()
    return job


def run_batch(
    session: Session,
    *,
    job_id: int,
    worker: str,
    batch_size: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
) -> bool:
    """Send the next batch of the job; False when the job is done or no longer ours."""
    now = now or utc_now()
    job = session.scalars(select(SendJob).where(SendJob.id == job_id).with_for_update()).one()
    if job.state == "done" or job.worker != worker:
        return False
    notice = session.get_one(Notice, job.notice_id)
    rows = _next_rows(session, notice, job.cursor, batch_size)
    if not rows:
        _finish(session, job, notice, now)
        return False
    institution = session.get_one(Institution, notice.institution_id)
    for outcome in _send_batch(session, notice, institution, rows, job):
        _count(job, outcome)
    job.cursor = rows[-1].id
    job.lease_until = now + lease
    return True


def run_job(
    engine: Engine,
    job_id: int,
    *,
    worker: str,
    batch_size: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    pause: float = 0.0,
) -> None:
    """Run a claimed job to the end, one transaction per batch, ``pause`` seconds apart (to
    spare the database in office hours)."""
    while True:
        with transaction(engine) as session:
            more = run_batch(
                session, job_id=job_id, worker=worker, batch_size=batch_size, lease=lease
            )
        if not more:
            return
        time.sleep(pause)


def work(
    engine: Engine,
    *,
    worker: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    once: bool = False,
    idle_seconds: float = 2.0,
    pause: float = 0.0,
    stop: threading.Event | None = None,
) -> int:
    """Claim and run jobs until ``stop`` is set; with ``once``, stop when none is waiting.
    Returns how many jobs ran to the end."""
    worker = worker or worker_name()
    stop = stop or threading.Event()
    done = 0
    while not stop.is_set():
        with transaction(engine) as session:
            job = claim(session, worker=worker, lease=lease)
            job_id = None if job is None else job.id
        if job_id is None:
            if once:
                return done
            stop.wait(idle_seconds)
            continue
        try:
            run_job(engine, job_id, worker=worker, batch_size=batch_size, lease=lease, pause=pause)
            done += 1
        except Exception:  # the lease lapses and the job is tried again; nothing half-sent
            log.exception("send job %s stopped", job_id)
            if once:
                raise
    return done


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    state: str
    total: int
    done: int
    sent: int
    blocked: int
    no_account: int
    removed_by_screening: int
    bad_rows: int
    started_at: datetime | None
    finished_at: datetime | None


def delivery_report(session: Session, *, notice: Notice) -> DeliveryReport | None:
    job = session.scalars(select(SendJob).where(SendJob.notice_id == notice.id)).one_or_none()
    if job is None:
        return None
    file = require_destination(session, notice)
    removed = session.scalar(
        select(func.count()).where(
            DestinationRow.file_id == file.id, DestinationRow.removed.is_(True)
        )
    )
    return DeliveryReport(
        state=job.state,
        total=job.total,
        done=job.sent + job.blocked + job.no_account,
        sent=job.sent,
        blocked=job.blocked,
        no_account=job.no_account,
        removed_by_screening=removed or 0,
        bad_rows=file.fault_count,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _next_rows(session: Session, notice: Notice, cursor: int, limit: int) -> list[DestinationRow]:
    return list(
        session.scalars(
            select(DestinationRow)
            .join(DestinationFile, DestinationFile.id == DestinationRow.file_id)
            .where(
                DestinationFile.notice_id == notice.id,
                DestinationRow.removed.is_(False),
                DestinationRow.id > cursor,
            )
            .order_by(DestinationRow.id)
            .limit(limit)
        )
    )


def _send_batch(
    session: Session,
    notice: Notice,
    institution: Institution,
    rows: list[DestinationRow],
    job: SendJob,
) -> list[GateOutcome]:
    """The batch through the gate, less the addressees that already have a delivery row (a batch
    done again after a crash); returns the new outcomes."""
    numbers = [row.addressee_number for row in rows]
    done = set(
        session.scalars(
            select(Delivery.addressee_number).where(
                Delivery.notice_id == notice.id,
                one_of(session, Delivery.addressee_number, numbers),
            )
        )
    )
    to_send = [row for row in rows if row.addressee_number not in done]
    if not to_send:
        return []
    actor = f"notice-job:{job.id}"
    outcomes = pass_gate(
        session,
        institution=institution,
        addressee_numbers=[row.addressee_number for row in to_send],
        excluded_among=lambda batch: excluded_among(
            session,
            institution=institution,
            numbers=strings(session, batch),
            notice_id=notice.id,
            category=notice.category,
        ),
        deliver=lambda recipients: _deliver(session, notice, recipients, actor),
        notice_ref=notice_subject(notice.id),
        actor=actor,
    )
    session.execute(
        insert(Delivery),
        [
            {
                "notice_id": notice.id,
                "addressee_number": row.addressee_number,
                "row_number": row.row_number,
                "outcome": outcomes[row.addressee_number].value,
            }
            for row in to_send
        ],
    )
    return [outcomes[row.addressee_number] for row in to_send]


def _deliver(
    session: Session, notice: Notice, recipients: Mapping[str, uuid.UUID], actor: str
) -> set[str]:
    return deliver_to_inboxes(
        session,
        recipients=recipients,
        institution_id=notice.institution_id,
        title=notice.title,
        body=notice.body,
        category=notice.category,
        actor=actor,
        source=notice_subject(notice.id),
    )


def _count(job: SendJob, outcome: GateOutcome) -> None:
    if outcome is GateOutcome.SENT:
        job.sent += 1
    elif outcome is GateOutcome.BLOCKED:
        job.blocked += 1
    else:
        job.no_account += 1


def _finish(session: Session, job: SendJob, notice: Notice, now: datetime) -> None:
    job.state, job.finished_at, job.lease_until = "done", now, None
    institution = session.get_one(Institution, notice.institution_id)
    audit.record(
        session,
        actor=f"notice-job:{job.id}",
        action="notices.send_finished",
        institution=institution.code,
        subject=notice_subject(notice.id),
        details={"sent": job.sent, "blocked": job.blocked, "no_account": job.no_account},
    )
