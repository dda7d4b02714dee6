"""The pure rules: when a session must end, and how invitation codes are written and read."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from fukaiji.portal import rules
from fukaiji.portal.rules import SessionState, session_end_reason
from fukaiji.portal.states import SessionEnd

START = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
codes = st.text(alphabet=rules.INVITATION_ALPHABET, min_size=20, max_size=20)


def state(**changes) -> SessionState:
    values = {
        "now": START,
        "last_seen_at": START,
        "card_usable": True,
        "own_account_live": True,
        "as_proxy": False,
        "grant_live": True,
        "folder_live": True,
    }
    return SessionState(**(values | changes))


@given(
    idle=st.integers(min_value=0, max_value=3_600),
    own=st.booleans(),
    as_proxy=st.booleans(),
    grant=st.booleans(),
    folder=st.booleans(),
)
def test_an_unusable_card_ends_the_session_whatever_else_holds(idle, own, as_proxy, grant, folder):
    ending = state(
        now=START + timedelta(seconds=idle),
        card_usable=False,
        own_account_live=own,
        as_proxy=as_proxy,
        grant_live=grant,
        folder_live=folder,
    )
    assert session_end_reason(ending) == SessionEnd.CARD_UNUSABLE


@given(idle=st.integers(min_value=0, max_value=3_600), grant=st.booleans(), folder=st.booleans())
def test_in_ones_own_folder_only_the_card_the_folder_and_the_clock_count(idle, grant, folder):
    reason = session_end_reason(
        state(now=START + timedelta(seconds=idle), grant_live=grant, folder_live=folder)
    )
    expected = SessionEnd.IDLE_TIMEOUT if idle >= 15 * 60 else None
    assert reason == expected


@given(grant=st.booleans(), folder=st.booleans())
def test_a_proxy_session_lives_only_while_its_grant_and_the_folder_live(grant, folder):
    reason = session_end_reason(state(as_proxy=True, grant_live=grant, folder_live=folder))
    if not grant:
        assert reason == SessionEnd.GRANT_ENDED
    elif not folder:
        assert reason == SessionEnd.ACCOUNT_DELETED
    else:
        assert reason is None


def test_a_deleted_own_folder_ends_the_session() -> None:
    assert session_end_reason(state(own_account_live=False)) == SessionEnd.ACCOUNT_DELETED


@given(codes)
def test_a_formatted_code_reads_back_as_issued(raw: str) -> None:
    written = rules.format_invitation_code(raw)
    assert written.count("-") == 4
    assert rules.normalize_invitation_code(written) == raw
    assert rules.normalize_invitation_code(written.lower().replace("-", " ")) == raw


@given(st.text(max_size=80))
def test_anything_typed_is_either_a_well_formed_code_or_nothing(text: str) -> None:
    normalized = rules.normalize_invitation_code(text)
    assert normalized is None or (
        len(normalized) == rules.INVITATION_LENGTH
        and set(normalized) <= set(rules.INVITATION_ALPHABET)
    )


def test_confusable_letters_read_as_digits() -> None:
    raw = "".join(secrets.choice(rules.INVITATION_ALPHABET) for _ in range(19)) + "0"
    assert rules.normalize_invitation_code(raw[:-1] + "O") == raw
    assert rules.normalize_invitation_code(raw[:-1].lower() + "o") == raw
