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

from sqlalchemy import and_, false, func, select
from sqlalchemy.orm import Session, aliased

from fukaiji.db.base import utc_now
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


def disclosable_records(
    session: Session,
    person_id: uuid.UUID,
    *,
    network_key: bytes,
    legal_basis: LegalBasisTable | None = None,
) -> list[DisclosableRecord]:
    """The person's 情報提供等記録 that the portal may show, oldest first."""
    table = legal_basis or shipped_legal_basis()
    person_ref = person_reference(network_key, person_id)
    flagging = _flagging_institutions(person_ref)
    requester = aliased(Institution)
    provider = aliased(Institution)
    rows = session.execute(
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
        .where(
            LinkageRecord.person_ref == person_ref,
            LinkageRecord.requester_undisclosed == false(),
            LinkageRecord.provider_undisclosed == false(),
            LinkageRecord.requester_institution_id.not_in(flagging),
            LinkageRecord.provider_institution_id.not_in(flagging),
        )
        .order_by(LinkageRecord.requested_at, LinkageRecord.id)
    ).all()
    return [
        DisclosableRecord(
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
        for row in rows
    ]


def disclosable_self_info(
    session: Session,
    person_id: uuid.UUID,
    *,
    network_key: bytes,
    on: date | None = None,
    legal_basis: LegalBasisTable | None = None,
) -> list[DisclosableSelfInfo]:
    """The current, published 副本 items of the person that the portal may show on the day
    ``on`` (today in Japan by default), by institution code and item code."""
    table = legal_basis or shipped_legal_basis()
    on = on or tokyo_date(utc_now())
    person_ref = person_reference(network_key, person_id)
    enrolled = (
        select(IntermediateCode.institution_id, IntermediateCode.addressee_number)
        .join(CodeIssuance, CodeIssuance.code == IntermediateCode.code)
        .where(CodeIssuance.person_ref == person_ref)
        .subquery()
    )
    current = (
        select(
            SelfInfoItem.institution_id,
            SelfInfoItem.addressee_number,
            SelfInfoItem.item_code,
            func.max(SelfInfoItem.version).label("version"),
        )
        .join(
            enrolled,
            and_(
                enrolled.c.institution_id == SelfInfoItem.institution_id,
                enrolled.c.addressee_number == SelfInfoItem.addressee_number,
            ),
        )
        .where(in_publication(on))
        .group_by(
            SelfInfoItem.institution_id, SelfInfoItem.addressee_number, SelfInfoItem.item_code
        )
        .subquery()
    )
    rows = session.execute(
        select(SelfInfoItem, *institution_columns(Institution, "i"))
        .join(
            current,
            and_(
                current.c.institution_id == SelfInfoItem.institution_id,
                current.c.addressee_number == SelfInfoItem.addressee_number,
                current.c.item_code == SelfInfoItem.item_code,
                current.c.version == SelfInfoItem.version,
            ),
        )
        .join(Institution, Institution.id == SelfInfoItem.institution_id)
        .where(
            SelfInfoItem.undisclosed == false(),
            SelfInfoItem.institution_id.not_in(_flagging_institutions(person_ref)),
        )
        .order_by(Institution.code, SelfInfoItem.item_code)
    ).all()
    return [
        DisclosableSelfInfo(
            item_id=row.SelfInfoItem.id,
            institution=institution_from_row(row, "i"),
            item_code=row.SelfInfoItem.item_code,
            item_name=table.item_name(row.SelfInfoItem.item_code) or row.SelfInfoItem.item_code,
            version=row.SelfInfoItem.version,
            content_json=row.SelfInfoItem.content,
            publish_from=row.SelfInfoItem.publish_from,
            publish_until=row.SelfInfoItem.publish_until,
            registered_at=row.SelfInfoItem.registered_at,
        )
        for row in rows
    ]
