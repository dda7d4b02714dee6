"""A state machine over the life of one person's cards: suspension by phone or at the window,
lifting it, reissue, address changes, signing-certificate renewal, PINs typed right and wrong,
PIN resets, and the old cards tried again.

After every step the stored state, the per-request checks, the CRL and the login check must all
tell the same story as a small model of the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.orm import Session

from fukaiji.jpki import (
    CardFunction,
    CardRefused,
    CardSignature,
    CertificateStatus,
    IssuedCard,
    LoginRefused,
    card_is_usable,
    card_signature,
    certificate_is_usable,
    certificate_status,
    current_crl,
    lift_suspension,
    on_address_change,
    reissue_card,
    renew_signing_certificate,
    reset_pin,
    sign_challenge,
    suspend_card,
    verify_login,
)
from fukaiji.registry.models import Person

MakePerson = Callable[..., Person]
CHALLENGE = b"state-machine-nonce"
WRONG = {CardFunction.AUTH: "1111", CardFunction.SIGN: "WRONG1PIN"}
ACTOR = "staff:3"
AUTH_PIN, SIGN_PIN = "7395", "HIBARI48TSUBAME"


@dataclass
class Model:
    """What the rules say the current card's state is."""

    suspended: bool = False
    sign_serial: int = 0
    sign_revoked: bool = False
    pins: dict[CardFunction, str] = field(default_factory=dict)
    wrong: dict[CardFunction, int] = field(default_factory=dict)

    def locked(self, function: CardFunction) -> bool:
        return self.wrong[function] >= 3


def lifecycle_machine(
    session: Session, make_person: MakePerson, ca_key: bytes, now: datetime
) -> type[RuleBasedStateMachine]:
    class CardLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.card: IssuedCard
            self.signed: CardSignature
            self.model = Model()
            self.old: list[tuple[IssuedCard, CardSignature]] = []

        def _new_card(self, issued: IssuedCard) -> None:
            self.card = issued
            self.model = Model(
                sign_serial=issued.sign_certificate_serial,
                pins={CardFunction.AUTH: AUTH_PIN, CardFunction.SIGN: SIGN_PIN},
                wrong={CardFunction.AUTH: 0, CardFunction.SIGN: 0},
            )
            self.signed = card_signature(
                session, card_token=issued.card_token, pin=AUTH_PIN, challenge=CHALLENGE, now=now
            )
            session.commit()

        @initialize()
        def issue(self) -> None:
            from fukaiji.jpki import issue_card

            self.person = make_person()
            issued = issue_card(
                session,
                person_id=self.person.id,
                auth_pin=AUTH_PIN,
                sign_pin=SIGN_PIN,
                ca_key=ca_key,
                actor=ACTOR,
                now=now,
            )
            self._new_card(issued)

        @rule(channel=st.sampled_from(["phone", "window"]))
        def suspend(self, channel: str) -> None:
            suspend_card(session, card_id=self.card.card_id, channel=channel, actor=ACTOR, now=now)
            session.commit()
            self.model.suspended = True

        @precondition(lambda self: self.model.suspended)
        @rule()
        def lift(self) -> None:
            lift_suspension(session, card_id=self.card.card_id, actor=ACTOR, now=now)
            session.commit()
            self.model.suspended = False

        @rule()
        def reissue(self) -> None:
            self.old.append((self.card, self.signed))
            issued = reissue_card(
                session,
                person_id=self.person.id,
                auth_pin=AUTH_PIN,
                sign_pin=SIGN_PIN,
                ca_key=ca_key,
                actor=ACTOR,
                now=now,
            )
            session.commit()
            self._new_card(issued)

        @rule()
        def move(self) -> None:
            on_address_change(session, person_id=self.person.id, actor=ACTOR, now=now)
            session.commit()
            self.model.sign_revoked = True

        @precondition(lambda self: not self.model.suspended)
        @rule()
        def renew_signing(self) -> None:
            pin = f"RENEW{len(self.old)}Y"
            renewed = renew_signing_certificate(
                session,
                card_token=self.card.card_token,
                sign_pin=pin,
                ca_key=ca_key,
                actor=ACTOR,
                now=now,
            )
            session.commit()
            self.model.sign_serial = int(renewed.serial, 16)
            self.model.sign_revoked = False
            self.model.pins[CardFunction.SIGN] = pin
            self.model.wrong[CardFunction.SIGN] = 0

        @rule(function=st.sampled_from(CardFunction), right=st.booleans())
        def type_pin(self, function: CardFunction, right: bool) -> None:
            expected = self._expected(function, right)
            pin = self.model.pins[function] if right else WRONG[function]
            try:
                sign_challenge(
                    session,
                    card_token=self.card.card_token,
                    pin=pin,
                    challenge=CHALLENGE,
                    function=function,
                    now=now,
                )
                outcome = "ok"
            except CardRefused as error:
                outcome = error.reason
            session.commit()
            assert outcome == expected

        def _expected(self, function: CardFunction, right: bool) -> str:
            if self.model.suspended:
                return "suspended"
            if function is CardFunction.SIGN and self.model.sign_revoked:
                return "no_certificate"
            if self.model.locked(function):
                return "pin_locked"
            if right:
                self.model.wrong[function] = 0
                return "ok"
            self.model.wrong[function] += 1
            return "wrong_pin"

        @rule(function=st.sampled_from(CardFunction))
        def reset(self, function: CardFunction) -> None:
            pin = "2580" if function is CardFunction.AUTH else f"RESET{len(self.old)}Z"
            reset_pin(
                session,
                card_token=self.card.card_token,
                function=function,
                new_pin=pin,
                actor=ACTOR,
                now=now,
            )
            session.commit()
            self.model.pins[function] = pin
            self.model.wrong[function] = 0

        @precondition(lambda self: bool(self.old))
        @rule()
        def old_card_tried_again(self) -> None:
            old, _ = self.old[-1]
            try:
                sign_challenge(session, card_token=old.card_token, pin="7395", challenge=b"c")
            except CardRefused as error:
                assert error.reason == "abolished"
            else:
                raise AssertionError("an abolished card signed")
            session.commit()

        @invariant()
        def stored_state_matches_the_model(self) -> None:
            active = not self.model.suspended
            held = CertificateStatus.VALID if active else CertificateStatus.ON_HOLD
            assert card_is_usable(session, self.card.card_id) is active
            auth = self.card.auth_certificate_serial
            assert certificate_status(session, auth) == held
            assert certificate_is_usable(session, auth, now=now) is active
            sign_expected = CertificateStatus.REVOKED if self.model.sign_revoked else held
            assert certificate_status(session, self.model.sign_serial) == sign_expected
            for old, _ in self.old:
                assert not card_is_usable(session, old.card_id)
                assert certificate_status(session, old.auth_certificate_serial) == (
                    CertificateStatus.REVOKED
                )

        @invariant()
        def logins_and_the_crl_agree(self) -> None:
            crl = x509.load_der_x509_crl(current_crl(session, ca_key=ca_key, now=now))
            listed = {entry.serial_number for entry in crl}
            outcomes = [(self.signed, not self.model.suspended)]
            # The card abolished last is the one most likely to have been left behind.
            outcomes += [(signed, False) for _, signed in self.old[-1:]]
            for signed, accepted in outcomes:
                try:
                    verify_login(
                        session,
                        certificate_pem=signed.certificate_pem,
                        challenge=CHALLENGE,
                        signature=signed.signature,
                        now=now,
                    )
                    logged_in = True
                except LoginRefused:
                    logged_in = False
                assert logged_in is accepted
                assert (signed.certificate_serial not in listed) is accepted
            session.commit()

    return CardLifecycle


def test_the_card_lifecycle_keeps_every_view_consistent(
    session: Session, make_person: MakePerson, ca_key: bytes, now: datetime
) -> None:
    machine = lifecycle_machine(session, make_person, ca_key, now)
    run_state_machine_as_test(
        machine, settings=settings(max_examples=8, stateful_step_count=10, deadline=None)
    )
