"""Protected persons (設定対象者 / 留意すべき対象者) at an institution: registering them with the
case facts and the protected region, and who may see what (機関内での情報共有).

Need to know (DESIGN §2): only the registering desk — staff of the department that registered
the person — sees the case facts and the region. Any other department of the same institution
learns only that the person is to be watched. Another institution learns nothing, not even
whether a protection exists: it is told "not found" exactly as for an id that names nothing.
Every read, and every refused attempt, is written to the audit log; no audit entry carries the
region or the facts, since the log itself is read by administrators.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji import audit, events
from fukaiji.db.base import utc_now
from fukaiji.events import PersonEvent, PersonEventKind
from fukaiji.intermediate import NondisclosureRequester, enrol
from fukaiji.intermediate.models import Addressee
from fukaiji.intermediate.service import addressee_subject, tokyo_date
from fukaiji.network.models import Department, Institution, InstitutionKind
from fukaiji.protection.errors import (
    InvalidProtection,
    NotOwnPerson,
    ProtectionAccessDenied,
    ProtectionExists,
    UnknownProtection,
)
from fukaiji.protection.facts import CaseFacts, LiveState
from fukaiji.protection.live_state import read_live_state
from fukaiji.protection.models import ProtectedRegionCode, Protection, risk_since_of
from fukaiji.protection.region import ProtectedRegion, parse_region
from fukaiji.protection.usage_stop import UsageStop, usage_stop
from fukaiji.registry.models import Person, Residence
from fukaiji.registry.service import person_subject

MAX_SUPPORTER_BODY = 200
MAX_SUPPORTER_REASON = 2000


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: staff of an institution, in a department (None for an institution's API
    key, which belongs to no desk)."""

    institution_id: int
    institution_code: str
    department_id: int | None
    actor: str


class View(StrEnum):
    FULL = "full"  # the registering desk: facts, region, guidance, status
    WATCH_ONLY = "watch_only"  # another department: that the person is to be watched


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked for the measures: the person, or a supporter acting because the person cannot
    (2(1)注: the supporter's body and the reason are recorded)."""

    requested_by: NondisclosureRequester
    supporter_body: str | None = None
    supporter_reason: str | None = None

    @classmethod
    def checked(
        cls, requested_by: str, supporter_body: str | None, supporter_reason: str | None
    ) -> Requester:
        try:
            who = NondisclosureRequester(requested_by)
        except ValueError:
            raise InvalidProtection(
                "requested_by", f"{requested_by!r}: person か supporter を指定してください"
            ) from None
        body = (supporter_body or "").strip() or None
        reason = (supporter_reason or "").strip() or None
        if who is NondisclosureRequester.PERSON:
            if body or reason:
                raise InvalidProtection(
                    "supporter_body",
                    "本人からの申出では支援者を記録しません"
                    " (no supporter is recorded for a person's own request)",
                )
            return cls(who)
        if body is None or reason is None:
            raise InvalidProtection(
                "supporter_body" if body is None else "supporter_reason",
                "支援者からの申出には、支援者の機関・団体名と本人が申し出られない理由が必要です"
                " (a supporter's request names the supporter and why the person cannot ask;"
                " 2(1)注)",
            )
        _check_length("supporter_body", body, MAX_SUPPORTER_BODY)
        _check_length("supporter_reason", reason, MAX_SUPPORTER_REASON)
        return cls(who, body, reason)


def _check_length(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidProtection(
            field, f"{limit} 文字以内にしてください (at most {limit} characters)"
        )


def protection_subject(protection_id: uuid.UUID) -> str:
    """How the audit log names a protection: by its opaque id only."""
    return f"protection:{protection_id}"


def register_protection(
    session: Session,
    *,
    institution: Institution,
    department_id: int,
    person_id: uuid.UUID,
    facts: CaseFacts,
    region_codes: list[str],
    requester: Requester,
    fled_on: date | None,
    network_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> Protection:
    """Register a person to be watched at the institution, enrolling them there if needed.

    A person counts as to-be-watched from now on, whether or not any 不開示 code is set yet
    (別添2 §2)."""
    now = now or utc_now()
    region = parse_region(region_codes)
    _check_department(session, institution, department_id)
    _check_persons(session, person_id, facts.perpetrator_id)
    _check_fled_on(fled_on, now)
    _check_own_person(session, institution, person_id, actor, now)
    if _protection_of(session, institution.id, person_id) is not None:
        _refuse_registration(session, institution, person_id, actor, "exists")
        raise ProtectionExists("person", "この方は、この機関で既に登録されています。")
    enrolment = enrol(
        session,
        institution=institution,
        person_id=person_id,
        network_key=network_key,
        actor=actor,
        now=now,
    )
    protection = Protection(
        institution_id=institution.id,
        department_id=department_id,
        person_id=person_id,
        addressee_number=str(enrolment.addressee_number),
        fled_on=fled_on,
        requested_by=requester.requested_by.value,
        supporter_body=requester.supporter_body,
        supporter_reason=requester.supporter_reason,
        registered_at=now,
        registered_by=actor,
        usage_stop_complete_seen=False,
        region=[ProtectedRegionCode(code=code) for code in region.codes],
        **_fact_columns(facts),
    )
    session.add(protection)
    session.flush()
    # The status as it stands now is the baseline: only later changes are announced to the desk.
    protection.usage_stop_complete_seen = judge(session, protection)[2].complete
    _audit(session, protection, institution.code, actor, "protection.registered")
    _announce(
        session, PersonEventKind.PROTECTION_REGISTERED, person_id, institution.code, actor, now
    )
    return protection


def is_own_person(session: Session, institution: Institution, person_id: uuid.UUID) -> bool:
    """A current resident of the institution's municipality, or an addressee it already has:
    the people a desk deals with and so may protect (``need_to_know``)."""
    if institution.kind == InstitutionKind.MUNICIPALITY.value:
        lives_here = session.scalar(
            select(Residence.id).where(
                Residence.person_id == person_id,
                Residence.moved_out_on.is_(None),
                Residence.municipality_code == institution.municipality_code,
            )
        )
        if lives_here is not None:
            return True
    known = session.scalar(
        select(Addressee.id).where(
            Addressee.institution_id == institution.id, Addressee.person_id == person_id
        )
    )
    return known is not None


def _check_own_person(
    session: Session, institution: Institution, person_id: uuid.UUID, actor: str, now: datetime
) -> None:
    if is_own_person(session, institution, person_id):
        return
    _refuse_registration(session, institution, person_id, actor, "not_own_person")
    _announce(session, PersonEventKind.PROTECTION_REFUSED, person_id, institution.code, actor, now)
    raise NotOwnPerson()


def _refuse_registration(
    session: Session, institution: Institution, person_id: uuid.UUID, actor: str, reason: str
) -> None:
    audit.record(
        session,
        actor=actor,
        action="protection.register_refused",
        institution=institution.code,
        subject=person_subject(person_id),
        details={"reason": reason},
    )


def _announce(
    session: Session,
    kind: PersonEventKind,
    person_id: uuid.UUID,
    institution_code: str,
    actor: str,
    now: datetime,
) -> None:
    events.announce(
        session,
        PersonEvent(
            kind=kind, person_id=person_id, institution_code=institution_code, actor=actor, at=now
        ),
    )


def update_protection(
    session: Session,
    *,
    protection_id: uuid.UUID,
    viewer: Viewer,
    facts: CaseFacts | None = None,
    region_codes: list[str] | None = None,
    fled_on: date | None = None,
    now: datetime | None = None,
) -> Protection:
    """Correct the facts, the region or the date of flight as the desk learns more (audited).
    The usage-stop status follows at once, since it is derived from them."""
    protection = desk_protection(session, protection_id=protection_id, viewer=viewer)
    if facts is not None:
        _check_persons(session, protection.person_id, facts.perpetrator_id)
        for column, value in _fact_columns(facts).items():
            setattr(protection, column, value)
    region_changed = False
    if region_codes is not None:
        region = parse_region(region_codes)
        region_changed = set(region.codes) != {code.code for code in protection.region}
        protection.region = [ProtectedRegionCode(code=code) for code in region.codes]
    if fled_on is not None:
        _check_fled_on(fled_on, now or utc_now())
        protection.fled_on = fled_on
    session.flush()
    _audit(session, protection, viewer.institution_code, viewer.actor, "protection.updated")
    if region_changed:
        # The other desks protecting her are told that it changed, never to what.
        _announce(
            session,
            PersonEventKind.REGION_CHANGED,
            protection.person_id,
            viewer.institution_code,
            viewer.actor,
            now or utc_now(),
        )
    return protection


def access_protection(
    session: Session, *, protection_id: uuid.UUID, viewer: Viewer
) -> tuple[Protection, View]:
    """The protection and how much of it the viewer may see; audited either way. Another
    institution gets UnknownProtection, as for an id that names nothing."""
    protection = session.get(Protection, protection_id)
    if protection is None or protection.institution_id != viewer.institution_id:
        audit.record(
            session,
            actor=viewer.actor,
            action="protection.read_refused",
            institution=viewer.institution_code,
            subject=protection_subject(protection_id),
            details={"reason": "not_found_at_institution"},
        )
        raise UnknownProtection()
    view = View.FULL if protection.department_id == viewer.department_id else View.WATCH_ONLY
    _audit(session, protection, viewer.institution_code, viewer.actor, "protection.read", view)
    return protection, view


def desk_protection(session: Session, *, protection_id: uuid.UUID, viewer: Viewer) -> Protection:
    """The protection, for its registering desk only; any other department is refused (audited)."""
    protection, view = access_protection(session, protection_id=protection_id, viewer=viewer)
    if view is not View.FULL:
        audit.record(
            session,
            actor=viewer.actor,
            action="protection.read_refused",
            institution=viewer.institution_code,
            subject=protection_subject(protection_id),
            details={"reason": "not_registering_desk"},
        )
        raise ProtectionAccessDenied(
            "protection",
            "事案の内容と保護地域は登録した窓口の職員だけが扱えます"
            " (only the registering desk sees or changes the case facts and region)",
        )
    return protection


def list_desk_protections(session: Session, *, viewer: Viewer) -> list[Protection]:
    """The protections registered by the viewer's own department, newest first (audited)."""
    if viewer.department_id is None:
        return []
    protections = list(
        session.scalars(
            select(Protection)
            .where(
                Protection.institution_id == viewer.institution_id,
                Protection.department_id == viewer.department_id,
            )
            .order_by(Protection.registered_at.desc(), Protection.id)
        )
    )
    audit.record(
        session,
        actor=viewer.actor,
        action="protection.listed",
        institution=viewer.institution_code,
        details={"count": len(protections)},
    )
    return protections


def case_facts(protection: Protection) -> CaseFacts:
    return CaseFacts(
        own_procedures=protection.own_procedures,
        card_left_behind=protection.card_left_behind,
        perpetrator_is_proxy=protection.perpetrator_is_proxy,
        perpetrator_is_legal_representative=protection.perpetrator_is_legal_representative,
        perpetrator_id=protection.perpetrator_id,
    )


def judge(session: Session, protection: Protection) -> tuple[CaseFacts, LiveState, UsageStop]:
    """The case facts, the live state read now, and the usage-stop status they give."""
    facts = case_facts(protection)
    state = read_live_state(
        session,
        person_id=protection.person_id,
        since=risk_since(protection),
        perpetrator_id=protection.perpetrator_id,
        card_left_behind=protection.card_left_behind,
    )
    return facts, state, usage_stop(facts, state)


def protected_region(protection: Protection) -> ProtectedRegion:
    return parse_region(code.code for code in protection.region)


def risk_since(protection: Protection) -> datetime:
    """From when a card or an account may be in the perpetrator's hands (see ``risk_since_of``)."""
    return risk_since_of(protection.fled_on, protection.registered_at)


def protection_of(
    session: Session, *, institution_id: int, addressee_number: str
) -> Protection | None:
    return session.scalars(
        select(Protection).where(
            Protection.institution_id == institution_id,
            Protection.addressee_number == addressee_number,
        )
    ).one_or_none()


def _protection_of(
    session: Session, institution_id: int, person_id: uuid.UUID
) -> Protection | None:
    return session.scalars(
        select(Protection).where(
            Protection.institution_id == institution_id, Protection.person_id == person_id
        )
    ).one_or_none()


def _fact_columns(facts: CaseFacts) -> dict[str, object]:
    return {
        "own_procedures": facts.own_procedures,
        "card_left_behind": facts.card_left_behind,
        "perpetrator_is_proxy": facts.perpetrator_is_proxy,
        "perpetrator_is_legal_representative": facts.perpetrator_is_legal_representative,
        "perpetrator_id": facts.perpetrator_id,
    }


def _check_department(session: Session, institution: Institution, department_id: int) -> None:
    department = session.get(Department, department_id)
    if department is None or department.institution_id != institution.id:
        raise InvalidProtection(
            "department", "自機関の部署ではありません (not a department of this institution)"
        )


def _check_persons(
    session: Session, person_id: uuid.UUID, perpetrator_id: uuid.UUID | None
) -> None:
    if session.get(Person, person_id) is None:
        raise InvalidProtection("person", "住民基本台帳にありません (not in the resident register)")
    if perpetrator_id is None:
        return
    if perpetrator_id == person_id:
        raise InvalidProtection(
            "perpetrator", "本人を加害者にはできません (the person cannot be their own perpetrator)"
        )
    if session.get(Person, perpetrator_id) is None:
        raise InvalidProtection(
            "perpetrator", "住民基本台帳にありません (not in the resident register)"
        )


def _check_fled_on(fled_on: date | None, now: datetime) -> None:
    if fled_on is not None and fled_on > tokyo_date(now):
        raise InvalidProtection(
            "fled_on", f"{fled_on} は未来の日付です (the day of flight cannot be in the future)"
        )


def _audit(
    session: Session,
    protection: Protection,
    institution_code: str,
    actor: str,
    action: str,
    view: View | None = None,
) -> None:
    details: dict[str, object] = {
        "person": person_subject(protection.person_id),
        "addressee": addressee_subject(institution_code, protection.addressee_number),
    }
    if view is not None:
        details["view"] = view.value
    audit.record(
        session,
        actor=actor,
        action=action,
        institution=institution_code,
        subject=protection_subject(protection.id),
        details=details,
    )
