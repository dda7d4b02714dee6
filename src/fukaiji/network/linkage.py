"""情報照会・情報提供 through the network, and 情報提供等記録.

The network checks the legal basis, turns the requester's 機関別符号 into the provider's, asks the
provider's intermediate server for the current 副本 (through the ``provide`` callable the caller
passes in: the network does not know how intermediate servers store data) and writes one
情報提供等記録 for every query that passed the legal basis check, whether data came back or not.

The network does not know who has a 不開示フラグ: that lives at each institution's intermediate
server. Its caller says whether the requester's side is 不開示, and the provider's answer says
whether the provider's side is. ``undisclose_records_of`` flags, after the fact, every record in
which an institution took part for a person.

The hot path is set-based: one statement finds the provider and resolves both codes, one inserts
the record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, and_, bindparam, false, insert, select, update
from sqlalchemy.orm import Session, aliased

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.network.errors import (
    InvalidQuery,
    ProviderIsRouted,
    QueryNotPermitted,
    UnknownCode,
    UnknownInstitution,
    UnknownRecord,
)
from fukaiji.network.legal_basis import (
    AFFAIR_CODE,
    ITEM_CODE,
    LegalBasisRow,
    LegalBasisTable,
    acting_code,
    shipped_legal_basis,
)
from fukaiji.network.models import (
    CodeIssuance,
    Institution,
    InstitutionKind,
    LinkageRecord,
    LinkageStatus,
)

_INSTITUTION_CODE = re.compile(r"[0-9A-Z]{4,16}")


@dataclass(frozen=True, slots=True)
class InstitutionRef:
    """An institution as a record or an item names it, with where it is: the exposure check
    tests ``prefecture_code`` and ``municipality_code`` against a protected region. An office
    (出先機関) is named as itself, with its own location; ``body_code`` is its body's code, under
    which the legal basis table knows it."""

    id: int
    code: str
    name: str
    kind: InstitutionKind
    prefecture_code: str | None
    municipality_code: str | None
    body_code: str | None = None

    @classmethod
    def of(cls, institution: Institution) -> InstitutionRef:
        return cls(
            id=institution.id,
            code=institution.code,
            name=institution.name,
            kind=InstitutionKind(institution.kind),
            prefecture_code=institution.prefecture_code,
            municipality_code=institution.municipality_code,
            body_code=institution.body_code,
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


INSTITUTION_COLUMNS = (
    "id",
    "code",
    "name",
    "kind",
    "prefecture_code",
    "municipality_code",
    "body_code",
)


def institution_columns(table: Any, prefix: str) -> list[Any]:
    """The columns of ``table`` (an Institution alias) that make an InstitutionRef, labelled."""
    return [getattr(table, name).label(f"{prefix}_{name}") for name in INSTITUTION_COLUMNS]


def institution_from_row(row: Row[Any], prefix: str) -> InstitutionRef:
    values = {name: getattr(row, f"{prefix}_{name}") for name in INSTITUTION_COLUMNS}
    values["kind"] = InstitutionKind(values["kind"])
    return InstitutionRef(**values)


# The statements of the hot path are built once, with bound parameters, on the tables rather
# than the ORM classes: building a statement costs more than running it on SQLite.
_INSTITUTIONS = Institution.__table__
_BODIES = _INSTITUTIONS.alias("body")
# The columns of an InstitutionRef on the table itself; ``body_code`` as in the model.
_REF_COLUMNS = [
    *(_INSTITUTIONS.c[name].label(f"i_{name}") for name in INSTITUTION_COLUMNS[:-1]),
    select(_BODIES.c.code)
    .where(_BODIES.c.id == _INSTITUTIONS.c.body_id)
    .scalar_subquery()
    .label("i_body_code"),
]
_INSTITUTION_BY_CODE = select(*_REF_COLUMNS).where(_INSTITUTIONS.c.code == bindparam("code"))
_ISSUED = CodeIssuance.__table__.alias("issued")
_AT_PROVIDER = CodeIssuance.__table__.alias("at_provider")
# The provider, the person behind the requester's 符号, and the provider's 符号 for the same
# person (NULL if the provider never obtained one), in one round trip.
_PROVIDER_AND_CODES = (
    select(
        *_REF_COLUMNS,
        _ISSUED.c.person_ref,
        _AT_PROVIDER.c.code.label("code_at_provider"),
    )
    .select_from(
        _INSTITUTIONS.outerjoin(
            _ISSUED,
            and_(
                _ISSUED.c.code == bindparam("requester_code"),
                _ISSUED.c.institution_id == bindparam("requester_id"),
            ),
        ).outerjoin(
            _AT_PROVIDER,
            and_(
                _AT_PROVIDER.c.person_ref == _ISSUED.c.person_ref,
                _AT_PROVIDER.c.institution_id == _INSTITUTIONS.c.id,
            ),
        )
    )
    .where(_INSTITUTIONS.c.code == bindparam("provider_code"))
)
_INSERT_RECORD = insert(LinkageRecord.__table__).returning(LinkageRecord.__table__.c.id)


def institution_ref(session: Session, code: str) -> InstitutionRef:
    """The institution with ``code``, read as plain columns (no departments, no ORM identity)."""
    code = code.strip()
    if not _INSTITUTION_CODE.fullmatch(code):
        raise UnknownInstitution(code)
    row = session.execute(_INSTITUTION_BY_CODE, {"code": code}).one_or_none()
    if row is None:
        raise UnknownInstitution(code)
    return institution_from_row(row, "i")


@dataclass(frozen=True, slots=True)
class Provision:
    """What the provider's intermediate server answers: the current 副本 (or None if it holds no
    current item of that kind for the person) and whether its side of the record is 不開示."""

    content_json: str | None
    version: int | None
    undisclosed: bool


Provide = Callable[[InstitutionRef, str, str], Provision | None]
"""(provider, provider's 機関別符号, 特定個人情報名コード) -> the answer, or None if the provider's
intermediate server does not know the code."""

Residence = Callable[[], str | None]
"""The 地方公共団体コード of the municipality where the person lives now (None if unknown): asked
only when the legal basis routes a query there."""


def status_for_requester(status: LinkageStatus) -> LinkageStatus:
    """What the requester may know of an answer: data or none. "The provider does not know this
    person" would tell a requester probing institution after institution where she is known."""
    return LinkageStatus.PROVIDED if status is LinkageStatus.PROVIDED else LinkageStatus.NO_DATA


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The answer as the requester sees it: its own side's flag only, the status folded by
    ``status_for_requester``, and no provider where the network chose it (``routed``)."""

    record_id: int
    requested_at: datetime
    requester: InstitutionRef
    provider: InstitutionRef | None
    affair_code: str
    affair_name: str
    item_code: str
    item_name: str
    legal_basis_entry: int
    status: LinkageStatus
    content_json: str | None
    version: int | None
    requester_undisclosed: bool
    routed: bool

    @property
    def content(self) -> Any:
        return None if self.content_json is None else json.loads(self.content_json)


def check_query_codes(affair_code: str, item_code: str) -> None:
    if not AFFAIR_CODE.fullmatch(affair_code):
        raise InvalidQuery(
            "事務コード",
            f"{affair_code!r}: JM に続けて 14 桁の数字のはずです "
            "(affair code should be JM followed by 14 digits)",
        )
    if not ITEM_CODE.fullmatch(item_code):
        raise InvalidQuery(
            "特定個人情報名コード",
            f"{item_code!r}: TM に続けて 14 桁の数字のはずです "
            "(item code should be TM followed by 14 digits)",
        )


def relay_query(
    session: Session,
    *,
    requester: InstitutionRef,
    requester_code: str,
    provider_code: str | None,
    affair_code: str,
    item_code: str,
    requester_undisclosed: bool,
    provide: Provide,
    residence: Residence,
    actor: str,
    subject: str,
    legal_basis: LegalBasisTable | None = None,
    now: datetime | None = None,
) -> QueryResult:
    """Relay one query and record it. Raises QueryNotPermitted (audited; commit it) if no row of
    the legal basis table allows the combination; then nothing reaches the provider.

    Where the row names 市町村長 without a code (the municipality of residence), the requester
    names no provider: the network routes the query to where the person lives and never tells
    the requester which municipality that was. Naming a municipality for such a query is
    refused (audited) before anything about the person is read, so nobody can probe one
    municipality after another."""
    now = now or utc_now()
    table = legal_basis or shipped_legal_basis()
    check_query_codes(affair_code, item_code)
    routed = provider_code is None
    if routed:
        if table.find_routed(requester, affair_code, item_code) is None:
            raise InvalidQuery(
                "提供者",
                "この照会は住所地の市区町村へ送るものではありません。"
                "情報提供者の機関コードを指定してください。",
            )
        provider_code = _residence_institution_code(session, residence)
    provider_code = provider_code.strip()
    if not _INSTITUTION_CODE.fullmatch(provider_code):
        raise UnknownInstitution(provider_code)
    found = (
        session.connection()
        .execute(
            _PROVIDER_AND_CODES,
            {
                "provider_code": provider_code,
                "requester_code": requester_code,
                "requester_id": requester.id,
            },
        )
        .one_or_none()
    )
    if found is None:
        raise UnknownInstitution(provider_code)
    provider = institution_from_row(found, "i")
    row = (
        table.find_routed(requester, affair_code, item_code)
        if routed
        else table.find(requester, affair_code, provider, item_code)
    )
    if row is None:
        raise _refused(session, table, requester, provider, affair_code, item_code, actor, subject)
    if not routed and row.provider.is_residence:
        raise _named_for_routed(
            session, requester, provider, affair_code, item_code, actor, subject
        )
    if acting_code(provider) == acting_code(requester):
        # An office and its body, or two offices of one body, are one institution at law.
        raise InvalidQuery(
            "提供者",
            "照会者自身か、照会者と同じ上位機関の機関です。機関内の情報は情報提供ネットワーク"
            "システムを通さずに利用します。",
        )
    if found.person_ref is None:
        raise UnknownCode(requester.code)
    return _relay(
        session,
        _Relay(found, requester, provider, row, routed, requester_undisclosed, actor, subject),
        provide,
        now,
    )


@dataclass(frozen=True, slots=True)
class _Relay:
    found: Row[Any]
    requester: InstitutionRef
    provider: InstitutionRef
    row: LegalBasisRow
    routed: bool
    requester_undisclosed: bool
    actor: str
    subject: str


def _relay(session: Session, relay: _Relay, provide: Provide, now: datetime) -> QueryResult:
    """Ask the provider, write the record and the audit entry, and answer the requester."""
    code_at_provider = relay.found.code_at_provider
    provision = (
        None
        if code_at_provider is None
        else provide(relay.provider, code_at_provider, relay.row.item_code)
    )
    if provision is None:
        status = LinkageStatus.UNKNOWN_PERSON
    elif provision.content_json is None:
        status = LinkageStatus.NO_DATA
    else:
        status = LinkageStatus.PROVIDED
    record_id = (
        session.connection()
        .execute(
            _INSERT_RECORD,
            {
                "requested_at": now,
                "requester_institution_id": relay.requester.id,
                "provider_institution_id": relay.provider.id,
                "affair_code": relay.row.affair_code,
                "item_code": relay.row.item_code,
                "legal_basis_entry": relay.row.entry,
                "person_ref": relay.found.person_ref,
                "status": status.value,
                "requester_undisclosed": relay.requester_undisclosed,
                "provider_undisclosed": provision is not None and provision.undisclosed,
                "routed": relay.routed,
            },
        )
        .scalar_one()
    )
    audit.record(
        session,
        actor=relay.actor,
        action="linkage.query",
        institution=relay.requester.code,
        subject=relay.subject,
        details={
            "record": record_id,
            "provider": relay.provider.code,
            "routed": relay.routed,
            "affair": relay.row.affair_code,
            "item": relay.row.item_code,
            "status": status.value,
        },
        at=now,
    )
    return QueryResult(
        record_id=record_id,
        requested_at=now,
        requester=relay.requester,
        provider=None if relay.routed else relay.provider,
        affair_code=relay.row.affair_code,
        affair_name=relay.row.affair_name,
        item_code=relay.row.item_code,
        item_name=relay.row.item_name,
        legal_basis_entry=relay.row.entry,
        status=status_for_requester(status),
        content_json=None if provision is None else provision.content_json,
        version=None if provision is None else provision.version,
        requester_undisclosed=relay.requester_undisclosed,
        routed=relay.routed,
    )


def _residence_institution_code(session: Session, residence: Residence) -> str:
    """The institution code of the municipality of residence. The same refusal whatever went
    wrong, naming no place: the requester must not learn where she lives from an error."""
    municipality_code = residence()
    code = None
    if municipality_code is not None:
        code = session.scalar(
            select(Institution.code).where(
                Institution.municipality_code == municipality_code,
                Institution.kind == InstitutionKind.MUNICIPALITY.value,
            )
        )
    if code is None:
        raise InvalidQuery(
            "提供者",
            "住所地の市区町村に照会できません。情報提供ネットワークシステムの管理者に"
            "お問い合わせください。",
        )
    return code


def _named_for_routed(
    session: Session,
    requester: InstitutionRef,
    provider: InstitutionRef,
    affair_code: str,
    item_code: str,
    actor: str,
    subject: str,
) -> ProviderIsRouted:
    """A municipality named for a query the network routes itself: refused and audited, so
    that probing municipality after municipality shows in the log."""
    _audit_refusal(
        session,
        requester,
        provider,
        affair_code,
        item_code,
        actor,
        subject,
        reason="provider_named_for_routed_query",
    )
    return ProviderIsRouted()


def _refused(
    session: Session,
    table: LegalBasisTable,
    requester: InstitutionRef,
    provider: InstitutionRef,
    affair_code: str,
    item_code: str,
    actor: str,
    subject: str,
) -> QueryNotPermitted:
    """Audit a refused query and return the error to raise."""
    _audit_refusal(session, requester, provider, affair_code, item_code, actor, subject)
    affair_name = table.affair_name(affair_code) or "法令根拠表にない事務"
    item_name = table.item_name(item_code) or "法令根拠表にない特定個人情報"
    return QueryNotPermitted(
        requester=f"{requester} [{requester.kind.label}]",
        affair=f"{affair_code} ({affair_name})",
        provider=f"{provider} [{provider.kind.label}]",
        item=f"{item_code} ({item_name})",
        allowed_pairs=table.allowed_pairs(affair_code, item_code),
    )


def _audit_refusal(
    session: Session,
    requester: InstitutionRef,
    provider: InstitutionRef,
    affair_code: str,
    item_code: str,
    actor: str,
    subject: str,
    reason: str | None = None,
) -> None:
    details = {"provider": provider.code, "affair": affair_code, "item": item_code}
    if reason is not None:
        details["reason"] = reason
    audit.record(
        session,
        actor=actor,
        action="linkage.query_refused",
        institution=requester.code,
        subject=subject,
        details=details,
    )


# ---- 不開示 on records --------------------------------------------------------------------


def undisclose_records_of(session: Session, *, institution: Institution, code: str) -> int:
    """Flag every record in which the institution took part for the person whose code at that
    institution is ``code``, on the institution's side. Returns how many records were flagged
    now (records already flagged on that side are not counted)."""
    person_ref = session.scalar(
        select(CodeIssuance.person_ref).where(
            CodeIssuance.code == code, CodeIssuance.institution_id == institution.id
        )
    )
    if person_ref is None:
        raise UnknownCode(institution.code)
    flagged = 0
    for institution_column, flag_column in (
        (LinkageRecord.requester_institution_id, LinkageRecord.requester_undisclosed),
        (LinkageRecord.provider_institution_id, LinkageRecord.provider_undisclosed),
    ):
        result = session.execute(
            update(LinkageRecord)
            .where(
                LinkageRecord.person_ref == person_ref,
                institution_column == institution.id,
                flag_column == false(),
            )
            .values({flag_column: True})
            .execution_options(synchronize_session=False)
        )
        flagged += result.rowcount
    return flagged


def undisclose_record(
    session: Session, *, institution: Institution, record_id: int, actor: str
) -> LinkageRecord:
    """Flag one record by hand on the side the institution took part in."""
    record = session.get(LinkageRecord, record_id, with_for_update=True)
    if record is None or institution.id not in (
        record.requester_institution_id,
        record.provider_institution_id,
    ):
        raise UnknownRecord(record_id)
    side = "requester" if record.requester_institution_id == institution.id else "provider"
    already = getattr(record, f"{side}_undisclosed")
    setattr(record, f"{side}_undisclosed", True)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="linkage.record_undisclosed",
        institution=institution.code,
        subject=f"linkage-record:{record.id}",
        details={"side": side, "already": already},
    )
    return record


# ---- staff view of records ------------------------------------------------------------------


class Side(StrEnum):
    REQUESTER = "requester"  # 照会側
    PROVIDER = "provider"  # 提供側

    @property
    def label(self) -> str:
        return "照会側" if self is Side.REQUESTER else "提供側"


@dataclass(frozen=True, slots=True)
class RecordView:
    """A record as the staff of one party see it: their own side's 不開示 flag only (the other
    party's flag would tell them that a shelter-area institution protects her), the status as
    that party may know it, and the other party only where this party chose it: the requester
    sees the provider it named (not one the network routed to), the provider sees only the
    requester's role in the legal basis table — which municipality asked about her is where she
    went (ケース①: the shelter asks the old home for 地方税関係情報).
    Not for the portal: the portal reads only through ``fukaiji.intermediate.display``."""

    record_id: int
    requested_at: datetime
    side: Side
    requester: InstitutionRef | None
    requester_role: str
    provider: InstitutionRef | None
    provider_role: str
    affair_code: str
    item_code: str
    legal_basis_entry: int
    status: LinkageStatus
    undisclosed: bool
    routed: bool


def party_view(
    record: LinkageRecord, requester: InstitutionRef, provider: InstitutionRef, viewer_id: int
) -> RecordView:
    """``record`` as the party ``viewer_id`` may see it."""
    side = Side.REQUESTER if record.requester_institution_id == viewer_id else Side.PROVIDER
    as_requester = side is Side.REQUESTER
    status = LinkageStatus(record.status)
    row = shipped_legal_basis().entry(record.legal_basis_entry)
    return RecordView(
        record_id=record.id,
        requested_at=record.requested_at,
        side=side,
        requester=requester if as_requester else None,
        requester_role=str(row.requester) if row else requester.kind.label,
        provider=None if as_requester and record.routed else provider,
        provider_role=str(row.provider) if row else provider.kind.label,
        affair_code=record.affair_code,
        item_code=record.item_code,
        legal_basis_entry=record.legal_basis_entry,
        status=status_for_requester(status) if as_requester else status,
        undisclosed=record.requester_undisclosed if as_requester else record.provider_undisclosed,
        routed=record.routed,
    )


def records_involving(session: Session, *, institution_id: int, code: str) -> list[RecordView]:
    """Records in which the institution took part for the person whose code there is ``code``,
    each as that institution may see it."""
    requester = aliased(Institution)
    provider = aliased(Institution)
    issued = aliased(CodeIssuance)
    rows = session.execute(
        select(
            LinkageRecord,
            *institution_columns(requester, "r"),
            *institution_columns(provider, "p"),
        )
        .join(issued, issued.person_ref == LinkageRecord.person_ref)
        .join(requester, requester.id == LinkageRecord.requester_institution_id)
        .join(provider, provider.id == LinkageRecord.provider_institution_id)
        .where(
            issued.code == code,
            issued.institution_id == institution_id,
            (LinkageRecord.requester_institution_id == institution_id)
            | (LinkageRecord.provider_institution_id == institution_id),
        )
        .order_by(LinkageRecord.requested_at, LinkageRecord.id)
    ).all()
    return [
        party_view(
            row.LinkageRecord,
            institution_from_row(row, "r"),
            institution_from_row(row, "p"),
            institution_id,
        )
        for row in rows
    ]
