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

Every question is asked in set form (``usage_stop_query``): one SQL query answers for a whole
institution or a whole batch of addressees, never one protection at a time in Python, and no
query binds one parameter per addressee — a batch is given as a SELECT of its numbers.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, literal, not_, or_, select
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.intermediate.models import NondisclosureFlag
from fukaiji.intermediate.service import addressee_subject, parse_addressee_number
from fukaiji.network.models import Institution
from fukaiji.protection.models import Consent, LedgerEntry, Protection
from fukaiji.protection.states import ExclusionSource
from fukaiji.protection.status import current_status
from fukaiji.protection.usage_stop_query import usage_stop_incomplete


@dataclass(frozen=True, slots=True)
class ExclusionEntry:
    """An addressee to keep out of destination files, and where the institution knows it from.
    Never the region or the facts: a notice department needs the number, nothing more."""

    addressee_number: str
    sources: tuple[ExclusionSource, ...]


def exclusion_list(session: Session, *, institution: Institution) -> list[ExclusionEntry]:
    """Every addressee the institution must exclude now (before any consent), in number order.
    Three queries, whatever the number of protections. A change of status found on the way is
    announced to the desk, as the sweep would."""
    # Read through the connection, not the ORM, and without the ids: at 10⁵ protections the
    # ORM's row handling and turning every id into a UUID took longer than the query. A change
    # of status is rare (it is announced once and then seen), so the changed protections are
    # found by a query of their own only when there is one.
    session.flush()  # the connection does not flush by itself, as the ORM's own queries do
    connection = session.connection()
    rows = connection.execute(
        select(
            Protection.addressee_number,
            Protection.usage_stop_complete_seen,
            usage_stop_incomplete(),
        ).where(Protection.institution_id == institution.id)
    ).all()
    if any(bool(seen_complete) == bool(incomplete) for _, seen_complete, incomplete in rows):
        sweep(session, institution=institution)
    protected = {number for number, _, _ in rows}
    still_open = {number for number, _, incomplete in rows if incomplete}
    listed = {
        source: set(connection.scalars(_numbers_listed_by(source, institution.id)))
        for source in (ExclusionSource.PAPER_LEDGER, ExclusionSource.NONDISCLOSURE_FLAG)
    }
    # A protection carries the facts, so its status decides; the ledger and the flag carry
    # none, so a person known only from them stays excluded.
    excluded = still_open.union(*(numbers - protected for numbers in listed.values()))
    only_protected = (ExclusionSource.PROTECTION,)
    also_listed = set().union(*listed.values())
    known_from = {ExclusionSource.PROTECTION: protected, **listed}
    return [
        ExclusionEntry(
            number,
            _sources_of(number, known_from) if number in also_listed else only_protected,
        )
        for number in sorted(excluded)
    ]


def _sources_of(
    number: str, known_from: dict[ExclusionSource, set[str]]
) -> tuple[ExclusionSource, ...]:
    return tuple(sorted(source for source, numbers in known_from.items() if number in numbers))


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
    consented = session.scalars(
        select(Consent.addressee_number).where(_consents_of(institution.id, notice_id, category))
    )
    return frozenset(excluded.difference(consented))


def excluded_among(
    session: Session,
    *,
    institution: Institution,
    numbers: Select[Any],
    notice_id: uuid.UUID | None = None,
    category: str | None = None,
) -> set[str]:
    """Which of ``numbers`` (a SELECT of one column of addressee numbers: a batch of a
    destination file, say) a notice must not reach now. One query for the whole batch."""
    batch = numbers.subquery()
    number = next(iter(batch.c))
    return set(
        session.scalars(
            select(number).where(excluded_now(institution.id, number, notice_id, category))
        )
    )


def is_excluded(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str,
    notice_id: uuid.UUID | None = None,
    category: str | None = None,
) -> bool:
    """Whether one notice must not reach one addressee now. One query, built once."""
    question = _one_addressee_question(notice_id is not None, category is not None)
    parameters = {
        "institution_id": institution.id,
        "number": str(parse_addressee_number(addressee_number)),
        "notice_id": notice_id,
        "category": category,
    }
    return bool(session.scalar(question, parameters))


@functools.cache
def _one_addressee_question(with_notice: bool, with_category: bool) -> Select[tuple[bool]]:
    # Built once per shape: the question is a large tree, and building and compiling it on
    # every call costs many times more than SQLite takes to answer it from the indexes.
    return select(
        excluded_now(
            bindparam("institution_id"),
            bindparam("number"),
            bindparam("notice_id") if with_notice else None,
            bindparam("category") if with_category else None,
        )
    )


def excluded_now(
    institution_id: int | ColumnElement[int],
    number: ColumnElement[str],
    notice_id: uuid.UUID | ColumnElement[uuid.UUID] | None,
    category: str | ColumnElement[str] | None,
) -> ColumnElement[bool]:
    """The exclusion question for the addressee ``number`` (a column or a literal) as one SQL
    condition: on the list now, and no live consent covers this notice or its category."""
    protected = and_(
        Protection.institution_id == institution_id, Protection.addressee_number == number
    )
    listed = or_(
        *(
            _numbers_listed_by(source, institution_id, number).exists()
            for source in (ExclusionSource.PAPER_LEDGER, ExclusionSource.NONDISCLOSURE_FLAG)
        )
    )
    on_list = or_(
        exists().where(protected, usage_stop_incomplete()),
        and_(not_(exists().where(protected)), listed),
    )
    return and_(
        on_list, not_(exists().where(_consents_of(institution_id, notice_id, category, number)))
    )


def to_be_watched(session: Session, *, institution: Institution, addressee_number: str) -> bool:
    """Whether the institution knows the addressee as a 留意すべき対象者 from any source — all
    that a department other than the registering desk may learn (機関内での情報共有)."""
    number = literal(str(parse_addressee_number(addressee_number)))
    known = or_(
        *(_numbers_listed_by(source, institution.id, number).exists() for source in ExclusionSource)
    )
    return bool(session.scalar(select(known)))


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


def sweep(session: Session, *, institution: Institution) -> int:
    """Announce every change of the usage-stop status at one institution since it was last seen;
    returns how many changed. One query finds the changed protections, so the work grows with
    the changes, not with the protections."""
    return _announce(session, session.scalars(changed_protections(institution.id)).all())


def _announce(session: Session, changed: Sequence[uuid.UUID]) -> int:
    """Judge each protection found changed, which announces the change (an audit entry and a
    message to the desk); returns how many really changed when judged in full."""
    count = 0
    for protection_id in changed:
        protection = session.get_one(Protection, protection_id)
        seen = protection.usage_stop_complete_seen
        current_status(session, protection)
        count += protection.usage_stop_complete_seen != seen
    return count


def changed_protections(institution_id: int) -> Select[tuple[uuid.UUID]]:
    """The ids of the protections whose usage-stop status is not what was last seen."""
    incomplete = usage_stop_incomplete()
    seen_complete = Protection.usage_stop_complete_seen.is_(True)
    return select(Protection.id).where(
        Protection.institution_id == institution_id,
        or_(and_(seen_complete, incomplete), and_(not_(seen_complete), not_(incomplete))),
    )


def institutions_to_sweep(session: Session) -> Iterator[Institution]:
    """Every institution with a protection, one at a time (each is swept in its own short
    transaction)."""
    ids = session.scalars(select(Protection.institution_id).distinct()).all()
    for institution_id in sorted(ids):
        yield session.get_one(Institution, institution_id)


def _numbers_listed_by(
    source: ExclusionSource,
    institution_id: int | ColumnElement[int],
    number: ColumnElement[str] | None = None,
) -> Select[tuple[str]]:
    """The SELECT of the addressee numbers ``source`` lists (or of ``number`` only)."""
    column, conditions = _SOURCES[source](institution_id)
    statement = select(column).where(*conditions)
    return statement if number is None else statement.where(column == number)


_SOURCES = {
    ExclusionSource.PROTECTION: lambda institution_id: (
        Protection.addressee_number,
        [Protection.institution_id == institution_id],
    ),
    ExclusionSource.PAPER_LEDGER: lambda institution_id: (
        LedgerEntry.addressee_number,
        [LedgerEntry.institution_id == institution_id, LedgerEntry.withdrawn_at.is_(None)],
    ),
    ExclusionSource.NONDISCLOSURE_FLAG: lambda institution_id: (
        NondisclosureFlag.addressee_number,
        [NondisclosureFlag.institution_id == institution_id],
    ),
}


def _consents_of(
    institution_id: int | ColumnElement[int],
    notice_id: uuid.UUID | ColumnElement[uuid.UUID] | None,
    category: str | ColumnElement[str] | None,
    number: ColumnElement[str] | None = None,
) -> ColumnElement[bool]:
    """A live consent of the institution covering this notice or its category (別添2(3)①).
    Without a notice or a category nothing can be covered."""
    scopes = []
    if notice_id is not None:
        scopes.append(Consent.notice_id == notice_id)
    if category is not None:
        scopes.append(Consent.category == category)
    conditions = [
        Consent.institution_id == institution_id,
        Consent.withdrawn_at.is_(None),
        or_(*scopes) if scopes else Consent.id.is_(None),
    ]
    if number is not None:
        conditions.append(Consent.addressee_number == number)
    return and_(*conditions)
