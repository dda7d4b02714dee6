"""The only read path for display: what マイナポータル may show of a person's 情報提供等記録 and
自己情報 (self-information).

The portal, and the exposure check that tests what a perpetrator could see, read these tables
only through ``disclosable_records`` and ``disclosable_self_info``, so the two can never disagree.
No other code reads them for display.

The portal knows the person by register id (from the card login); these functions find the
person's records and items through the network's person reference (a keyed hash of that id), never
through a 個人番号.

Never shown, checked twice over:
- a record with either side 不開示, and a 副本 item flagged 自己情報表示不開示;
- anything of an institution that holds a 不開示フラグ for the person, whatever the stored flags
  say (defence in depth: a record written by a query that raced with the flag is still hidden).
For 副本, the current version is chosen first and then dropped if hidden: an older version is
never shown in its place.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, false, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from fukaiji.db.base import utc_now
from fukaiji.db.keyset import Direction, Position, beyond, ordered
from fukaiji.intermediate.models import IntermediateCode, NondisclosureFlag, SelfInfoItem
from fukaiji.intermediate.service import in_publication, tokyo_date
from fukaiji.network.codes import person_reference
from fukaiji.network.legal_basis import LegalBasisTable, shipped_legal_basis
from fukaiji.network.linkage import InstitutionRef, institution_columns, institution_from_row
from fukaiji.network.models import CodeIssuance, Institution, LinkageRecord, LinkageStatus


@dataclass(frozen=True, slots=True)
class DisclosableRecord:
    """情報提供等記録 as the portal may show it."""

    record_id: int
    occurred_at: datetime
    requester: InstitutionRef
    provider: InstitutionRef
    affair_code: str
    affair_name: str
    item_code: str
    item_name: str
    status: LinkageStatus

    @property
    def institutions(self) -> tuple[InstitutionRef, ...]:
        """Every institution the record names (for the exposure check)."""
        return (self.requester, self.provider)


@dataclass(frozen=True, slots=True)
class DisclosableSelfInfo:
    """The current version of one 副本 item as the portal may show it."""

    item_id: int
    institution: InstitutionRef
    item_code: str
    item_name: str
    version: int
    content_json: str
    publish_from: date
    publish_until: date | None
    registered_at: datetime

    @property
    def content(self) -> Any:
        """The content as JSON values (a new object on every call: the item stays immutable)."""
        return json.loads(self.content_json)

    @property
    def institutions(self) -> tuple[InstitutionRef, ...]:
        return (self.institution,)


def _flagging_institutions(person_ref: str) -> Any:
    """SQL: the ids of the institutions that hold a 不開示フラグ for the person."""
    return (
        select(NondisclosureFlag.institution_id)
        .join(
            IntermediateCode,
            and_(
                IntermediateCode.institution_id == NondisclosureFlag.institution_id,
                IntermediateCode.addressee_number == NondisclosureFlag.addressee_number,
            ),
        )
        .join(CodeIssuance, CodeIssuance.code == IntermediateCode.code)
        .where(CodeIssuance.person_ref == person_ref)
    )


@dataclass(frozen=True, slots=True)
class ViewFilter:
    """What a resident narrows a view to. ``since`` is inclusive and ``until`` exclusive (the
    caller turns Japanese dates into instants); ``kind`` is a 事務コード (``JM…``) or a
    特定個人情報名コード for a record, and an item code for 自己情報."""

    institution_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    kind: str | None = None


NO_FILTER = ViewFilter()

# Made once: an alias made per call costs the statement's construction ~10 ms, as SQLAlchemy
# adapts each mapped column (and the institution's body code subquery) to it anew.
_REQUESTER = aliased(Institution, name="requester")
_PROVIDER = aliased(Institution, name="provider")
_NEWER = aliased(SelfInfoItem, name="newer")


def _in_period(at: Any, where: ViewFilter) -> list[Any]:
    conditions = []
    if where.since is not None:
        conditions.append(at >= where.since)
    if where.until is not None:
        conditions.append(at < where.until)
    return conditions


# ---- やりとり履歴 --------------------------------------------------------------------------


def _records_statement(person_ref: str, where: ViewFilter) -> Any:
    """The person's disclosable records, as rows of the record and both institutions."""
    flagging = _flagging_institutions(person_ref)
    requester, provider = _REQUESTER, _PROVIDER
    conditions = [
        LinkageRecord.person_ref == person_ref,
        LinkageRecord.requester_undisclosed == false(),
        LinkageRecord.provider_undisclosed == false(),
        LinkageRecord.requester_institution_id.not_in(flagging),
        LinkageRecord.provider_institution_id.not_in(flagging),
        *_in_period(LinkageRecord.requested_at, where),
    ]
    if where.institution_id is not None:
        conditions.append(
            or_(
                LinkageRecord.requester_institution_id == where.institution_id,
                LinkageRecord.provider_institution_id == where.institution_id,
            )
        )
    if where.kind is not None:
        kind_column = (
            LinkageRecord.affair_code if where.kind.startswith("JM") else LinkageRecord.item_code
        )
        conditions.append(kind_column == where.kind)
    return (
        select(
            LinkageRecord.id,
            LinkageRecord.requested_at,
            LinkageRecord.affair_code,
            LinkageRecord.item_code,
            LinkageRecord.status,
            *institution_columns(requester, "r"),
            *institution_columns(provider, "p"),
        )
        .join(requester, requester.id == LinkageRecord.requester_institution_id)
        .join(provider, provider.id == LinkageRecord.provider_institution_id)
        .where(*conditions)
    )


def _record_of(row: Any, table: LegalBasisTable) -> DisclosableRecord:
    return DisclosableRecord(
        record_id=row.id,
        occurred_at=row.requested_at,
        requester=institution_from_row(row, "r"),
        provider=institution_from_row(row, "p"),
        affair_code=row.affair_code,
        affair_name=table.affair_name(row.affair_code) or row.affair_code,
        item_code=row.item_code,
        item_name=table.item_name(row.item_code) or row.item_code,
        status=LinkageStatus(row.status),
    )


def disclosable_records(
    session: Session,
    person_id: uuid.UUID,
    *,
    network_key: bytes,
    legal_basis: LegalBasisTable | None = None,
) -> list[DisclosableRecord]:
    """Every 情報提供等記録 of the person that the portal may show, newest first (for the
    exposure check, which must see the whole history; the portal shows it a page at a time,
    through ``records_page``)."""
    table = legal_basis or shipped_legal_basis()
    statement = _records_statement(person_reference(network_key, person_id), NO_FILTER)
    at, row_id = LinkageRecord.requested_at, LinkageRecord.id
    rows = session.execute(statement.order_by(*ordered(at, row_id, Direction.OLDER)))
    return [_record_of(row, table) for row in rows]


def records_page(
    session: Session,
    person_id: uuid.UUID,
    *,
    network_key: bytes,
    where: ViewFilter = NO_FILTER,
    start: Position | None = None,
    direction: Direction = Direction.OLDER,
    limit: int,
    legal_basis: LegalBasisTable | None = None,
) -> list[DisclosableRecord]:
    """At most ``limit`` of the records ``disclosable_records`` gives, past ``start`` in
    ``direction`` and in that order (newest first for ``OLDER``), filtered in SQL."""
    table = legal_basis or shipped_legal_basis()
    statement = _records_statement(person_reference(network_key, person_id), where)
    at, row_id = LinkageRecord.requested_at, LinkageRecord.id
    if start is not None:
        statement = statement.where(beyond(at, row_id, start, direction))
    rows = session.execute(statement.order_by(*ordered(at, row_id, direction)).limit(limit))
    return [_record_of(row, table) for row in rows]


# ---- 自己情報 ------------------------------------------------------------------------------


def _current_and_shown(on: date) -> list[Any]:
    """SQL: the 副本 row is the current version on the day ``on`` and may be shown. The
    current version is chosen among every published version, hidden or not, so that a hidden
    newest version is never replaced by an older one."""
    newer = _NEWER
    return [
        in_publication(on),
        SelfInfoItem.undisclosed == false(),
        ~exists().where(
            newer.institution_id == SelfInfoItem.institution_id,
            newer.addressee_number == SelfInfoItem.addressee_number,
            newer.item_code == SelfInfoItem.item_code,
            newer.version > SelfInfoItem.version,
            newer.publish_from <= on,
            or_(newer.publish_until.is_(None), newer.publish_until >= on),
        ),
    ]


def _self_info_columns() -> tuple[Any, ...]:
    return (
        SelfInfoItem.id,
        SelfInfoItem.item_code,
        SelfInfoItem.version,
        SelfInfoItem.content,
        SelfInfoItem.publish_from,
        SelfInfoItem.publish_until,
        SelfInfoItem.registered_at,
        *institution_columns(Institution, "i"),
    )


def _self_info_of(row: Any, table: LegalBasisTable) -> DisclosableSelfInfo:
    return DisclosableSelfInfo(
        item_id=row.id,
        institution=institution_from_row(row, "i"),
        item_code=row.item_code,
        item_name=table.item_name(row.item_code) or row.item_code,
        version=row.version,
        content_json=row.content,
        publish_from=row.publish_from,
        publish_until=row.publish_until,
        registered_at=row.registered_at,
    )


def disclosable_self_info(
    session: Session,
    person_id: uuid.UUID,
    *,
    network_key: bytes,
    on: date | None = None,
    legal_basis: LegalBasisTable | None = None,
) -> list[DisclosableSelfInfo]:
    """Every current, published 副本 item of the person that the portal may show on the day
    ``on`` (today in Japan by default), newest registration first (for the exposure check; the
    portal shows them a page at a time, in the same order, through ``self_info_page``)."""
    table = legal_basis or shipped_legal_basis()
    on = on or tokyo_date(utc_now())
    person_ref = person_reference(network_key, person_id)
    enrolled = (
        select(IntermediateCode.institution_id, IntermediateCode.addressee_number)
        .join(CodeIssuance, CodeIssuance.code == IntermediateCode.code)
        .where(CodeIssuance.person_ref == person_ref)
        .subquery()
    )
    rows = session.execute(
        select(*_self_info_columns())
        .join(
            enrolled,
            and_(
                enrolled.c.institution_id == SelfInfoItem.institution_id,
                enrolled.c.addressee_number == SelfInfoItem.addressee_number,
            ),
        )
        .join(Institution, Institution.id == SelfInfoItem.institution_id)
        .where(
            *_current_and_shown(on),
            SelfInfoItem.institution_id.not_in(_flagging_institutions(person_ref)),
        )
        .order_by(*ordered(SelfInfoItem.registered_at, SelfInfoItem.id, Direction.OLDER))
    )
    return [_self_info_of(row, table) for row in rows]


def _shown_enrolments(session: Session, person_ref: str, where: ViewFilter) -> list[Any]:
    """The person's (institution, addressee number) pairs at institutions holding no
    不開示フラグ for them: a handful per person, read in one query."""
    flag = NondisclosureFlag
    statement = (
        select(IntermediateCode.institution_id, IntermediateCode.addressee_number)
        .join(CodeIssuance, CodeIssuance.code == IntermediateCode.code)
        .outerjoin(
            flag,
            and_(
                flag.institution_id == IntermediateCode.institution_id,
                flag.addressee_number == IntermediateCode.addressee_number,
            ),
        )
        .where(CodeIssuance.person_ref == person_ref, flag.id.is_(None))
        .order_by(IntermediateCode.institution_id)
    )
    if where.institution_id is not None:
        statement = statement.where(IntermediateCode.institution_id == where.institution_id)
    return list(session.execute(statement))


def self_info_page(
    session: Session,
    person_id: uuid.UUID,
    *,
    network_key: bytes,
    on: date | None = None,
    where: ViewFilter = NO_FILTER,
    start: Position | None = None,
    direction: Direction = Direction.OLDER,
    limit: int,
    legal_basis: LegalBasisTable | None = None,
) -> list[DisclosableSelfInfo]:
    """At most ``limit`` of the items ``disclosable_self_info`` gives, by registration time
    past ``start`` in ``direction`` and in that order (newest first for ``OLDER``).

    One branch per institution the person is enrolled at, each walking that addressee
    number's index in time order and stopping at ``limit``, joined in one statement: ordering
    the person's whole 副本 across institutions would sort all of it on every page."""
    table = legal_basis or shipped_legal_basis()
    on = on or tokyo_date(utc_now())
    enrolments = _shown_enrolments(session, person_reference(network_key, person_id), where)
    if not enrolments:
        return []
    at, row_id = SelfInfoItem.registered_at, SelfInfoItem.id
    conditions = [*_current_and_shown(on), *_in_period(at, where)]
    if where.kind is not None:
        conditions.append(SelfInfoItem.item_code == where.kind)
    if start is not None:
        conditions.append(beyond(at, row_id, start, direction))
    branches = [
        select(*_self_info_columns())
        .join(Institution, Institution.id == SelfInfoItem.institution_id)
        .where(
            SelfInfoItem.institution_id == enrolment.institution_id,
            SelfInfoItem.addressee_number == enrolment.addressee_number,
            *conditions,
        )
        .order_by(*ordered(at, row_id, direction))
        .limit(limit)
        .subquery()
        .select()
        for enrolment in enrolments
    ]
    # Each branch carries its whole rows: joining the chosen ids back to the table would let a
    # planner hash the whole table to find a page.
    chosen = union_all(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
    rows = session.execute(
        select(chosen)
        .order_by(*ordered(chosen.c.registered_at, chosen.c.id, direction))
        .limit(limit)
    )
    return [_self_info_of(row, table) for row in rows]
