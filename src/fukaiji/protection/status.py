"""Where a protected person stands now: the live state, the usage-stop status (利用停止手続) and
the guidance — and the one place that notices when the status changes.

The status is always derived at the moment of asking (DESIGN §2: derived, not ticked). The
protection row only remembers the last answer seen, so that a change is announced once: when the
usage-stop becomes complete, the exclusion from destination files lifts by itself (別添2(4)) and
the registering desk is told; if the state slips back (say, a new proxy grant), the exclusion is
back at once — because it was never stored — and the desk is told that too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.network.models import Institution
from fukaiji.protection.facts import CaseFacts, LiveState
from fukaiji.protection.guidance import Step, guidance
from fukaiji.protection.models import DeskMessage, Protection
from fukaiji.protection.service import judge, protection_subject
from fukaiji.protection.states import DeskMessageKind
from fukaiji.protection.usage_stop import UsageStop


@dataclass(frozen=True, slots=True)
class ProtectionStatus:
    facts: CaseFacts
    state: LiveState
    usage_stop: UsageStop
    steps: tuple[Step, ...]

    @property
    def excluded(self) -> bool:
        """Kept out of destination files until the usage-stop is complete (別添2(3)(4))."""
        return not self.usage_stop.complete


def current_status(session: Session, protection: Protection) -> ProtectionStatus:
    """Read the live state and judge it; records a change of the usage-stop status if there is
    one (see ``observe``)."""
    facts, state, stop = judge(session, protection)
    status = ProtectionStatus(facts, state, stop, tuple(guidance(facts, state)))
    observe(session, protection, status)
    return status


def observe(
    session: Session, protection: Protection, status: ProtectionStatus, now: datetime | None = None
) -> bool:
    """Announce a change of the usage-stop status since it was last seen: an audit entry and a
    message to the registering desk. Returns whether it changed."""
    complete = status.usage_stop.complete
    if complete == protection.usage_stop_complete_seen:
        return False
    protection.usage_stop_complete_seen = complete
    kind = DeskMessageKind.EXCLUSION_LIFTED if complete else DeskMessageKind.EXCLUSION_RESTORED
    institution = session.get_one(Institution, protection.institution_id)
    session.add(
        DeskMessage(
            department_id=protection.department_id,
            protection_id=protection.id,
            kind=kind.value,
            body=_message_body(protection, status, kind),
            created_at=now or utc_now(),
        )
    )
    audit.record(
        session,
        actor="system:protection",
        action=f"protection.{kind.value}",
        institution=institution.code,
        subject=protection_subject(protection.id),
        details={"open_paths": len(status.usage_stop.open_paths)},
    )
    session.flush()
    return True


def _message_body(protection: Protection, status: ProtectionStatus, kind: DeskMessageKind) -> str:
    who = f"宛名番号 {protection.addressee_number} の方"
    if kind is DeskMessageKind.EXCLUSION_LIFTED:
        return (
            f"{who}の利用停止手続が完了しました。お知らせの宛先からの除外は自動的に解除されました"
            "（別添2(4)）。"
        )
    paths = "、".join(path.split(" (")[0] for path in status.usage_stop.open_paths)
    return (
        f"{who}について、加害者がマイナポータルを見られる経路が再び開いています（{paths}）。"
        "お知らせの宛先からの除外を自動的に再開しました。案内を確認してください。"
    )
