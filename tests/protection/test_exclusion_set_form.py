"""The exclusion question in set form gives exactly the answer of the per-protection derivation.

``usage_stop_query`` writes the usage-stop rule a second time, in SQL, so that a national body
can ask it for 10⁵ protections at once. This property builds random states of cards, folders,
logins, grants, ledger entries, flags and consents, row by row, and compares every fast answer
(the list, a batch, one addressee, the changed protections) with ``judge`` — the derivation the
desk's screen shows — taken one protection at a time. The world grows across examples, so later
examples are asked among everything built before.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from fukaiji.db.base import utc_now
from fukaiji.db.sets import strings
from fukaiji.intermediate.models import Addressee, NondisclosureFlag
from fukaiji.intermediate.service import tokyo_date
from fukaiji.jpki.models import Card
from fukaiji.portal.models import PortalAccount, PortalSession, ProxyGrant
from fukaiji.protection import exclusion, service
from fukaiji.protection.models import Consent, LedgerEntry, LedgerImport, Protection
from fukaiji.protection.service import judge
from fukaiji.registry.models import Person

NOTICE = uuid.UUID(int=7)
CATEGORY = "benefit"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class CardSpec:
    before_risk: bool  # issued before the day of flight: may be the card left behind
    status: str  # of the last card only; earlier cards are abolished (one live card a person)


@dataclass(frozen=True)
class GrantSpec:
    to_perpetrator: bool
    kind: str
    ended: bool


@dataclass(frozen=True)
class CaseSpec:
    protected: bool
    card_left_behind: bool
    perpetrator_known: bool
    fled_days_before: int | None
    cards: tuple[CardSpec, ...]
    folder: str  # none, before (opened before the risk), after, deleted
    logins: tuple[int, ...]  # indexes into cards
    grants: tuple[GrantSpec, ...]
    ledger: str  # none, live, withdrawn
    flagged: bool
    consent: str  # none, notice, category, withdrawn


cases = st.builds(
    CaseSpec,
    protected=st.sampled_from([True, True, True, False]),
    card_left_behind=st.booleans(),
    perpetrator_known=st.booleans(),
    fled_days_before=st.none() | st.integers(0, 5),
    cards=st.lists(
        st.builds(
            CardSpec,
            before_risk=st.booleans(),
            status=st.sampled_from(["active", "suspended", "abolished"]),
        ),
        max_size=3,
    ).map(tuple),
    folder=st.sampled_from(["none", "before", "after", "deleted"]),
    logins=st.lists(st.integers(0, 2), max_size=3).map(tuple),
    grants=st.lists(
        st.builds(
            GrantSpec,
            to_perpetrator=st.booleans(),
            kind=st.sampled_from(["appointed", "legal"]),
            ended=st.booleans(),
        ),
        max_size=2,
        unique_by=lambda grant: grant.to_perpetrator,  # one live grant a proxy
    ).map(tuple),
    ledger=st.sampled_from(["none", "live", "withdrawn"]),
    flagged=st.booleans(),
    consent=st.sampled_from(["none", "notice", "category", "withdrawn"]),
)


class Builder:
    """Writes a case straight into the tables, as the services would have left them."""

    def __init__(self, desk) -> None:
        self.desk, self.world = desk, desk.world
        self.session = self.world.session
        self.osaka = self.world.osaka
        self.perpetrator = self.world.resident("太郎")
        self.stranger = self.world.resident("次郎")
        self.ledger = LedgerImport(
            institution_id=self.osaka.id,
            filename="ledger.csv",
            sha256="0" * 64,
            encoding="utf-8",
            row_count=0,
            imported_by="test",
        )
        self.session.add(self.ledger)
        self.session.flush()
        self.serial = itertools.count(secrets.randbelow(10**5) * 10**5)

    def build(self, case: CaseSpec) -> str:
        person = Person(  # bare rows, as the services leave them: hundreds are built
            resident_record_code=f"{next(self.serial):011d}",
            family_name="山田",
            given_name="花子",
            family_name_kana="ヤマダ",
            given_name_kana="ハナコ",
            birth_date=date(1990, 4, 1),
        )
        self.session.add(person)
        self.session.flush()
        number = f"{next(self.serial):015d}"
        self.session.add(
            Addressee(institution_id=self.osaka.id, addressee_number=number, person_id=person.id)
        )
        registered = utc_now() - 10 * DAY
        fled = None
        if case.fled_days_before is not None:
            fled = (registered - case.fled_days_before * DAY).date()
        risk = registered if fled is None else registered - DAY * 20  # only before/after matters
        if case.protected:
            risk = self._protect(person.id, number, case, registered, fled)
        cards = self._cards(person.id, case.cards, risk)
        self._folder(person.id, case, cards, risk)
        self._lists(number, case)
        return number

    def _protect(
        self, person_id: uuid.UUID, number: str, case: CaseSpec, registered: datetime, fled
    ) -> datetime:
        protection = Protection(
            institution_id=self.osaka.id,
            department_id=self.desk.desk.department_id,
            person_id=person_id,
            addressee_number=number,
            own_procedures=False,
            card_left_behind=case.card_left_behind,
            perpetrator_is_proxy=bool(case.grants),
            perpetrator_is_legal_representative=False,
            perpetrator_id=self.perpetrator.id if case.perpetrator_known else None,
            fled_on=fled,
            requested_by="person",
            registered_at=registered,
            registered_by="test",
            usage_stop_complete_seen=False,
        )
        self.session.add(protection)
        self.session.flush()
        return protection.risk_since

    def _cards(self, person_id: uuid.UUID, specs: tuple[CardSpec, ...], risk: datetime):
        cards = []
        for index, spec in enumerate(specs):
            status = spec.status if index == len(specs) - 1 else "abolished"
            card = Card(
                person_id=person_id,
                status=status,
                token_hash=secrets.token_hex(32),
                key_salt=b"salt",
                issued_at=risk + (-DAY if spec.before_risk else DAY),
                abolished_at=utc_now() if status == "abolished" else None,
            )
            self.session.add(card)
            self.session.flush()
            cards.append(card)
        return cards

    def _folder(self, person_id: uuid.UUID, case: CaseSpec, cards, risk: datetime) -> None:
        if case.folder == "none":
            return
        account = PortalAccount(
            person_id=person_id,
            created_by="test",
            created_at=risk + (-DAY if case.folder == "before" else DAY),
            deleted_at=utc_now() if case.folder == "deleted" else None,
        )
        self.session.add(account)
        self.session.flush()
        for index in case.logins:
            if index < len(cards):
                self.session.add(
                    PortalSession(
                        token_hash=secrets.token_hex(32),
                        csrf_token="x",
                        person_id=person_id,
                        account_id=account.id,
                        certificate_serial="00",
                        card_id=cards[index].id,
                        acting_account_id=account.id,
                    )
                )
        for grant in case.grants:
            proxy = self.perpetrator if grant.to_perpetrator else self.stranger
            self.session.add(
                ProxyGrant(
                    account_id=account.id,
                    proxy_person_id=proxy.id,
                    kind=grant.kind,
                    representation="parental_authority" if grant.kind == "legal" else None,
                    granted_by="test",
                    ended_at=utc_now() if grant.ended else None,
                    end_reason=(
                        "ended_at_window" if grant.kind == "legal" else "cancelled_by_principal"
                    )
                    if grant.ended
                    else None,
                    ended_by="test" if grant.ended else None,
                )
            )

    def _lists(self, number: str, case: CaseSpec) -> None:
        if case.ledger != "none":
            self.session.add(
                LedgerEntry(
                    import_id=self.ledger.id,
                    institution_id=self.osaka.id,
                    addressee_number=number,
                    row_number=1,
                    withdrawn_at=utc_now() if case.ledger == "withdrawn" else None,
                    withdrawn_by="test" if case.ledger == "withdrawn" else None,
                )
            )
        if case.flagged:
            self.session.add(
                NondisclosureFlag(
                    institution_id=self.osaka.id,
                    addressee_number=number,
                    requested_by="person",
                    set_by="test",
                )
            )
        if case.consent != "none":
            self.session.add(
                Consent(
                    institution_id=self.osaka.id,
                    addressee_number=number,
                    notice_id=NOTICE if case.consent == "notice" else None,
                    category=None if case.consent == "notice" else CATEGORY,
                    given_on=date(2026, 1, 1),
                    channel="window",
                    recorded_by="test",
                    withdrawn_at=utc_now() if case.consent == "withdrawn" else None,
                    withdrawn_by="test" if case.consent == "withdrawn" else None,
                )
            )


def reference(session, osaka) -> tuple[dict[str, bool], set[str]]:
    """Today's derivation, one protection at a time: every watched number with whether it is
    excluded, and the numbers whose consent covers the notice."""
    answers: dict[str, bool] = {}
    for protection in session.scalars(
        select(Protection).where(Protection.institution_id == osaka.id)
    ):
        answers[protection.addressee_number] = not judge(session, protection)[2].complete
    for statement in (
        select(LedgerEntry.addressee_number).where(
            LedgerEntry.institution_id == osaka.id, LedgerEntry.withdrawn_at.is_(None)
        ),
        select(NondisclosureFlag.addressee_number).where(
            NondisclosureFlag.institution_id == osaka.id
        ),
    ):
        for number in session.scalars(statement):
            answers.setdefault(number, True)  # no facts to judge by: excluded
    consented = set(
        session.scalars(
            select(Consent.addressee_number).where(
                Consent.institution_id == osaka.id, Consent.withdrawn_at.is_(None)
            )
        )
    )
    return answers, consented


def test_the_set_form_answers_as_the_per_protection_derivation(desk) -> None:
    builder = Builder(desk)
    session, osaka = builder.session, builder.osaka
    numbers: list[str] = []

    @settings(
        max_examples=20,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(cases, min_size=1, max_size=4))
    def property_holds(batch: list[CaseSpec]) -> None:
        numbers.extend(builder.build(case) for case in batch)
        session.commit()
        answers, consented = reference(session, osaka)
        on_list = {number for number, excluded in answers.items() if excluded}

        listed = exclusion.exclusion_list(session, institution=osaka)
        assert {entry.addressee_number for entry in listed} == on_list
        assert (
            exclusion.excluded_addressees(
                session, institution=osaka, notice_id=NOTICE, category=CATEGORY
            )
            == on_list - consented
        )
        among = exclusion.excluded_among(
            session,
            institution=osaka,
            numbers=strings(session, numbers),
            notice_id=NOTICE,
            category=CATEGORY,
        )
        assert among == (on_list - consented) & set(numbers)
        for number in numbers[-3:]:
            assert exclusion.is_excluded(
                session, institution=osaka, addressee_number=number, category="tax"
            ) == (number in on_list)
        # The sweep announced every change; nothing is left for the next one.
        assert session.scalars(exclusion.changed_protections(osaka.id)).all() == []
        session.commit()

    property_holds()


def test_every_combination_of_one_persons_paths_is_answered_as_the_derivation(desk) -> None:
    """The paths of ケース② taken together, every combination once: the cards (none, one left
    behind usable or suspended, one reissued after fleeing, an abolished one before it), the
    folder and who logged in to it, and the grants. Random states may miss one; this may not."""
    builder = Builder(desk)
    card_sets = [
        (),
        (CardSpec(True, "active"),),
        (CardSpec(True, "suspended"),),
        (CardSpec(True, "abolished"), CardSpec(False, "active")),
        (CardSpec(True, "abolished"), CardSpec(False, "suspended")),
    ]
    grant_sets = [
        (),
        (GrantSpec(True, "appointed", False),),
        (GrantSpec(False, "appointed", False),),
        (GrantSpec(True, "legal", True), GrantSpec(False, "legal", False)),
    ]
    for left_behind, known, cards, folder, logins, grants in itertools.product(
        [True, False],
        [True, False],
        card_sets,
        ["none", "before", "after", "deleted"],
        [(), (0,), (1,)],
        grant_sets,
    ):
        if logins and (folder == "none" or logins[0] >= len(cards)):
            continue  # the same state as no login
        case = CaseSpec(
            True, left_behind, known, 3, cards, folder, logins, grants, "none", False, "none"
        )
        builder.build(case)
    builder.session.commit()
    answers, _ = reference(builder.session, builder.osaka)
    listed = exclusion.exclusion_list(builder.session, institution=builder.osaka)
    assert {entry.addressee_number for entry in listed} == {
        number for number, excluded in answers.items() if excluded
    }


def test_a_corrected_day_of_flight_moves_the_risk_and_the_answer_with_it(desk) -> None:
    """``risk_since`` is derived whenever the row is written: the desk learns she fled earlier
    than registered, so the card issued in between is no longer one she may have left behind."""
    world = desk.world
    victim = world.resident()
    # The day in Japan: the day of flight is a date at the desk, in Japan's time.
    reissued_on = tokyo_date(world.session.get_one(Card, world.card_id(victim)).issued_at)
    protection = desk.register(
        victim, card_left_behind=True, fled_on=reissued_on, region=["271004"]
    )
    number = protection.addressee_number
    assert exclusion.is_excluded(world.session, institution=world.osaka, addressee_number=number)

    service.update_protection(
        world.session,
        protection_id=protection.id,
        viewer=desk.desk,
        fled_on=reissued_on - 10 * DAY,
    )
    world.session.commit()
    assert protection.risk_since < world.session.get_one(Card, world.card_id(victim)).issued_at
    assert not exclusion.is_excluded(
        world.session, institution=world.osaka, addressee_number=number
    )
    assert not judge(world.session, protection)[2].open_paths
