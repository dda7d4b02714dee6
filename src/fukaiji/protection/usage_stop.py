"""利用停止手続 (usage-stop procedures): complete or not, derived from the live state. Pure.

Complete means no perpetrator path into the portal is left: no card the perpetrator may hold can
still log in — and, where the card was left behind, the account was deleted after a login with a
new card (別添2(4)※: 停止後に再交付を受け、アカウントを削除) — and no risky proxy grant exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from fukaiji.protection.facts import CaseFacts, LiveState


@dataclass(frozen=True, slots=True)
class UsageStop:
    complete: bool
    open_paths: tuple[str, ...]  # what is still open, in words for the desk


def usage_stop(facts: CaseFacts, state: LiveState) -> UsageStop:
    open_paths: list[str] = []
    if facts.card_left_behind:
        if state.risky_cards_usable:
            open_paths.append("置いてきたカードでログインできます")
        if state.stale_account:
            open_paths.append(
                "置いてきたカードで使われたおそれのある利用者フォルダーが残っています"
            )
    if state.risky_appointed_grants:
        open_paths.append(
            f"加害者（又は特定できない代理人）の代理人設定が {state.risky_appointed_grants} 件"
            "残っています"
        )
    if state.risky_legal_grants:
        open_paths.append(
            f"加害者（又は特定できない法定代理人）の法定代理人としての登録が"
            f" {state.risky_legal_grants} 件残っています"
        )
    return UsageStop(complete=not open_paths, open_paths=tuple(open_paths))


def usage_stop_complete(facts: CaseFacts, state: LiveState) -> bool:
    return usage_stop(facts, state).complete
