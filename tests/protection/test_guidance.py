"""Guidance and the usage-stop status, pure: the seed's cases step by step."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from fukaiji.protection.facts import CaseFacts, LiveState
from fukaiji.protection.guidance import StepKind, guidance
from fukaiji.protection.usage_stop import usage_stop

CARD_LEFT = CaseFacts(
    own_procedures=False,
    card_left_behind=True,
    perpetrator_is_proxy=False,
    perpetrator_is_legal_representative=False,
)
PROXY = dataclasses.replace(CARD_LEFT, card_left_behind=False, perpetrator_is_proxy=True)
BOTH = dataclasses.replace(CARD_LEFT, perpetrator_is_proxy=True)
OWN_ONLY = dataclasses.replace(CARD_LEFT, own_procedures=True, card_left_behind=False)

FRESH = LiveState(
    risky_cards_total=1,
    risky_cards_usable=1,
    new_card_issued=False,
    stale_account=True,
    risky_grants=0,
    my_number_changed_since_registration=False,
)


def _kinds(facts: CaseFacts, state: LiveState) -> list[tuple[StepKind, bool]]:
    return [(step.kind, step.done) for step in guidance(facts, state)]


def test_card_left_behind_in_the_seeds_order_and_done_from_the_live_state() -> None:
    assert _kinds(CARD_LEFT, FRESH) == [
        (StepKind.SUSPEND_CARD, False),
        (StepKind.REISSUE_CARD, False),
        (StepKind.CHANGE_MY_NUMBER, False),
        (StepKind.DELETE_ACCOUNT, False),
        (StepKind.INTERIM_MEASURES, False),
    ]
    suspend = guidance(CARD_LEFT, FRESH)[0]
    assert "0120-95-0178" in suspend.title
    suspended = dataclasses.replace(FRESH, risky_cards_usable=0)
    assert _kinds(CARD_LEFT, suspended)[0] == (StepKind.SUSPEND_CARD, True)
    assert not usage_stop(CARD_LEFT, suspended).complete
    reissued = dataclasses.replace(suspended, new_card_issued=True)
    deleted = dataclasses.replace(reissued, stale_account=False)
    assert usage_stop(CARD_LEFT, deleted).complete
    assert all(
        done for kind, done in _kinds(CARD_LEFT, deleted) if kind != StepKind.CHANGE_MY_NUMBER
    )


def test_proxy_only_is_complete_once_the_grant_is_cancelled() -> None:
    granted = dataclasses.replace(FRESH, risky_grants=1, risky_cards_usable=1)
    assert _kinds(PROXY, granted) == [
        (StepKind.CANCEL_PROXY, False),
        (StepKind.INTERIM_MEASURES, False),
    ]
    cancelled = dataclasses.replace(granted, risky_grants=0)
    # The card was not left behind: the person's own usable card and account are no risk.
    assert usage_stop(PROXY, cancelled).complete


def test_both_paths_suspension_alone_does_not_help_and_the_guidance_says_so() -> None:
    granted = dataclasses.replace(FRESH, risky_grants=1)
    steps = guidance(BOTH, granted)
    assert "自分のカードで" in steps[0].reason
    suspended = dataclasses.replace(granted, risky_cards_usable=0)
    status = usage_stop(BOTH, suspended)
    assert not status.complete
    assert any("代理人設定" in path for path in status.open_paths)
    closed = dataclasses.replace(
        suspended, new_card_issued=True, stale_account=False, risky_grants=0
    )
    assert usage_stop(BOTH, closed).complete


def test_case_one_only_asks_for_the_request_and_has_no_portal_path() -> None:
    assert _kinds(OWN_ONLY, FRESH) == [(StepKind.NON_DISCLOSURE_REQUEST, False)]
    assert usage_stop(OWN_ONLY, FRESH).complete


@given(
    facts=st.builds(
        CaseFacts,
        own_procedures=st.booleans(),
        card_left_behind=st.booleans(),
        perpetrator_is_proxy=st.booleans(),
        perpetrator_is_legal_representative=st.booleans(),
    ),
    state=st.builds(
        LiveState,
        risky_cards_total=st.integers(0, 2),
        risky_cards_usable=st.integers(0, 2),
        new_card_issued=st.booleans(),
        stale_account=st.booleans(),
        risky_grants=st.integers(0, 2),
        my_number_changed_since_registration=st.booleans(),
    ),
)
def test_complete_exactly_when_no_perpetrator_path_is_open(
    facts: CaseFacts, state: LiveState
) -> None:
    card_path = facts.card_left_behind and (state.risky_cards_usable > 0 or state.stale_account)
    assert usage_stop(facts, state).complete == (not card_path and state.risky_grants == 0)
