"""中間サーバー (intermediate server) of an institution: 符号 management, 副本 and 不開示フラグ.

The intermediate server knows a person only by the institution's addressee number and the
institution's 機関別符号. It obtains the 符号 from the network the first time (``acquire_code``),
keeps the 副本 the institution registers, and keeps the 不開示フラグ.

Fail closed: once an institution has flagged a person, every 副本 item it registers for them is
flagged whatever the staff member chose, and so is every record it takes part in (see
``fukaiji.intermediate.queries``). Setting the flag also flags what came before.

Locking: an operation on a person at an institution first locks that person's row of
``intermediate_codes`` (queries share the lock; registering and flagging take it exclusively), so
on PostgreSQL a flag set while a query or registration is running waits for it and then sees and
flags its rows, and a query waiting for a flag being set sees the flag (``lock_row``). On SQLite
every transaction already holds the write lock.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select, and_, bindparam, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.identifiers import AddresseeNumber, InvalidIdentifier, MyNumber
from fukaiji.intermediate.errors import (
    InvalidAddresseeNumber,
    InvalidSelfInfo,
    UnknownAddressee,
    UnknownSelfInfoItem,
)
from fukaiji.intermediate.models import (
    IntermediateCode,
    NondisclosureFlag,
    NondisclosureRequester,
    SelfInfoItem,
)
from fukaiji.network import codes as network_codes
from fukaiji.network import linkage as network_linkage
from fukaiji.network.legal_basis import ITEM_CODE, LegalBasisTable, shipped_legal_basis
from fukaiji.network.models import Institution

TOKYO = ZoneInfo("Asia/Tokyo")
MAX_CONTENT_CHARACTERS = 65_536
_TWELVE_DIGITS = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def addressee_subject(institution_code: str, addressee_number: AddresseeNumber | str) -> str:
    """How the audit log names a person at an institution: never by 個人番号."""
    return f"addressee:{institution_code}:{addressee_number}"


def parse_addressee_number(text: str | AddresseeNumber) -> AddresseeNumber:
    if isinstance(text, AddresseeNumber):
        return text
    try:
        return AddresseeNumber.parse(text)
    except InvalidIdentifier as error:
        raise InvalidAddresseeNumber(f"{error.fault_ja} ({error.fault_en})") from error


def tokyo_date(at: datetime) -> date:
    """The calendar day in Japan at an instant: publication windows are Japanese dates."""
    return at.astimezone(TOKYO).date()


def in_publication(on: date) -> Any:
    """The SQL condition that a 副本 item is published on the day ``on``."""
    return and_(
        SelfInfoItem.publish_from <= on,
        or_(SelfInfoItem.publish_until.is_(None), SelfInfoItem.publish_until >= on),
    )


# ---- 符号 ------------------------------------------------------------------------------------


def acquire_code(
    session: Session,
    *,
    institution: Institution,
    addressee_number: AddresseeNumber,
    person_id: uuid.UUID,
    network_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> None:
    """符号取得: obtain the institution's 機関別符号 for an addressee number from the network,
    once. The register id passes through to the network and is not kept here."""
    if code_of(session, institution, addressee_number) is not None:
        return
    code = network_codes.issue_code(
        session,
        network_key=network_key,
        institution=institution,
        person_id=person_id,
        actor=actor,
        now=now,
    )
    try:
        with session.begin_nested():
            session.add(
                IntermediateCode(
                    institution_id=institution.id,
                    addressee_number=str(addressee_number),
                    code=str(code),
                    acquired_at=now or utc_now(),
                )
            )
    except IntegrityError:
        if code_of(session, institution, addressee_number) is None:
            raise


def code_of(session: Session, institution: Institution, number: AddresseeNumber) -> str | None:
    return session.scalar(
        select(IntermediateCode.code).where(
            IntermediateCode.institution_id == institution.id,
            IntermediateCode.addressee_number == str(number),
        )
    )


# The statements of the hot path are built once, with bound parameters, on the tables rather
# than the ORM classes: building a statement costs more than running it on SQLite.
_CODES = IntermediateCode.__table__
_FLAGS = NondisclosureFlag.__table__
_ITEMS = SelfInfoItem.__table__
_CODES_WITH_FLAGS = _CODES.outerjoin(
    _FLAGS,
    and_(
        _FLAGS.c.institution_id == _CODES.c.institution_id,
        _FLAGS.c.addressee_number == _CODES.c.addressee_number,
    ),
)
_BY_NUMBER = and_(
    _CODES.c.institution_id == bindparam("institution_id"),
    _CODES.c.addressee_number == bindparam("addressee_number"),
)
_BY_CODE = and_(
    _CODES.c.institution_id == bindparam("institution_id"),
    _CODES.c.code == bindparam("code"),
)
# Locks on the row of an addressee number: shared for queries, exclusive for registering and
# flagging (see lock_row).
LOCK_BY_NUMBER = {
    exclusive: select(_CODES.c.id).where(_BY_NUMBER).with_for_update(read=not exclusive)
    for exclusive in (False, True)
}
LOCK_BY_CODE = select(_CODES.c.id).where(_BY_CODE).with_for_update(read=True)
# The 符号 of an addressee number and whether the institution has flagged the person.
CODE_AND_FLAG = (
    select(_CODES.c.code, _FLAGS.c.id.label("flag_id"))
    .select_from(_CODES_WITH_FLAGS)
    .where(_BY_NUMBER)
)
# The provider's answer in one round trip: its addressee number for a 符号, its flag, and the
# current version of one item on a day (the highest version published that day, if any).
PROVIDER_ANSWER = (
    select(
        _CODES.c.addressee_number,
        _FLAGS.c.id.label("flag_id"),
        _ITEMS.c.content,
        _ITEMS.c.version,
        _ITEMS.c.undisclosed,
    )
    .select_from(
        _CODES_WITH_FLAGS.outerjoin(
            _ITEMS,
            and_(
                _ITEMS.c.institution_id == _CODES.c.institution_id,
                _ITEMS.c.addressee_number == _CODES.c.addressee_number,
                _ITEMS.c.item_code == bindparam("item_code"),
                _ITEMS.c.publish_from <= bindparam("on"),
                or_(_ITEMS.c.publish_until.is_(None), _ITEMS.c.publish_until >= bindparam("on")),
            ),
        )
    )
    .where(_BY_CODE)
    # No NULL version can sort first: the outer join yields a NULL row only when there is no item.
    .order_by(_ITEMS.c.version.desc())
    .limit(1)
)


def lock_row(connection: Connection, lock: Select[Any], parameters: dict[str, Any]) -> None:
    """Take a row lock on PostgreSQL before reading what it guards.

    The lock is a statement of its own because a PostgreSQL SELECT that waited for a row lock
    returns the other rows it joins as they were before it waited: a flag committed meanwhile
    would be missed. The next statement reads with a fresh snapshot. On SQLite there is nothing
    to do: the transaction holds the database's write lock from BEGIN IMMEDIATE.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(lock, parameters)


def locked_code(
    session: Session, institution: Institution, number: AddresseeNumber, *, exclusive: bool
) -> tuple[str, bool]:
    """The institution's 符号 for the addressee and whether it has flagged them, with the row
    locked (shared or exclusive). Raises UnknownAddressee if the number has no 符号 here."""
    connection = session.connection()
    parameters = {"institution_id": institution.id, "addressee_number": str(number)}
    lock_row(connection, LOCK_BY_NUMBER[exclusive], parameters)
    row = connection.execute(CODE_AND_FLAG, parameters).one_or_none()
    if row is None:
        raise UnknownAddressee(institution.code, str(number))
    return row.code, row.flag_id is not None


# ---- 不開示フラグ -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlagReport:
    """The outcome of setting a 不開示フラグ: when it was set, whether this call set it, and how
    many earlier records and 副本 items it flagged retroactively."""

    addressee_number: str
    requested_by: NondisclosureRequester
    set_at: datetime
    newly_set: bool
    records_flagged: int
    items_flagged: int


def set_nondisclosure_flag(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str | AddresseeNumber,
    requested_by: NondisclosureRequester,
    actor: str,
    now: datetime | None = None,
) -> FlagReport:
    """Put the addressee under 不開示 at this institution, and flag, retroactively, every record
    the institution took part in for them and every 副本 item it registered for them.

    Setting it again changes nothing but repeats the retroactive pass (which then finds nothing
    left to flag)."""
    number = parse_addressee_number(addressee_number)
    requested_by = NondisclosureRequester(requested_by)
    code, _ = locked_code(session, institution, number, exclusive=True)
    flag = session.scalars(
        select(NondisclosureFlag).where(
            NondisclosureFlag.institution_id == institution.id,
            NondisclosureFlag.addressee_number == str(number),
        )
    ).one_or_none()
    newly_set = flag is None
    if flag is None:
        flag = NondisclosureFlag(
            institution_id=institution.id,
            addressee_number=str(number),
            requested_by=requested_by,
            set_at=now or utc_now(),
            set_by=actor,
        )
        session.add(flag)
        session.flush()
    records = network_linkage.undisclose_records_of(session, institution=institution, code=code)
    items = session.execute(
        update(SelfInfoItem)
        .where(
            SelfInfoItem.institution_id == institution.id,
            SelfInfoItem.addressee_number == str(number),
            SelfInfoItem.undisclosed == false(),
        )
        .values(undisclosed=True)
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        session,
        actor=actor,
        action="intermediate.nondisclosure_flag_set",
        institution=institution.code,
        subject=addressee_subject(institution.code, number),
        details={
            "newly_set": newly_set,
            "requested_by": requested_by.value,
            "records_flagged": records,
            "items_flagged": items,
        },
    )
    return FlagReport(
        addressee_number=str(number),
        requested_by=NondisclosureRequester(flag.requested_by),
        set_at=flag.set_at,
        newly_set=newly_set,
        records_flagged=records,
        items_flagged=items,
    )


def nondisclosure_flag(
    session: Session, *, institution: Institution, addressee_number: str | AddresseeNumber
) -> NondisclosureFlag | None:
    number = parse_addressee_number(addressee_number)
    return session.scalars(
        select(NondisclosureFlag).where(
            NondisclosureFlag.institution_id == institution.id,
            NondisclosureFlag.addressee_number == str(number),
        )
    ).one_or_none()


def addressee_status(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str | AddresseeNumber,
    actor: str,
) -> tuple[AddresseeNumber, NondisclosureFlag | None]:
    """Whether the institution has flagged one of its addressees, for its staff (audited)."""
    number = parse_addressee_number(addressee_number)
    if code_of(session, institution, number) is None:
        raise UnknownAddressee(institution.code, str(number))
    flag = nondisclosure_flag(session, institution=institution, addressee_number=number)
    audit.record(
        session,
        actor=actor,
        action="intermediate.addressee_read",
        institution=institution.code,
        subject=addressee_subject(institution.code, number),
    )
    return number, flag


# ---- 副本 ------------------------------------------------------------------------------------


def register_self_info(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str | AddresseeNumber,
    item_code: str,
    content: Any,
    publish_from: date,
    publish_until: date | None = None,
    undisclosed: bool = False,
    actor: str,
    legal_basis: LegalBasisTable | None = None,
    now: datetime | None = None,
) -> SelfInfoItem:
    """Register a new version of a 副本 item. If the institution has flagged the person, the item
    is 不開示 whatever ``undisclosed`` says."""
    number = parse_addressee_number(addressee_number)
    _check_item_code(institution, item_code, legal_basis or shipped_legal_basis())
    text = canonical_content(content)
    if publish_until is not None and publish_until < publish_from:
        raise InvalidSelfInfo(
            "公開終了日",
            f"{publish_until} は公開開始日 {publish_from} より前です "
            "(publication cannot end before it starts)",
        )
    _, flagged = locked_code(session, institution, number, exclusive=True)
    latest = session.scalar(
        select(func.max(SelfInfoItem.version)).where(
            SelfInfoItem.institution_id == institution.id,
            SelfInfoItem.addressee_number == str(number),
            SelfInfoItem.item_code == item_code,
        )
    )
    item = SelfInfoItem(
        institution_id=institution.id,
        addressee_number=str(number),
        item_code=item_code,
        version=(latest or 0) + 1,
        content=text,
        publish_from=publish_from,
        publish_until=publish_until,
        undisclosed=undisclosed or flagged,
        registered_at=now or utc_now(),
        registered_by=actor,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="intermediate.self_info_registered",
        institution=institution.code,
        subject=addressee_subject(institution.code, number),
        details={
            "item": item.id,
            "item_code": item_code,
            "version": item.version,
            "undisclosed": item.undisclosed,
            "by_flag": flagged and not undisclosed,
        },
    )
    return item


def _check_item_code(institution: Institution, item_code: str, table: LegalBasisTable) -> None:
    if not ITEM_CODE.fullmatch(item_code):
        raise InvalidSelfInfo(
            "特定個人情報名コード",
            f"{item_code!r}: TM に続けて 14 桁の数字のはずです "
            "(item code should be TM followed by 14 digits)",
        )
    if table.item_name(item_code) is None:
        raise InvalidSelfInfo(
            "特定個人情報名コード",
            f"{item_code}: 法令根拠表にない特定個人情報です "
            "(no row of the legal basis table names this item)",
        )
    if not table.may_provide(institution, item_code):
        raise InvalidSelfInfo(
            "特定個人情報名コード",
            f"{item_code} ({table.item_name(item_code)}): {institution.name} ({institution.code})"
            " はこの特定個人情報の提供者として法令根拠表にありません"
            " (the legal basis table has no row in which this institution provides this item)",
        )


def canonical_content(content: Any) -> str:
    """The 副本 content as canonical JSON: an object, at most MAX_CONTENT_CHARACTERS long, and
    with no 個人番号 in it (the intermediate server must never hold one)."""
    if not isinstance(content, dict):
        raise InvalidSelfInfo(
            "内容", "JSON のオブジェクトで指定してください (content must be a JSON object)"
        )
    try:
        text = json.dumps(
            content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
        )
    except (TypeError, ValueError) as error:
        raise InvalidSelfInfo(
            "内容", f"JSON で表せない値があります (content is not JSON: {error})"
        ) from error
    if len(text) > MAX_CONTENT_CHARACTERS:
        raise InvalidSelfInfo(
            "内容",
            f"{MAX_CONTENT_CHARACTERS:,} 文字以内のはずですが {len(text):,} 文字です "
            f"(content should be at most {MAX_CONTENT_CHARACTERS:,} characters)",
        )
    for candidate in _TWELVE_DIGITS.findall(unicodedata.normalize("NFKC", text)):
        try:
            MyNumber(candidate)
        except InvalidIdentifier:
            continue
        # The number itself is not repeated: an error message must not carry a 個人番号.
        raise InvalidSelfInfo(
            "内容",
            "個人番号と思われる 12 桁の数字があります。副本に個人番号は含められません "
            "(content contains what looks like a My Number; 副本 must never hold one)",
        )
    return text


def undisclose_self_info_item(
    session: Session, *, institution: Institution, item_id: int, actor: str
) -> SelfInfoItem:
    """Flag one 副本 item 不開示 by hand."""
    item = session.get(SelfInfoItem, item_id, with_for_update=True)
    if item is None or item.institution_id != institution.id:
        raise UnknownSelfInfoItem(item_id)
    already = item.undisclosed
    item.undisclosed = True
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="intermediate.self_info_undisclosed",
        institution=institution.code,
        subject=addressee_subject(institution.code, item.addressee_number),
        details={"item": item.id, "already": already},
    )
    return item


def self_info_history(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str | AddresseeNumber,
    actor: str,
) -> list[SelfInfoItem]:
    """Every version of every 副本 item the institution registered for the addressee, for its
    staff (flags included). Not for the portal."""
    number = parse_addressee_number(addressee_number)
    if code_of(session, institution, number) is None:
        raise UnknownAddressee(institution.code, str(number))
    items = list(
        session.scalars(
            select(SelfInfoItem)
            .where(
                SelfInfoItem.institution_id == institution.id,
                SelfInfoItem.addressee_number == str(number),
            )
            .order_by(SelfInfoItem.item_code, SelfInfoItem.version)
        )
    )
    audit.record(
        session,
        actor=actor,
        action="intermediate.self_info_read",
        institution=institution.code,
        subject=addressee_subject(institution.code, number),
        details={"count": len(items)},
    )
    return items


def records_of_addressee(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str | AddresseeNumber,
    actor: str,
) -> list[network_linkage.RecordView]:
    """The 情報提供等記録 the institution took part in for the addressee, for its staff."""
    number = parse_addressee_number(addressee_number)
    code = code_of(session, institution, number)
    if code is None:
        raise UnknownAddressee(institution.code, str(number))
    records = network_linkage.records_involving(session, institution_id=institution.id, code=code)
    audit.record(
        session,
        actor=actor,
        action="linkage.records_read",
        institution=institution.code,
        subject=addressee_subject(institution.code, number),
        details={"count": len(records)},
    )
    return records
