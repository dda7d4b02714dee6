"""符号取得 (issuing 機関別符号) and the network's reference to a person.

A 機関別符号 is HMAC-SHA256 under the network key over (institution, person register id): a
different, unrelated code at every institution, which nobody without the key can link or reverse.
The network keeps, for every code it issued, the institution and a ``person_ref``: another keyed
hash of the register id, under a separate domain, that ties together the codes of one person so
that a query can be relayed from the requester's code to the provider's. The network never sees
or keeps a 個人番号 and does not keep the register id either; it is given the id only at the
moment of issue (our stand-in for the 住民票コード route of the real 符号取得).

The key is ``settings.derive_key(NETWORK_KEY_PURPOSE)``, passed in by the web and CLI layers.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.identifiers import InstitutionSpecificCode
from fukaiji.network.models import CodeIssuance, Institution

NETWORK_KEY_PURPOSE = "network-fugo"
_PERSON_REF_DOMAIN = b"fukaiji/network-person-ref/v1:"


def person_reference(network_key: bytes, person_id: uuid.UUID) -> str:
    """The network's opaque reference to a person: 64 hex digits, not reversible without the key
    and unlike any 機関別符号 (a separate HMAC domain)."""
    message = _PERSON_REF_DOMAIN + str(person_id).encode("ascii")
    return hmac.new(network_key, message, hashlib.sha256).hexdigest()


def issue_code(
    session: Session,
    *,
    network_key: bytes,
    institution: Institution,
    person_id: uuid.UUID,
    actor: str,
    now: datetime | None = None,
) -> InstitutionSpecificCode:
    """The person's 機関別符号 at ``institution``, issued and logged the first time it is asked
    for; asking again returns the same code."""
    code = InstitutionSpecificCode.derive(network_key, institution.code, str(person_id))
    if _issued(session, code) is not None:
        return code
    issuance = CodeIssuance(
        institution_id=institution.id,
        code=str(code),
        person_ref=person_reference(network_key, person_id),
        issued_at=now or utc_now(),
    )
    try:
        # Two desks enrolling the same person at once: the loser finds the winner's row.
        with session.begin_nested():
            session.add(issuance)
    except IntegrityError:
        if _issued(session, code) is None:
            raise
        return code
    audit.record(
        session,
        actor=actor,
        action="network.code_issued",
        institution=institution.code,
        subject=f"code-issuance:{issuance.id}",
    )
    return code


def _issued(session: Session, code: InstitutionSpecificCode) -> int | None:
    return session.scalar(select(CodeIssuance.id).where(CodeIssuance.code == str(code)))
