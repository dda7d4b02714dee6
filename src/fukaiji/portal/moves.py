"""引越し手続 on マイナポータル: the person herself, logged in with her card and in her own folder,
files her 転出届 (the destination and the 転出予定日) or cancels it. The 転入 is then completed at
the window of the destination (``fukaiji.registry.moves``).

A proxy cannot do it (refused and audited, as for settings). And since the portal cannot tell the
person from someone holding her card, nothing here says where she lives, nor where she is going:
the registry checks nothing on this channel that depends on her current address, and the open
転出届 is shown by its planned day only, never by its destination.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from fukaiji.db.base import utc_now
from fukaiji.identifiers import find_local_governments
from fukaiji.portal._common import log_access, require_own_folder, session_actor
from fukaiji.portal.errors import InvalidInput
from fukaiji.portal.models import PortalSession
from fukaiji.portal.states import AccessAction
from fukaiji.registry import moves
from fukaiji.registry.models import MoveOut, MoveOutChannel

WHAT_JA, WHAT_EN = "引越し手続（転出届）", "filing a move-out"
DESTINATION = "destination"


@dataclass(frozen=True, slots=True)
class MoveOutStatus:
    """The open 転出届 as the portal shows it: when, and where it was made; not where to."""

    planned_on: date
    channel: MoveOutChannel
    recorded_at: datetime

    @classmethod
    def of(cls, move_out: MoveOut) -> MoveOutStatus:
        return cls(
            planned_on=move_out.planned_on,
            channel=MoveOutChannel(move_out.channel),
            recorded_at=move_out.recorded_at,
        )


def destination_code(text: str) -> str:
    """The municipality typed on the form: a 6-digit code, or a name (東京都府中市, 堺市)."""
    typed = unicodedata.normalize("NFKC", text).strip()
    if typed.isdecimal():
        return typed  # the register checks the code itself
    found = [g for g in find_local_governments(typed) if not g.is_prefecture] if typed else []
    if not found:
        raise InvalidInput(
            DESTINATION,
            "転出先の市区町村が見つかりません。都道府県名から（例: ○○県○○市）、"
            "または市区町村コード（6 桁）で入力してください。",
        )
    if len(found) > 1:
        names = "、".join(government.name for government in found)
        raise InvalidInput(
            DESTINATION,
            f"同じ名前の市区町村が複数あります（{names}）。都道府県名から入力してください。",
        )
    return str(found[0].code)


def move_out_status(
    session: Session, portal_session: PortalSession, *, now: datetime | None = None
) -> MoveOutStatus | None:
    """The person's open 転出届, if any (the person only, in her own folder)."""
    require_own_folder(session, portal_session, WHAT_JA, WHAT_EN, now or utc_now())
    move_out = moves.open_move_out(session, portal_session.person_id)
    return None if move_out is None else MoveOutStatus.of(move_out)


def file_move_out(
    session: Session,
    portal_session: PortalSession,
    *,
    destination: str,
    planned_on: date,
    now: datetime | None = None,
) -> MoveOutStatus:
    """The person files her 転出届 herself (refused to a proxy, audited)."""
    now = now or utc_now()
    require_own_folder(session, portal_session, WHAT_JA, WHAT_EN, now)
    move_out = moves.record_move_out(
        session,
        person_id=portal_session.person_id,
        destination_code=destination_code(destination),
        planned_on=planned_on,
        actor=session_actor(portal_session),
        municipality_code=None,
        now=now,
    )
    log_access(
        session,
        portal_session.account_id,
        AccessAction.MOVE_OUT_FILED,
        actor_person_id=portal_session.person_id,
        now=now,
    )
    return MoveOutStatus.of(move_out)


def cancel_move_out(
    session: Session, portal_session: PortalSession, *, now: datetime | None = None
) -> None:
    """The person cancels her open 転出届 (whether made here or at the window)."""
    now = now or utc_now()
    require_own_folder(session, portal_session, WHAT_JA, WHAT_EN, now)
    moves.cancel_move_out(
        session,
        person_id=portal_session.person_id,
        actor=session_actor(portal_session),
        municipality_code=None,
        now=now,
    )
    log_access(
        session,
        portal_session.account_id,
        AccessAction.MOVE_OUT_CANCELLED,
        actor_person_id=portal_session.person_id,
        now=now,
    )
