"""Guidance and the usage-stop status, pure: the seed's cases step by step."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fukaiji.protection.facts import CaseFacts, LiveState
from fukaiji.protection.guidance import Step, StepKind, guidance
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
    risky_appointed_grants=0,
    risky_legal_grants=0,
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
    granted = dataclasses.replace(FRESH, risky_appointed_grants=1, risky_cards_usable=1)
    assert _kinds(PROXY, granted) == [
        (StepKind.CANCEL_PROXY, False),
        (StepKind.INTERIM_MEASURES, False),
    ]
    cancelled = dataclasses.replace(granted, risky_appointed_grants=0)
    # The card was not left behind: the person's own usable card and account are no risk.
    assert usage_stop(PROXY, cancelled).complete


def test_both_paths_suspension_alone_does_not_help_and_the_guidance_says_so() -> None:
    granted = dataclasses.replace(FRESH, risky_appointed_grants=1)
    steps = guidance(BOTH, granted)
    assert "自分のカードで" in steps[0].reason
    suspended = dataclasses.replace(granted, risky_cards_usable=0)
    status = usage_stop(BOTH, suspended)
    assert not status.complete
    assert any("代理人設定" in path for path in status.open_paths)
    closed = dataclasses.replace(
        suspended, new_card_issued=True, stale_account=False, risky_appointed_grants=0
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
        risky_appointed_grants=st.integers(0, 2),
        risky_legal_grants=st.integers(0, 2),
        my_number_changed_since_registration=st.booleans(),
    ),
)
def test_complete_exactly_when_no_perpetrator_path_is_open(
    facts: CaseFacts, state: LiveState
) -> None:
    card_path = facts.card_left_behind and (state.risky_cards_usable > 0 or state.stale_account)
    assert usage_stop(facts, state).complete == (not card_path and state.risky_grants == 0)


# ---- every path has its step: 代理人設定 (任意代理) and 法定代理人 ------------------------------

LEGAL = dataclasses.replace(
    CARD_LEFT, card_left_behind=False, perpetrator_is_legal_representative=True
)
CARD_AND_LEGAL = dataclasses.replace(CARD_LEFT, perpetrator_is_legal_representative=True)
SEED_REFERENCE = re.compile(r"（[^（）]*(?:別添2|1②|2\(\d\))[^（）]*）")


def _step(steps: list[Step], kind: StepKind) -> Step:
    return next(step for step in steps if step.kind is kind)


def _sentences(text: str) -> list[str]:
    """The sentences of a reason, each without the references in brackets at its end."""
    return [re.sub(r"（[^（）]*）$", "", s) for s in text.split("。") if s]


def test_proxy_only_the_step_is_worded_for_the_proxy_she_appointed() -> None:
    granted = dataclasses.replace(FRESH, risky_appointed_grants=1)
    steps = guidance(PROXY, granted)
    assert [s.kind for s in steps] == [StepKind.CANCEL_PROXY, StepKind.INTERIM_MEASURES]
    cancel = steps[0]
    assert "本人が設定した" in cancel.title and "解除" in cancel.title
    assert "本人が自分のカードでログイン" in cancel.reason
    assert "（2(3)、別添2(2)）" in cancel.reason and "（別添2(2)※）" in cancel.reason
    assert "法定代理" not in cancel.title + cancel.reason
    assert not cancel.done
    assert _step(guidance(PROXY, FRESH), StepKind.CANCEL_PROXY).done


def test_legal_only_the_step_names_the_window_the_ground_and_who_records_it() -> None:
    granted = dataclasses.replace(FRESH, risky_legal_grants=1)
    steps = guidance(LEGAL, granted)
    assert [s.kind for s in steps] == [
        StepKind.END_LEGAL_REPRESENTATION,
        StepKind.INTERIM_MEASURES,
    ]
    end = steps[0]
    assert "交付窓口" in end.title and "職員" in end.title and "根拠" in end.title
    # Not the proxy's wording: she does not cancel a 法定代理人 on the portal.
    assert "代理人設定を解除する" not in end.title
    for words in ("家庭裁判所", "終了の根拠", "事件番号", "本人又は支援者", "その場で終わり"):
        assert words in end.reason, words
    # The seed's sections beside it, and that the window procedure is fukaiji's own.
    assert "（1②※）" in end.reason and "（2(3)、別添2(2)）" in end.reason
    assert "本システムのもので、通知には定めがありません" in end.reason
    assert "改めて登録を受けるおそれ" in end.reason  # deleting the folder is not the end
    assert not end.done and not usage_stop(LEGAL, granted).complete
    ended = dataclasses.replace(granted, risky_legal_grants=0)
    assert _step(guidance(LEGAL, ended), StepKind.END_LEGAL_REPRESENTATION).done
    assert usage_stop(LEGAL, ended).complete
    # Another grant to the perpetrator, one she appointed, has its own step.
    both_kinds = dataclasses.replace(granted, risky_appointed_grants=1)
    assert [s.kind for s in guidance(LEGAL, both_kinds)][:2] == [
        StepKind.CANCEL_PROXY,
        StepKind.END_LEGAL_REPRESENTATION,
    ]


def test_card_and_proxy_the_card_steps_speak_of_the_proxy_only() -> None:
    granted = dataclasses.replace(FRESH, risky_appointed_grants=1)
    steps = guidance(BOTH, granted)
    assert [s.kind for s in steps] == [
        StepKind.SUSPEND_CARD,
        StepKind.REISSUE_CARD,
        StepKind.CHANGE_MY_NUMBER,
        StepKind.DELETE_ACCOUNT,
        StepKind.INTERIM_MEASURES,
    ]
    suspend = steps[0]
    assert "加害者を代理人設定しているため" in suspend.reason
    assert "アカウントの削除又は代理人設定の解除が必要です（別添2 ※）" in suspend.reason
    assert "法定代理" not in "".join(s.reason for s in steps)


def test_card_and_legal_the_card_steps_and_the_window_step_both_apply() -> None:
    granted = dataclasses.replace(FRESH, risky_legal_grants=1)
    steps = guidance(CARD_AND_LEGAL, granted)
    assert [s.kind for s in steps] == [
        StepKind.SUSPEND_CARD,
        StepKind.REISSUE_CARD,
        StepKind.CHANGE_MY_NUMBER,
        StepKind.DELETE_ACCOUNT,
        StepKind.END_LEGAL_REPRESENTATION,
        StepKind.INTERIM_MEASURES,
    ]
    suspend, delete = steps[0], steps[3]
    assert "加害者が法定代理人であるため" in suspend.reason
    assert "停止するだけでは" in suspend.reason and "自分のカードで" in suspend.reason
    assert "交付窓口で記録してもらう必要があります" in suspend.reason
    assert "代理人設定の解除が必要" not in suspend.reason  # she appointed no one
    assert "改めて登録を受けるおそれ" in delete.reason
    end = steps[4]
    assert "（1②※）" in end.reason and not end.done
    # Suspended, reissued and deleted: deleting ended the registration too, so all is done.
    closed = dataclasses.replace(
        granted,
        risky_cards_usable=0,
        new_card_issued=True,
        stale_account=False,
        risky_legal_grants=0,
    )
    assert all(
        step.done
        for step in guidance(CARD_AND_LEGAL, closed)
        if step.kind is not StepKind.CHANGE_MY_NUMBER
    )
    # Both: proxy and legal representative.
    both = dataclasses.replace(CARD_AND_LEGAL, perpetrator_is_proxy=True)
    reason = guidance(both, granted)[0].reason
    assert "法定代理人でもあるため" in reason and "（別添2 ※）" in reason


@pytest.mark.parametrize(
    "facts",
    [PROXY, LEGAL, BOTH, CARD_AND_LEGAL, OWN_ONLY, CARD_LEFT],
    ids=["proxy", "legal", "card+proxy", "card+legal", "own", "card"],
)
def test_every_step_cites_the_seed_and_reads_in_one_voice(facts: CaseFacts) -> None:
    state = dataclasses.replace(FRESH, risky_appointed_grants=1, risky_legal_grants=1)
    for step in guidance(facts, state):
        assert SEED_REFERENCE.search(step.reason), step.kind
        for sentence in _sentences(step.reason):
            assert sentence.endswith(("ます", "ません", "です", "ください")), sentence
        assert not re.search(r"[A-Za-z]{3,}", step.title + step.reason), step.kind


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
        risky_appointed_grants=st.integers(0, 2),
        risky_legal_grants=st.integers(0, 2),
        my_number_changed_since_registration=st.booleans(),
    ),
)
def test_while_a_path_is_open_some_required_step_is_not_done(
    facts: CaseFacts, state: LiveState
) -> None:
    """The guidance never reads as all done while the usage stop is not complete."""
    if not usage_stop(facts, state).complete:
        assert any(step.required and not step.done for step in guidance(facts, state))
