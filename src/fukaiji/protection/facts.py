"""The facts of a protection case and the live state it is judged against. Pure data.

設定対象者 / 留意すべき対象者 (a person to be protected, or to be watched): the seed's two cases are
ケース① — the person's own procedures at the shelter will create linkage records — and ケース② —
the perpetrator can reach the person's マイナポータル, because the card was left behind (カードを
置いたまま避難) or because the perpetrator is the person's proxy (代理人) or legal representative
(法定代理人).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the consultation desk recorded about the case."""

    own_procedures: bool  # ケース①
    card_left_behind: bool  # ケース②: the perpetrator may hold the card (and know the PINs)
    perpetrator_is_proxy: bool  # ケース②: マイナポータルで加害者を代理人設定
    perpetrator_is_legal_representative: bool  # ケース②: 加害者が法定代理人
    perpetrator_id: uuid.UUID | None = None  # the perpetrator, where known and in the register

    @property
    def portal_paths(self) -> bool:
        """ケース②: some path into the portal may be open to the perpetrator."""
        return (
            self.card_left_behind
            or self.perpetrator_is_proxy
            or self.perpetrator_is_legal_representative
        )


@dataclass(frozen=True, slots=True)
class LiveState:
    """The real state of cards, the account and proxy grants, read when asked (never stored).

    "Risky" cards are those that existed when the case was registered: any of them may be in the
    perpetrator's hands. "Risky" grants are live grants to the perpetrator, or every live grant
    when the perpetrator is not identified; they are counted apart by kind, since a 代理人設定
    the person made is closed by her on the portal and a 法定代理人 at the card window.
    """

    risky_cards_total: int
    risky_cards_usable: int  # risky cards that could still log in (not suspended, not abolished)
    new_card_issued: bool  # a usable card issued after the case was registered
    # A live account that a risky card may have used: opened before the case was registered, or
    # opened by a login with a risky card. Deleting it (with a new card) is what clears it.
    stale_account: bool
    risky_appointed_grants: int  # 代理人設定 (任意代理) the person made on the portal
    risky_legal_grants: int  # 法定代理人 recorded at the card window
    my_number_changed_since_registration: bool

    @property
    def risky_grants(self) -> int:
        return self.risky_appointed_grants + self.risky_legal_grants
