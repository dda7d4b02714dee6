"""Guidance (案内): the ordered steps still to do for a protected person, each with its reason from
the seed, and whether it is done — judged from the live state, never ticked by hand. Pure.

The steps follow 別添2 (1)(2) and the seed's 2(2)(3): suspend the card left behind by calling
マイナンバー総合フリーダイヤル, apply for reissue, change the My Number where needed, log in with
the new card and delete the account (which ends every proxy grant) or cancel the proxy; when the
card was left behind *and* the perpetrator is a proxy, suspension alone does not help.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fukaiji.protection.facts import CaseFacts, LiveState
from fukaiji.protection.usage_stop import usage_stop_complete

TOLL_FREE = "0120-95-0178"


class StepKind(StrEnum):
    SUSPEND_CARD = "suspend_card"
    REISSUE_CARD = "reissue_card"
    CHANGE_MY_NUMBER = "change_my_number"
    DELETE_ACCOUNT = "delete_account"
    CANCEL_PROXY = "cancel_proxy"
    NON_DISCLOSURE_REQUEST = "non_disclosure_request"
    INTERIM_MEASURES = "interim_measures"


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    title: str
    reason: str
    done: bool
    required: bool = True  # False: "必要に応じて" (where needed); not part of the usage stop


def guidance(facts: CaseFacts, state: LiveState) -> list[Step]:
    """Every step that applies to the case, in the order it should be taken."""
    steps: list[Step] = []
    if facts.own_procedures:
        steps.append(_non_disclosure_request())
    if facts.card_left_behind:
        steps += _card_steps(facts, state)
    elif facts.perpetrator_is_proxy or facts.perpetrator_is_legal_representative:
        steps.append(_cancel_proxy(state))
    if facts.portal_paths:
        steps.append(_interim_measures(facts, state))
    return steps


def _non_disclosure_request() -> Step:
    return Step(
        StepKind.NON_DISCLOSURE_REQUEST,
        "避難先の各行政機関等で最初に手続をする際に、不開示措置を申し出る",
        "住民票を移しているか否かに関わらず、避難先の各行政機関等で個人番号を提出して最初に手続を"
        "行う際に、避難に至った状況を説明の上、不開示措置を講じるよう申し出る（2(1)）。"
        "本人が申し出られない場合は支援者から申し出る（2(1)注）。",
        done=False,
        required=False,
    )


def _card_steps(facts: CaseFacts, state: LiveState) -> list[Step]:
    both = facts.perpetrator_is_proxy or facts.perpetrator_is_legal_representative
    suspend_reason = (
        f"カードを置いたまま避難しているため、まずカードの停止を連絡する（{TOLL_FREE}、無料）。"
        "停止すると、カードによるマイナポータルへのログインはできなくなる（2(2)、別添2(1)）。"
    )
    if both:
        suspend_reason += (
            "ただし加害者を代理人設定しているため、カードを停止するだけでは、加害者は自分のカードで"
            "利用者フォルダーにログインできる。停止後に再交付を受け、アカウント削除又は代理人設定の"
            "解除が必要（別添2 ※）。"
        )
    return [
        Step(
            StepKind.SUSPEND_CARD,
            f"置いてきたカードの一時停止を連絡する（マイナンバー総合フリーダイヤル {TOLL_FREE}）",
            suspend_reason,
            done=state.risky_cards_total > 0 and state.risky_cards_usable == 0,
        ),
        Step(
            StepKind.REISSUE_CARD,
            "カードの再交付を申請する",
            "アカウントの削除や代理人設定の解除にはカードでのログインが必要なため、停止したカードに"
            "代わる新しいカードの再交付を受ける（2(3)注、別添2(1)）。",
            done=state.new_card_issued,
        ),
        Step(
            StepKind.CHANGE_MY_NUMBER,
            "必要に応じてマイナンバーの変更を申請する",
            "加害者に個人番号を知られ、不正に用いられるおそれがある場合は変更する（2(2)、別添2(1)）。",
            done=state.my_number_changed_since_registration,
            required=False,
        ),
        Step(
            StepKind.DELETE_ACCOUNT,
            "新しいカードでマイナポータルにログインし、利用者フォルダー（アカウント）を削除する",
            "削除すれば代理権も消滅し、再度開設したアカウントには削除前の情報も代理人設定も引き継がれ"
            "ない（2(3)、別添2(1)※）。",
            done=not state.stale_account and state.risky_grants == 0,
        ),
    ]


def _cancel_proxy(state: LiveState) -> Step:
    return Step(
        StepKind.CANCEL_PROXY,
        "マイナポータルで加害者の代理人設定を解除する（又は利用者フォルダーを削除する）",
        "代理人設定を解除すれば、加害者は本人のマイナポータルの情報を見ることができなくなる"
        "（2(3)、別添2(2)）。アカウントを削除しても代理権は消滅する。",
        done=state.risky_grants == 0,
    )


def _interim_measures(facts: CaseFacts, state: LiveState) -> Step:
    return Step(
        StepKind.INTERIM_MEASURES,
        "利用停止手続が完了するまでは、不開示措置とお知らせの宛先からの除外で対応する",
        "手続等が完了するまでの間は、不開示措置により対応できる（2(3)注）。お知らせを送る部署は"
        "宛先ファイルから本人を除外し、完了を確認したら除外を解除する（別添2(3)(4)）。",
        done=usage_stop_complete(facts, state),
        required=False,
    )
