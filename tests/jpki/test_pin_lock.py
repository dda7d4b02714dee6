"""Three wrong PINs in a row lock that function of the chip; a reset at the window unlocks it.

Each attempt is its own transaction, committed even when refused, as every caller must (the
errors say so with ``keep_changes``): a rolled-back wrong PIN would be a free guess.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fukaiji.audit.models import AuditEntry
from fukaiji.jpki import (
    CardFunction,
    CardKey,
    CardRefused,
    InvalidChallenge,
    InvalidChoice,
    InvalidPin,
    IssuedCard,
    PinLocked,
    UnrecognisedCard,
    WrongPin,
    reset_pin,
    sign_challenge,
)

Issue = Callable[..., IssuedCard]
AUTH_PIN, SIGN_PIN = "7395", "HIBARI48TSUBAME"
WRONG = {"auth": "1111", "sign": "WRONG1PIN"}
RIGHT = {"auth": AUTH_PIN, "sign": SIGN_PIN}


def attempt(session: Session, issued: IssuedCard, function: str, pin: str) -> str:
    """Type ``pin`` into the reader: "ok", or the refusal's reason. Commits either way."""
    try:
        sign_challenge(
            session,
            card_token=issued.card_token,
            pin=pin,
            challenge=b"challenge",
            function=function,
        )
    except CardRefused as error:
        assert error.keep_changes
        session.commit()
        return error.reason
    session.commit()
    return "ok"


def key(session: Session, issued: IssuedCard, function: str) -> CardKey:
    found = session.get(CardKey, (issued.card_id, function), populate_existing=True)
    assert found is not None
    return found


@pytest.mark.parametrize("function", ["auth", "sign"])
def test_three_wrong_in_a_row_lock_and_the_right_pin_is_then_refused(
    session: Session, issue: Issue, function: str
) -> None:
    issued = issue()
    with pytest.raises(WrongPin) as first:
        sign_challenge(
            session,
            card_token=issued.card_token,
            pin=WRONG[function],
            challenge=b"c",
            function=function,
        )
    session.commit()
    assert first.value.remaining == 2
    assert attempt(session, issued, function, WRONG[function]) == "wrong_pin"
    with pytest.raises(WrongPin) as third:
        sign_challenge(
            session,
            card_token=issued.card_token,
            pin=WRONG[function],
            challenge=b"c",
            function=function,
        )
    session.commit()
    assert third.value.remaining == 0 and "ロック" in third.value.message
    assert key(session, issued, function).locked_at is not None

    with pytest.raises(PinLocked):
        sign_challenge(
            session,
            card_token=issued.card_token,
            pin=RIGHT[function],
            challenge=b"c",
            function=function,
        )
    session.commit()
    assert attempt(session, issued, function, RIGHT[function]) == "pin_locked"


def test_auth_and_sign_are_counted_and_locked_separately(session: Session, issue: Issue) -> None:
    issued = issue()
    for _ in range(3):
        assert attempt(session, issued, "auth", WRONG["auth"]) == "wrong_pin"
    assert attempt(session, issued, "auth", AUTH_PIN) == "pin_locked"
    assert attempt(session, issued, "sign", SIGN_PIN) == "ok"
    for _ in range(2):
        assert attempt(session, issued, "sign", WRONG["sign"]) == "wrong_pin"
    assert key(session, issued, "sign").failed_attempts == 2
    assert attempt(session, issued, "sign", SIGN_PIN) == "ok"
    assert key(session, issued, "sign").failed_attempts == 0


@pytest.mark.parametrize("function", ["auth", "sign"])
def test_a_right_pin_in_between_resets_the_count(
    session: Session, issue: Issue, function: str
) -> None:
    issued = issue()
    sequence = ["wrong", "wrong", "right", "wrong", "wrong", "right", "wrong", "wrong"]
    outcomes = [
        attempt(session, issued, function, WRONG[function] if typed == "wrong" else RIGHT[function])
        for typed in sequence
    ]
    assert outcomes == ["wrong_pin", "wrong_pin", "ok"] * 2 + ["wrong_pin", "wrong_pin"]
    assert key(session, issued, function).locked_at is None
    assert attempt(session, issued, function, RIGHT[function]) == "ok"


@pytest.mark.parametrize(("function", "new_pin"), [("auth", "2580"), ("sign", "NEWSIGN99")])
def test_a_reset_at_the_window_unlocks_and_sets_a_new_pin(
    session: Session, issue: Issue, function: str, new_pin: str, now: datetime
) -> None:
    issued = issue()
    for _ in range(3):
        attempt(session, issued, function, WRONG[function])
    reset_pin(
        session, card_token=issued.card_token, function=function, new_pin=new_pin, actor="staff:3"
    )
    session.commit()
    assert key(session, issued, function).locked_at is None
    assert attempt(session, issued, function, RIGHT[function]) == "wrong_pin"
    assert attempt(session, issued, function, new_pin) == "ok"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "jpki.pin.reset")).one()
    assert json.loads(entry.details)["was_locked"] is True


def test_a_badly_formed_pin_is_refused_before_the_chip_and_does_not_count(
    session: Session, issue: Issue
) -> None:
    issued = issue()
    for malformed in ("12", "12345", "abcd", "７３９５"):
        with pytest.raises(InvalidPin):
            sign_challenge(session, card_token=issued.card_token, pin=malformed, challenge=b"c")
    assert key(session, issued, "auth").failed_attempts == 0
    assert attempt(session, issued, "auth", AUTH_PIN) == "ok"


def test_a_wrong_card_token_is_refused_and_counts_against_no_card(
    session: Session, issue: Issue
) -> None:
    issued = issue()
    for _ in range(5):
        with pytest.raises(UnrecognisedCard):
            sign_challenge(session, card_token=issued.card_token + "x", pin="1111", challenge=b"c")
        session.commit()
    assert key(session, issued, "auth").failed_attempts == 0
    with pytest.raises(UnrecognisedCard):
        reset_pin(session, card_token="not-a-card", function="auth", new_pin="2580", actor="s:1")


def test_the_function_and_the_challenge_are_checked(session: Session, issue: Issue) -> None:
    issued = issue()
    with pytest.raises(InvalidChoice) as raised:
        sign_challenge(
            session, card_token=issued.card_token, pin=AUTH_PIN, challenge=b"c", function="pay"
        )
    assert raised.value.field == "function"
    for challenge in (b"", b"x" * 1025):
        with pytest.raises(InvalidChallenge):
            sign_challenge(session, card_token=issued.card_token, pin=AUTH_PIN, challenge=challenge)


def test_wrong_pins_are_audited_with_the_count_and_never_the_pin(
    session: Session, issue: Issue
) -> None:
    issued = issue()
    for _ in range(3):
        attempt(session, issued, "auth", WRONG["auth"])
    attempt(session, issued, "auth", AUTH_PIN)
    refused = [
        json.loads(entry.details)
        for entry in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "jpki.card.refused")
            .order_by(AuditEntry.seq)
        )
    ]
    assert [(r["reason"], r.get("failed_attempts"), r.get("locked")) for r in refused] == [
        ("wrong_pin", 1, False),
        ("wrong_pin", 2, False),
        ("wrong_pin", 3, True),
        ("pin_locked", None, None),
    ]
    assert all(r["function"] == CardFunction.AUTH for r in refused)
    for entry in session.scalars(select(AuditEntry)):
        assert issued.card_token not in entry.details
        for pin in (WRONG["auth"], AUTH_PIN):
            # A 4-digit PIN may occur inside a hex serial by chance; as a value it stands alone.
            assert re.search(rf"(?<![0-9A-Za-z]){pin}(?![0-9A-Za-z])", entry.details) is None


def test_a_session_holding_an_old_copy_of_the_counter_does_not_lose_a_wrong_pin(
    session: Session, issue: Issue, engine: Engine
) -> None:
    issued = issue()
    assert attempt(session, issued, "auth", WRONG["auth"]) == "wrong_pin"
    with Session(engine, expire_on_commit=False) as elsewhere:
        assert attempt(elsewhere, issued, "auth", WRONG["auth"]) == "wrong_pin"
    # ``session`` still holds the counter at 1 from its own attempt; the chip is at 2.
    with pytest.raises(WrongPin) as third:
        sign_challenge(session, card_token=issued.card_token, pin=WRONG["auth"], challenge=b"c")
    session.commit()
    assert third.value.remaining == 0


def test_wrong_pins_typed_at_once_cannot_slip_past_the_lock(issue: Issue, engine: Engine) -> None:
    issued = issue()
    reasons: list[str] = []
    start = threading.Barrier(6)

    def guess() -> None:
        with Session(engine, expire_on_commit=False) as own:
            start.wait()
            reasons.append(attempt(own, issued, "auth", WRONG["auth"]))

    threads = [threading.Thread(target=guess) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(reasons) == ["pin_locked"] * 3 + ["wrong_pin"] * 3
