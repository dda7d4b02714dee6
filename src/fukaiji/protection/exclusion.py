"""宛先除外 (exclusion from destination files): per institution, the 留意すべき対象者 to keep out
of every destination file until their usage-stop procedures are complete (別添2(3)), unless they
consented to the notice or its category (別添2(3)①).

The institution knows them from three sources (別添2(3) ア・イ): its own protections (this
system's record), its 紙台帳 (paper ledger, imported), and the 不開示フラグ at its intermediate
server. A protection carries the case facts, so where the institution has one, the derived
usage-stop status decides: the exclusion lifts by itself when it completes (別添2(4)) and is back
the moment it does not. The ledger and the flag carry no facts to judge completion by, so a
person known only from them stays excluded until they consent or the desk registers the case.

Everything is computed at the moment of asking; nothing here can be stale. ``sweep`` only makes
sure a change of status is announced to the desk even when nobody happens to look.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.intermediate.models import NondisclosureFlag
from fukaiji.intermediate.service import addressee_subject, parse_addressee_number
from fukaiji.network.models import Institution
from fukaiji.protection.consent import consenting_addressees
from fukaiji.protection.models import LedgerEntry, Protection
from fukaiji.protection.states import ExclusionSource
from fukaiji.protection.status import current_status


@dataclass(frozen=True, slots=True)
class ExclusionEntry:
    """An addressee to keep out of destination files, and where the institution knows it from.
    Never the region or the facts: a notice department needs the number, nothing more."""

    addressee_number: str
    sources: tuple[ExclusionSource, ...]


def exclusion_list(session: Session, *, institution: Institution) -> list[ExclusionEntry]:
    """Every addressee the institution must exclude now (before any consent), in number order."""
    watched = _watched(session, institution.id)
    excluded = {
        number: sources
        for number, sources in watched.items()
        if _excluded(session, institution.id, number, sources)
    }
    return [ExclusionEntry(number, tuple(sorted(excluded[number]))) for number in sorted(excluded)]


def excluded_addressees(
    session: Session,
    *,
    institution: Institution,
    notice_id: uuid.UUID | None = None,
    category: str | None = None,
) -> frozenset[str]:
    """The addressees a notice (or a notice of ``category``) must not reach now: the exclusion
    list less those who consented to it."""
    excluded = {
        entry.addressee_number for entry in exclusion_list(session, institution=institution)
    }
    consented = consenting_addressees(
        session,
        institution_id=institution.id,
        notice_id=notice_id,
        category=category,
        among=excluded,
    )
    return frozenset(excluded - consented)


def is_excluded(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str,
    notice_id: uuid.UUID | None = None,
    category: str | None = None,
) -> bool:
    """Whether one notice must not reach one addressee now (the sending gate asks this for
    every addressee at the moment of sending)."""
    number = str(parse_addressee_number(addressee_number))
    sources = _sources_of(session, institution.id, number)
    if not sources or not _excluded(session, institution.id, number, sources):
        return False
    consented = consenting_addressees(
        session,
        institution_id=institution.id,
        notice_id=notice_id,
        category=category,
        among={number},
    )
    return number not in consented


def to_be_watched(session: Session, *, institution: Institution, addressee_number: str) -> bool:
    """Whether the institution knows the addressee as a 留意すべき対象者 from any source — all
    that a department other than the registering desk may learn (機関内での情報共有)."""
    number = str(parse_addressee_number(addressee_number))
    return bool(_sources_of(session, institution.id, number))


def read_watch_flag(
    session: Session, *, institution: Institution, addressee_number: str, actor: str
) -> bool:
    """``to_be_watched`` as any department reads it: the read itself is audited."""
    number = str(parse_addressee_number(addressee_number))
    watched = to_be_watched(session, institution=institution, addressee_number=number)
    audit.record(
        session,
        actor=actor,
        action="protection.watch_read",
        institution=institution.code,
        subject=addressee_subject(institution.code, number),
    )
    return watched


def sweep(session: Session, *, institution: Institution | None = None) -> int:
    """Judge every protection (of one institution, or all) so that each change of the
    usage-stop status is announced; returns how many changed."""
    statement = select(Protection)
    if institution is not None:
        statement = statement.where(Protection.institution_id == institution.id)
    changed = 0
    for protection in session.scalars(statement).all():
        seen = protection.usage_stop_complete_seen
        current_status(session, protection)
        changed += protection.usage_stop_complete_seen != seen
    return changed  # each change wrote its own audit entry and message


def _excluded(
    session: Session, institution_id: int, number: str, sources: set[ExclusionSource]
) -> bool:
    if ExclusionSource.PROTECTION not in sources:
        return True  # known only from the ledger or the flag: no facts to judge completion by
    protection = session.scalars(
        select(Protection).where(
            Protection.institution_id == institution_id, Protection.addressee_number == number
        )
    ).one()
    return current_status(session, protection).excluded


def _watched(session: Session, institution_id: int) -> dict[str, set[ExclusionSource]]:
    watched: defaultdict[str, set[ExclusionSource]] = defaultdict(set)
    for source, numbers in _source_selects(institution_id).items():
        for number in session.scalars(numbers):
            watched[number].add(source)
    return watched


def _sources_of(session: Session, institution_id: int, number: str) -> set[ExclusionSource]:
    return {
        source
        for source, numbers in _source_selects(institution_id, number).items()
        if session.scalar(numbers) is not None
    }


def _source_selects(institution_id: int, number: str | None = None) -> dict[ExclusionSource, Any]:
    """For each source, the SELECT of the addressee numbers it lists (or of ``number`` only)."""

    def numbers(column: Any, *conditions: Any) -> Any:
        statement = select(column).where(*conditions)
        return statement if number is None else statement.where(column == number).limit(1)

    return {
        ExclusionSource.PROTECTION: numbers(
            Protection.addressee_number, Protection.institution_id == institution_id
        ),
        ExclusionSource.PAPER_LEDGER: numbers(
            LedgerEntry.addressee_number,
            LedgerEntry.institution_id == institution_id,
            LedgerEntry.withdrawn_at.is_(None),
        ),
        ExclusionSource.NONDISCLOSURE_FLAG: numbers(
            NondisclosureFlag.addressee_number, NondisclosureFlag.institution_id == institution_id
        ),
    }
