"""見守り (watching over a protected person from the desk): what other institutions do about her
reaches the desks that protect her.

The register, the network and the staff reads announce person events (``fukaiji.events``); this
listener turns those about a protected person into messages to each registering desk:
- her 転出 and 転入 (the protection goes on; the desk may need to change the region);
- every 情報照会 about her that reached a provider, with who asked under which legal-basis row
  (the law still requires an answer, so the desk is told rather than the query refused);
- alerts: a 転入 tried without her 転出, a new addressee number given her elsewhere (the step
  before a desk may register her), a protection registered or refused elsewhere, a change of
  region at another desk, and repeated lookups or queries from outside in a short time.

Only activity from outside the protecting institution is counted for alerts: a desk's own
colleagues looking her up are the institution's own business (機関内での情報共有). No message
carries the region; a move names the municipalities, which the desk needs to act.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from fukaiji import audit, events
from fukaiji.events import PersonEvent, PersonEventKind
from fukaiji.identifiers import InvalidIdentifier, lookup_local_government
from fukaiji.network.models import Institution
from fukaiji.protection.models import DeskMessage, OutsideActivity, Protection
from fukaiji.protection.service import judge, protection_subject
from fukaiji.protection.states import DeskMessageKind

ALERT_WINDOW = timedelta(days=7)
ALERT_THRESHOLD = 3  # lookups or queries from outside within the window that raise an alert
COUNTED = (PersonEventKind.LOOKUP, PersonEventKind.QUERY)


# Asked for every person event (every 情報照会 among them), and almost always answered "none":
# built once, and read without the ORM.
_ANY_PROTECTION = select(Protection.__table__.c.id).where(
    Protection.__table__.c.person_id == bindparam("person_id")
)


@events.listen
def on_person_event(session: Session, event: PersonEvent) -> None:
    if (
        session.connection().execute(_ANY_PROTECTION, {"person_id": event.person_id}).first()
        is None
    ):
        return
    protections = session.scalars(
        select(Protection).where(Protection.person_id == event.person_id).order_by(Protection.id)
    ).all()
    for protection in protections:
        _tell(session, protection, event)


def _tell(session: Session, protection: Protection, event: PersonEvent) -> None:
    own = session.get_one(Institution, protection.institution_id)
    outside = event.institution_code != own.code
    kind, body = _message(session, protection, event, outside)
    if kind is not None and body is not None:
        _add_message(session, protection, own, kind, body, event)
    if outside and event.kind in COUNTED:
        _count_and_alert(session, protection, own, event)


def _message(
    session: Session, protection: Protection, event: PersonEvent, outside: bool
) -> tuple[DeskMessageKind | None, str | None]:
    who = f"宛名番号 {protection.addressee_number} の方"
    actor = _institution_name(session, event.institution_code)
    match event.kind:
        case PersonEventKind.MOVE_OUT:
            destination = _place(event.details.get("destination"))
            planned = event.details.get("planned_on")
            by = "ご本人がマイナポータルで" if event.institution_code is None else f"{actor}が"
            return DeskMessageKind.MOVED_OUT, (
                f"{who}について、{by}転出届を受け付けました（転出先: {destination}、"
                f"転出予定日: {planned}）。保護は続いています。"
                "保護地域の見直しが必要か確認してください。"
            )
        case PersonEventKind.MOVE_IN:
            return DeskMessageKind.MOVED_IN, (
                f"{who}について、{actor}で転入の届出が完了しました。保護は続いています。"
                "保護地域の見直しが必要か確認してください。"
            )
        case PersonEventKind.MOVE_REFUSED:
            return DeskMessageKind.ALERT, _refused_move(who, actor, event.details.get("reason"))
        case PersonEventKind.QUERY if outside:
            return DeskMessageKind.QUERY, (
                f"{who}について、{actor}から情報照会がありました（法令根拠表の第"
                f"{event.details.get('legal_basis_entry')}項: {event.details.get('affair_name')}、"
                f"{event.details.get('item_name')}）。"
            )
        case PersonEventKind.ENROLLED if outside:
            return DeskMessageKind.ALERT, (
                f"{actor}が、{who}に宛名番号を付番しました（その機関で初めて扱う方として登録"
                "されました）。心当たりがなければ、相手の機関に確認してください。"
            )
        case PersonEventKind.PROTECTION_REGISTERED if outside:
            return DeskMessageKind.ALERT, (
                f"{actor}の窓口が、{who}を保護対象者として登録しました。"
            )
        case PersonEventKind.PROTECTION_REFUSED if outside:
            return DeskMessageKind.ALERT, (
                f"注意: {actor}の窓口が、自機関の住民でも宛名番号の対象者でもない{who}を"
                "保護対象者として登録しようとしました。登録は拒否されました。"
            )
        case PersonEventKind.REGION_CHANGED if outside:
            return DeskMessageKind.REGION_CHANGED, (
                f"{actor}の窓口が、{who}の保護地域を変更しました。"
                "必要に応じて、自機関の保護地域も見直してください。"
            )
    return None, None


_MOVE_REFUSALS = {
    "no_move_out": "転出届のない転入を記録しようとしました",
    "future_date": "未来の日付で転入を記録しようとしました",
    "out_of_period": "届出期間を過ぎた転入を記録しようとしました",
    "already_resident": "すでに住民である方の転入を記録しようとしました",
    "held_for_protection": (
        "マイナポータルで出された転出届による転入を記録しようとしました。利用停止手続が"
        "終わっていないため、カードを持つ加害者が出した届出のおそれがあり、転入を止めました。"
        "ご本人の意思による転居であれば、ご本人に新しい住所地の窓口で手続していただいてください"
    ),
}


def _refused_move(who: str, actor: str, reason: object) -> str:
    what = _MOVE_REFUSALS.get(str(reason), _MOVE_REFUSALS["no_move_out"])
    return (
        f"注意: {actor}が、{who}について{what}。転入は拒否されました。"
        "心当たりがなければ、相手の機関に確認してください。"
    )


@events.objector
def hold_portal_move_in(session: Session, event: PersonEvent) -> str | None:
    """A 転入 completing a 転出届 made on the portal is held while any protection of hers still
    has a perpetrator path open: the card that made it may be in his hands, and the destination
    would receive the shelter's address as the 前住所."""
    if event.kind is not PersonEventKind.MOVE_IN:
        return None
    protections = session.scalars(
        select(Protection).where(Protection.person_id == event.person_id)
    ).all()
    if any(not judge(session, protection)[2].complete for protection in protections):
        return "usage_stop_incomplete"
    return None


def _count_and_alert(
    session: Session, protection: Protection, own: Institution, event: PersonEvent
) -> None:
    session.add(
        OutsideActivity(
            protection_id=protection.id,
            kind=event.kind.value,
            institution_code=event.institution_code,
            at=event.at,
        )
    )
    session.flush()
    recent = session.scalar(
        select(func.count())
        .select_from(OutsideActivity)
        .where(
            OutsideActivity.protection_id == protection.id,
            OutsideActivity.kind == event.kind.value,
            OutsideActivity.at > event.at - ALERT_WINDOW,
        )
    )
    # Once when the burst reaches the threshold, and again each time it doubles: a desk is
    # warned without being flooded.
    if recent is None or recent < ALERT_THRESHOLD or not _power_of_two(recent // ALERT_THRESHOLD):
        return
    what = "照会（住民の検索）" if event.kind is PersonEventKind.LOOKUP else "情報照会"
    latest = _institution_name(session, event.institution_code)
    body = (
        f"注意: 宛名番号 {protection.addressee_number} の方について、この 7 日間に他の機関から"
        f"{what}が {recent} 回ありました（直近: {latest}）。"
        "心当たりがなければ、相手の機関に確認してください。"
    )
    _add_message(session, protection, own, DeskMessageKind.ALERT, body, event)


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _add_message(
    session: Session,
    protection: Protection,
    own: Institution,
    kind: DeskMessageKind,
    body: str,
    event: PersonEvent,
) -> None:
    session.add(
        DeskMessage(
            department_id=protection.department_id,
            protection_id=protection.id,
            kind=kind.value,
            body=body,
            created_at=event.at,
        )
    )
    audit.record(
        session,
        actor="system:protection",
        action=f"protection.told_{kind.value}",
        institution=own.code,
        subject=protection_subject(protection.id),
        details={"event": event.kind.value, "by": event.institution_code or "person"},
        at=event.at,
    )
    session.flush()


def _institution_name(session: Session, code: str | None) -> str:
    if code is None:
        return "ご本人"
    name = session.scalar(select(Institution.name).where(Institution.code == code))
    return name or code


def _place(code: object) -> str:
    try:
        return lookup_local_government(str(code)).name
    except InvalidIdentifier:
        return str(code)
