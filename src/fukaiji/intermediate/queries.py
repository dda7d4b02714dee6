"""情報照会 and 情報提供 from end to end: the requester's intermediate server, the network, and the
provider's intermediate server.

This is the service a route calls. The requester's intermediate server turns the addressee number
into its 符号 and says whether its side is 不開示 (the staff member's choice, or always if the
institution has flagged the person); the network checks the legal basis and relays; the provider's
intermediate server answers with the current 副本 and says whether its side is 不開示 (always if
it has flagged the person, or if the item answered with is 不開示).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from fukaiji.db.base import utc_now
from fukaiji.identifiers import AddresseeNumber
from fukaiji.intermediate.service import (
    LOCK_BY_CODE,
    PROVIDER_ANSWER,
    addressee_subject,
    lock_row,
    locked_code,
    parse_addressee_number,
    tokyo_date,
)
from fukaiji.network import linkage as network_linkage
from fukaiji.network.legal_basis import LegalBasisTable
from fukaiji.network.linkage import InstitutionRef, Provide, Provision, QueryResult
from fukaiji.network.models import Institution


def query(
    session: Session,
    *,
    requester: Institution,
    addressee_number: str | AddresseeNumber,
    provider_code: str,
    affair_code: str,
    item_code: str,
    undisclosed: bool = False,
    actor: str,
    legal_basis: LegalBasisTable | None = None,
    now: datetime | None = None,
) -> QueryResult:
    """情報照会: ask ``provider_code`` for ``item_code`` about one of the requester's addressees,
    under ``affair_code``. Makes one 情報提供等記録 whether data comes back or not.

    Raises UnknownAddressee if the requester has not enrolled the number, and QueryNotPermitted
    (audited: commit it) if the legal basis table does not allow the query.
    """
    now = now or utc_now()
    number = parse_addressee_number(addressee_number)
    code, flagged = locked_code(session, requester, number, exclusive=False)
    return network_linkage.relay_query(
        session,
        requester=InstitutionRef.of(requester),
        requester_code=code,
        provider_code=provider_code,
        affair_code=affair_code,
        item_code=item_code,
        requester_undisclosed=undisclosed or flagged,
        provide=provider_answer(session, tokyo_date(now)),
        actor=actor,
        subject=addressee_subject(requester.code, number),
        legal_basis=legal_basis,
        now=now,
    )


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
