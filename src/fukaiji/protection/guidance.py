"""Guidance (案内): the ordered steps still to do for a protected person, each with its reason and
the seed's sections beside it, and whether it is done — judged from the live state, never ticked
by hand. Pure.

The steps follow 別添2 (1)(2) and the seed's 2(2)(3): suspend the card left behind by calling
マイナンバー総合フリーダイヤル, apply for reissue, change the My Number where needed, log in with
the new card and delete the account (which ends every proxy grant) or cancel the proxy; when the
card was left behind *and* the perpetrator is a proxy, suspension alone does not help.

Every path has its step. The seed counts a perpetrator who is the person's 法定代理人 among the
proxies (1②※) but says how to close only a 代理人設定 the person made herself (2(3), 別添2(2)).
A 法定代理人 is not hers to cancel: the representation ends by law (a family court's decision, the
child coming of age, …), and fukaiji closes the path when the municipality's 交付窓口 records that
end with its ground (``portal.proxies.end_legal_representation``). That step says so, and that the
window procedure is this system's, not the seed's. A step for a kind of grant also appears when
the live state finds such a grant open although the case facts did not mention it, so that the
guidance never reads as all done while the usage stop is not complete.

Reasons are written in 敬体; titles are headings and stay in the plain form.
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
    CANCEL_PROXY = "cancel_proxy"  # 代理人設定 (任意代理) the person made on the portal
    END_LEGAL_REPRESENTATION = "end_legal_representation"  # 法定代理人, at the 交付窓口
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
        # Deleting the account with the new card ends every grant, the proxy's included.
        steps += _card_steps(facts, state)
    elif facts.perpetrator_is_proxy or state.risky_appointed_grants:
        steps.append(_cancel_proxy(state))
    legal_open = state.risky_legal_grants and not facts.card_left_behind
    if facts.perpetrator_is_legal_representative or legal_open:
        steps.append(_end_legal_representation(facts, state))
    if facts.portal_paths or state.risky_grants:
        steps.append(_interim_measures(facts, state))
    return steps


def _non_disclosure_request() -> Step:
    return Step(
        StepKind.NON_DISCLOSURE_REQUEST,
        "避難先の各行政機関等で最初に手続をする際に、不開示措置を申し出る",
        "住民票を移しているか否かに関わらず、避難先の各行政機関等で個人番号を提出して最初に手続を"
        "行う際に、避難に至った状況を説明の上、不開示措置を講じるよう申し出ます（2(1)）。"
        "本人が申し出られない場合は、支援者から申し出ます（2(1)注）。",
        done=False,
        required=False,
    )


def _card_steps(facts: CaseFacts, state: LiveState) -> list[Step]:
    proxy = facts.perpetrator_is_proxy
    legal = facts.perpetrator_is_legal_representative
    suspend_reason = (
        f"カードを置いたまま避難しているため、まずカードの停止を連絡します（{TOLL_FREE}、無料）。"
        "停止すると、そのカードではマイナポータルにログインできなくなります（2(2)、別添2(1)）。"
    )
    if proxy or legal:
        who = {
            (True, False): "加害者を代理人設定しているため",
            (False, True): "加害者が法定代理人であるため",
            (True, True): "加害者を代理人設定しており、加害者は法定代理人でもあるため",
        }[(proxy, legal)]
        closing = {
            (True, False): "アカウントの削除又は代理人設定の解除が必要です（別添2 ※）。",
            (False, True): (
                "アカウントを削除し、法定代理の終了を交付窓口で記録してもらう必要があります"
                "（別添2 ※ を法定代理人に当てはめたもの）。窓口の手続は、下記の手順のとおりです。"
            ),
            (True, True): (
                "アカウントの削除又は代理人設定の解除が必要です（別添2 ※）。さらに、法定代理の"
                "終了を交付窓口で記録してもらう必要があります（下記の手順のとおり）。"
            ),
        }[(proxy, legal)]
        suspend_reason += (
            f"ただし{who}、カードを停止するだけでは、加害者は自分のカードで利用者フォルダーに"
            f"ログインできます。停止後に再交付を受け、{closing}"
        )
    delete_reason = (
        "削除すれば代理権も消滅し、再度開設したアカウントには削除前の情報も代理人設定も"
        "引き継がれません（2(3)、別添2(1)、別添2(2)※）。"
    )
    if legal:
        delete_reason += (
            "法定代理人としての登録も削除で消えますが、法定代理そのものは続くため、加害者が"
            "交付窓口で改めて登録を受けるおそれがあります。法定代理の終了の記録も受けてください。"
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
            "代わる新しいカードの再交付を受けます（2(3)注、別添2(1)）。",
            done=state.new_card_issued,
        ),
        Step(
            StepKind.CHANGE_MY_NUMBER,
            "必要に応じてマイナンバーの変更を申請する",
            "加害者に個人番号を知られ、不正に用いられるおそれがある場合は変更します"
            "（2(2)、別添2(1)）。",
            done=state.my_number_changed_since_registration,
            required=False,
        ),
        Step(
            StepKind.DELETE_ACCOUNT,
            "新しいカードでマイナポータルにログインし、利用者フォルダー（アカウント）を削除する",
            delete_reason,
            done=not state.stale_account and state.risky_grants == 0,
        ),
    ]


def _cancel_proxy(state: LiveState) -> Step:
    """任意代理 only: the 代理人設定 the person made on the portal, hers to cancel."""
    return Step(
        StepKind.CANCEL_PROXY,
        "マイナポータルで、本人が設定した加害者の代理人設定を解除する（又は利用者フォルダーを"
        "削除する）",
        "本人がマイナポータルで加害者を代理人に設定している場合は、本人が自分のカードでログイン"
        "して、その代理人設定を解除します（2(3)、別添2(2)）。解除すれば、加害者は本人の"
        "マイナポータルの情報を見ることができなくなります（別添2(4)※）。利用者フォルダー"
        "（アカウント）を削除しても代理権は消滅します（別添2(2)※）。",
        done=state.risky_appointed_grants == 0,
    )


def _end_legal_representation(facts: CaseFacts, state: LiveState) -> Step:
    """法定代理人: closed at the municipality's 交付窓口, which records the end and its ground."""
    reason = (
        "加害者が法定代理人である場合も、加害者は自分のカードで本人の利用者フォルダーを見られます"
        "（1②※）。法定代理人は本人が設定したものではないため、通知が定める代理人設定の解除"
        "（2(3)、別添2(2)）に代わり、本システムでは次のとおり閉じます。"
        "本人又は支援者が、法定代理が終わったことを示す書類（親権喪失・親権停止・管理権喪失や"
        "後見人の解任の審判書と確定証明書、親権者の変更が記載された戸籍謄本など）を持って、"
        "住民票のある市区町村の交付窓口に行きます。交付窓口の職員が、書類で確かめた終了の根拠"
        "（家庭裁判所の審判など）を、審判の事件番号があればそれとともに記録して法定代理を終了"
        "すると、加害者の登録はその場で終わり、加害者がログイン中の画面もその場で使えなく"
        "なります。"
        "審判がまだない場合は、家庭裁判所への申立て（親権停止・親権喪失、後見人の解任など）から"
        "始めます。"
    )
    if not facts.card_left_behind:
        reason += (
            "利用者フォルダー（アカウント）を削除しても登録は消えますが、法定代理そのものは続く"
            "ため、加害者が交付窓口で改めて登録を受けるおそれがあります。"
        )
    reason += (
        "この窓口の手続は本システムのもので、通知には定めがありません。終わるまでの間は、"
        "不開示措置とお知らせの宛先からの除外で対応します（2(3)注）。"
    )
    return Step(
        StepKind.END_LEGAL_REPRESENTATION,
        "交付窓口で、加害者の法定代理の終了を根拠とともに記録してもらう"
        "（市区町村の交付窓口の職員が記録）",
        reason,
        done=state.risky_legal_grants == 0,
    )


def _interim_measures(facts: CaseFacts, state: LiveState) -> Step:
    return Step(
        StepKind.INTERIM_MEASURES,
        "利用停止手続が完了するまでは、不開示措置とお知らせの宛先からの除外で対応する",
        "手続等が完了するまでの間は、不開示措置により対応できます（2(3)注）。お知らせを送る部署は"
        "宛先ファイルから本人を除外し、完了を確認したら除外を解除します（別添2(3)(4)）。"
        "また本システムは、登録の時点から、加害者に開いているおそれのある経路には、保護地域が"
        "分かる項目を表示しません。経路そのものは開いたままのため、手続は必要です。",
        done=usage_stop_complete(facts, state),
        required=False,
    )
