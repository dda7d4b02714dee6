"""The notice sending gate (送信ゲート) of an institution's intermediate server.

Every お知らせ leaves the institution through here, one addressee at a time, at the moment of
sending. The gate asks the exclusion list again, whatever screening said before (DESIGN §2, fail
closed): a stale or unscreened destination file cannot reach a 留意すべき対象者. If the question
cannot be answered — the list cannot be read — the gate raises ``GateClosed`` and nothing is sent.

The intermediate server sits below the protection desk and the portal, so both the question and
the delivery are handed in by the caller (``fukaiji.notices``): ``is_excluded`` (the exclusion
list's answer for this notice) and ``deliver`` (putting the message into the person's portal
inbox; False when they have no live folder). The gate delivers only to an addressee it holds a
機関別符号 for: the portal is reached through the 符号, never through a 個人番号.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.intermediate.addressees import person_of
from fukaiji.intermediate.errors import IntermediateError, UnknownAddressee
from fukaiji.intermediate.service import addressee_subject, code_of, parse_addressee_number
from fukaiji.network.models import Institution


class GateOutcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # on the exclusion list at the moment of sending
    NO_ACCOUNT = "no_account"  # no live portal folder: recorded as not delivered

    @property
    def label(self) -> str:
        return _LABELS[self.value]


_LABELS = {"sent": "送信済み", "blocked": "送信停止", "no_account": "未送達（アカウントなし）"}


class GateClosed(IntermediateError):
    """The exclusion list could not be read: nothing may be sent (fail closed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "送信ゲート",
            "除外リストを確認できないため送信を停止しました"
            f" (the exclusion list could not be read; nothing sent): {reason}",
        )


def pass_gate(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str,
    is_excluded: Callable[[str], bool],
    deliver: Callable[[uuid.UUID], bool],
    notice_ref: str,
    actor: str,
) -> GateOutcome:
    """Send one notice to one addressee, or block it. Blocks are audited; what is sent is audited
    by the delivery itself."""
    number = parse_addressee_number(addressee_number)
    if code_of(session, institution, number) is None:
        raise UnknownAddressee(institution.code, str(number))
    try:
        excluded = is_excluded(str(number))
    except Exception as error:  # whatever broke, the one safe answer is not to send
        raise GateClosed(type(error).__name__) from error
    if excluded:
        audit.record(
            session,
            actor=actor,
            action="intermediate.gate_blocked",
            institution=institution.code,
            subject=addressee_subject(institution.code, number),
            details={"notice": notice_ref},
        )
        return GateOutcome.BLOCKED
    person_id = person_of(session, institution=institution, addressee_number=number)
    return GateOutcome.SENT if deliver(person_id) else GateOutcome.NO_ACCOUNT
