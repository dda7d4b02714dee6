"""The notice sending gate (送信ゲート) of an institution's intermediate server.

Every お知らせ leaves the institution through here, at the moment of sending, a send job's batch
at a time: one exclusion question for the whole batch, so that a notice to millions of
addressees of a national body is not millions of questions. The gate asks the exclusion list
again, whatever screening said before (DESIGN §2, fail closed): a stale or unscreened
destination file cannot reach a 留意すべき対象者. If the question cannot be answered — the list
cannot be read — the gate raises ``GateClosed`` and nothing of the batch is sent.

The intermediate server sits below the protection desk and the portal, so both the question and
the delivery are handed in by the caller (``fukaiji.notices``): ``excluded_among`` (the
exclusion list's answer for this notice and these addressees) and ``deliver`` (putting the
message into the persons' portal inboxes; only those with a live folder receive it). The gate
delivers only to an addressee it holds a 機関別符号 for: the portal is reached through the 符号,
never through a 個人番号.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum

from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.intermediate.addressees import persons_reachable
from fukaiji.intermediate.errors import IntermediateError, UnknownAddressee
from fukaiji.intermediate.service import addressee_subject, parse_addressee_number
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
            f"除外リストを確認できないため、送信を停止しました。何も送信していません: {reason}",
        )


def pass_gate(
    session: Session,
    *,
    institution: Institution,
    addressee_numbers: Sequence[str],
    excluded_among: Callable[[Sequence[str]], set[str]],
    deliver: Callable[[Mapping[str, uuid.UUID]], set[str]],
    notice_ref: str,
    actor: str,
) -> dict[str, GateOutcome]:
    """Send one notice to a batch of addressees, blocking each one the exclusion list names now.
    The whole batch fails (``UnknownAddressee``, ``GateClosed``) before anything is sent if one
    number cannot be reached or the list cannot be read. Blocks are audited; what is sent is
    audited by the delivery itself."""
    numbers = [str(parse_addressee_number(number)) for number in addressee_numbers]
    persons = persons_reachable(session, institution=institution, addressee_numbers=numbers)
    for number in numbers:
        if number not in persons:
            raise UnknownAddressee(institution.code, number)
    try:
        excluded = excluded_among(numbers)
    except Exception as error:  # whatever broke, the one safe answer is not to send
        raise GateClosed(type(error).__name__) from error
    for number in numbers:
        if number in excluded:
            audit.record(
                session,
                actor=actor,
                action="intermediate.gate_blocked",
                institution=institution.code,
                subject=addressee_subject(institution.code, number),
                details={"notice": notice_ref},
            )
    delivered = deliver({number: persons[number] for number in numbers if number not in excluded})
    return {
        number: GateOutcome.BLOCKED
        if number in excluded
        else GateOutcome.SENT
        if number in delivered
        else GateOutcome.NO_ACCOUNT
        for number in numbers
    }
