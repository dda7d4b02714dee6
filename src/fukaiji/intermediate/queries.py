"""情報照会 and 情報提供 from end to end: the requester's intermediate server, the network, and the
provider's intermediate server.

This is the service a route calls. The requester's intermediate server turns the addressee number
into its 符号 and says whether its side is 不開示 (the staff member's choice, or always if the
institution has flagged the person); the network checks the legal basis and relays; the provider's
intermediate server answers with the current 副本 and says whether its side is 不開示 (always if
it has flagged the person, or if the item answered with is 不開示).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from fukaiji import events
from fukaiji.db.base import utc_now
from fukaiji.events import PersonEvent, PersonEventKind
from fukaiji.identifiers import AddresseeNumber
from fukaiji.intermediate.errors import UnknownAddressee
from fukaiji.intermediate.models import Addressee, IntermediateCode
from fukaiji.intermediate.service import (
    CODE_AND_FLAG,
    LOCK_BY_CODE,
    LOCK_BY_NUMBER,
    PROVIDER_ANSWER,
    addressee_subject,
    lock_row,
    parse_addressee_number,
    tokyo_date,
)
from fukaiji.network import linkage as network_linkage
from fukaiji.network.legal_basis import LegalBasisTable
from fukaiji.network.linkage import InstitutionRef, Provide, Provision, QueryResult
from fukaiji.network.models import Institution
from fukaiji.registry.models import Residence


def query(
    session: Session,
    *,
    requester: Institution,
    addressee_number: str | AddresseeNumber,
    provider_code: str | None,
    affair_code: str,
    item_code: str,
    undisclosed: bool = False,
    actor: str,
    legal_basis: LegalBasisTable | None = None,
    now: datetime | None = None,
) -> QueryResult:
    """情報照会: ask ``provider_code`` for ``item_code`` about one of the requester's addressees,
    under ``affair_code``. Makes one 情報提供等記録 whether data comes back or not.
    ``provider_code`` None: the network routes the query to the municipality of residence.

    A query that reached a provider is announced (``PersonEventKind.QUERY``), so that every desk
    protecting the person is told who asked under which legal-basis row.

    Raises UnknownAddressee if the requester has not enrolled the number, and QueryNotPermitted
    (audited: commit it) if the legal basis table does not allow the query.
    """
    now = now or utc_now()
    number = parse_addressee_number(addressee_number)
    code, flagged, person_id = _locked_code_and_person(session, requester, number)
    result = network_linkage.relay_query(
        session,
        requester=InstitutionRef.of(requester),
        requester_code=code,
        provider_code=provider_code,
        affair_code=affair_code,
        item_code=item_code,
        requester_undisclosed=undisclosed or flagged,
        provide=provider_answer(session, tokyo_date(now)),
        residence=lambda: residence_code(session, person_id),
        actor=actor,
        subject=addressee_subject(requester.code, number),
        legal_basis=legal_basis,
        now=now,
    )
    events.announce(
        session,
        PersonEvent(
            kind=PersonEventKind.QUERY,
            person_id=person_id,
            institution_code=requester.code,
            actor=actor,
            at=now,
            details={
                "legal_basis_entry": result.legal_basis_entry,
                "affair_name": result.affair_name,
                "item_name": result.item_name,
            },
        ),
    )
    return result


# ``locked_code`` and the person behind the number in one round trip, built once: this is the
# path of every 情報照会.
_ADDRESSEES = Addressee.__table__
_CODES = IntermediateCode.__table__
_CODE_FLAG_AND_PERSON = CODE_AND_FLAG.add_columns(_ADDRESSEES.c.person_id).join(
    _ADDRESSEES,
    and_(
        _ADDRESSEES.c.institution_id == _CODES.c.institution_id,
        _ADDRESSEES.c.addressee_number == _CODES.c.addressee_number,
    ),
)
_RESIDENCE = select(Residence.__table__.c.municipality_code).where(
    Residence.__table__.c.person_id == bindparam("person_id"),
    Residence.__table__.c.moved_out_on.is_(None),
)


def _locked_code_and_person(
    session: Session, institution: Institution, number: AddresseeNumber
) -> tuple[str, bool, uuid.UUID]:
    """As ``locked_code`` (shared lock), with the person behind the number."""
    connection = session.connection()
    parameters = {"institution_id": institution.id, "addressee_number": str(number)}
    lock_row(connection, LOCK_BY_NUMBER[False], parameters)
    row = connection.execute(_CODE_FLAG_AND_PERSON, parameters).one_or_none()
    if row is None:
        raise UnknownAddressee(institution.code, str(number))
    return row.code, row.flag_id is not None, row.person_id


def residence_code(session: Session, person_id: uuid.UUID) -> str | None:
    """Where the person lives now, for the network's routing only (never shown to staff)."""
    return session.connection().execute(_RESIDENCE, {"person_id": person_id}).scalar()


def provider_answer(session: Session, on: date) -> Provide:
    """The provider's intermediate server, as the network calls it."""

    def provide(provider: InstitutionRef, code: str, item_code: str) -> Provision | None:
        connection = session.connection()
        holder = {"institution_id": provider.id, "code": code}
        lock_row(connection, LOCK_BY_CODE, holder)
        answer = connection.execute(
            PROVIDER_ANSWER, {**holder, "item_code": item_code, "on": on}
        ).one_or_none()
        if answer is None:
            return None
        flagged = answer.flag_id is not None
        if answer.version is None:
            return Provision(content_json=None, version=None, undisclosed=flagged)
        return Provision(
            content_json=answer.content,
            version=answer.version,
            undisclosed=flagged or answer.undisclosed,
        )

    return provide
