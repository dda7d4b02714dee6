"""不開示措置の申出 (a non-disclosure request, 2(1)): at an institution of the shelter area, at
the person's first procedure there — whether or not their residence record has moved — staff
record the request, and the 不開示フラグ is set at the institution's intermediate server.

From then on everything the institution records for the person is 不開示 (fail closed), and what
it recorded before is flagged too; the answer says how many earlier items that was. A supporter
may ask for a person who cannot (2(1)注); who they are and why is kept with the request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from fukaiji.db.base import utc_now
from fukaiji.intermediate import FlagReport, enrol
from fukaiji.intermediate.service import set_nondisclosure_flag
from fukaiji.network.models import Institution
from fukaiji.protection.models import NondisclosureRequest
from fukaiji.protection.service import Requester


@dataclass(frozen=True, slots=True)
class RequestReport:
    request_id: int
    flag: FlagReport

    @property
    def earlier_items_flagged(self) -> int:
        return self.flag.records_flagged + self.flag.items_flagged


def request_nondisclosure(
    session: Session,
    *,
    institution: Institution,
    person_id: uuid.UUID,
    requester: Requester,
    network_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> RequestReport:
    """Take the request: enrol the person here if this is their first procedure, set the flag
    (retroactively), and keep who asked."""
    now = now or utc_now()
    enrolment = enrol(
        session,
        institution=institution,
        person_id=person_id,
        network_key=network_key,
        actor=actor,
        now=now,
    )
    flag = set_nondisclosure_flag(
        session,
        institution=institution,
        addressee_number=enrolment.addressee_number,
        requested_by=requester.requested_by,
        actor=actor,
        now=now,
    )
    request = NondisclosureRequest(
        institution_id=institution.id,
        addressee_number=str(enrolment.addressee_number),
        requested_by=requester.requested_by.value,
        supporter_body=requester.supporter_body,
        supporter_reason=requester.supporter_reason,
        records_flagged=flag.records_flagged,
        items_flagged=flag.items_flagged,
        recorded_at=now,
        recorded_by=actor,
    )
    session.add(request)
    session.flush()
    return RequestReport(request.id, flag)
