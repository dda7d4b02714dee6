"""本人の同意 (consent): the person agreed to receive a notice, or every notice of a category, so
it may reach them although they are on the exclusion list (別添2(3)①). Recorded by staff with
the day and the channel; withdrawn the same way. Every change is audited."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.intermediate.addressees import person_of
from fukaiji.intermediate.service import addressee_subject, parse_addressee_number, tokyo_date
from fukaiji.network.models import Institution
from fukaiji.portal.states import InboxCategory
from fukaiji.protection.errors import InvalidProtection, UnknownConsent
from fukaiji.protection.models import Consent
from fukaiji.protection.states import ConsentChannel

MAX_NOTE = 2000


def record_consent(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str,
    given_on: date,
    channel: str,
    actor: str,
    notice_id: uuid.UUID | None = None,
    category: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Consent:
    """Record that the person agreed to ``notice_id``, or to every notice of ``category``."""
    now = now or utc_now()
    number = str(parse_addressee_number(addressee_number))
    person_of(session, institution=institution, addressee_number=number)  # known here, or refused
    scope_category = _scope(notice_id, category)
    channel_value = _channel(channel)
    if given_on > tokyo_date(now):
        raise InvalidProtection(
            "given_on", f"{given_on} は未来の日付です (consent cannot be dated in the future)"
        )
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidProtection("note", f"{MAX_NOTE} 文字以内にしてください (too long)")
    consent = Consent(
        institution_id=institution.id,
        addressee_number=number,
        notice_id=notice_id,
        category=scope_category,
        given_on=given_on,
        channel=channel_value,
        note=note,
        recorded_at=now,
        recorded_by=actor,
    )
    session.add(consent)
    session.flush()
    _audit(session, institution, consent, actor, "protection.consent_recorded")
    return consent


def withdraw_consent(
    session: Session,
    *,
    institution: Institution,
    consent_id: int,
    actor: str,
    now: datetime | None = None,
) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None or consent.institution_id != institution.id:
        raise UnknownConsent("consent_id", f"{consent_id}: 見つかりません (not found)")
    if consent.withdrawn_at is None:
        consent.withdrawn_at = now or utc_now()
        consent.withdrawn_by = actor
        _audit(session, institution, consent, actor, "protection.consent_withdrawn")
    return consent


def consents_of(
    session: Session, *, institution: Institution, addressee_number: str
) -> list[Consent]:
    number = str(parse_addressee_number(addressee_number))
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.institution_id == institution.id, Consent.addressee_number == number)
            .order_by(Consent.recorded_at, Consent.id)
        )
    )


def _scope(notice_id: uuid.UUID | None, category: str | None) -> str | None:
    if (notice_id is None) == (category is None):
        raise InvalidProtection(
            "notice_id",
            "お知らせ (notice_id) か種別 (category) のどちらか一方を指定してください"
            " (consent covers one notice or one category)",
        )
    if category is None:
        return None
    try:
        return InboxCategory(category).value
    except ValueError:
        allowed = ", ".join(member.value for member in InboxCategory)
        raise InvalidProtection(
            "category", f"{category!r}: 次のいずれかです (one of): {allowed}"
        ) from None


def _channel(channel: str) -> str:
    try:
        return ConsentChannel(channel).value
    except ValueError:
        allowed = ", ".join(member.value for member in ConsentChannel)
        raise InvalidProtection(
            "channel", f"{channel!r}: 次のいずれかです (one of): {allowed}"
        ) from None


def _audit(
    session: Session, institution: Institution, consent: Consent, actor: str, action: str
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        institution=institution.code,
        subject=addressee_subject(institution.code, consent.addressee_number),
        details={
            "consent": consent.id,
            "notice": None if consent.notice_id is None else str(consent.notice_id),
            "category": consent.category,
            "channel": consent.channel,
            "given_on": consent.given_on.isoformat(),
        },
    )
