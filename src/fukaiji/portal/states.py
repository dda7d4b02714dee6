"""The named states of マイナポータル: kinds of proxy, why a grant or a session ended, the views,
the entries of 操作履歴 and the categories of お知らせ. Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum


class ChallengePurpose(StrEnum):
    """What a challenge may be signed for: a login, or the fresh login that deleting needs."""

    LOGIN = "login"
    DELETION = "deletion"


class GrantKind(StrEnum):
    APPOINTED = "appointed"  # 任意代理人: appointed by the person through an invitation code
    LEGAL = "legal"  # 法定代理人: recorded by staff at the card window

    @property
    def label(self) -> str:
        return {"appointed": "代理人", "legal": "法定代理人"}[self.value]


class Representation(StrEnum):
    """The ground of a 法定代理人's power, as the card window records it."""

    PARENTAL_AUTHORITY = "parental_authority"  # 親権者
    MINOR_GUARDIAN = "minor_guardian"  # 未成年後見人
    ADULT_GUARDIAN = "adult_guardian"  # 成年後見人

    @property
    def label(self) -> str:
        return _REPRESENTATION_LABELS[self]


_REPRESENTATION_LABELS = {
    Representation.PARENTAL_AUTHORITY: "親権者",
    Representation.MINOR_GUARDIAN: "未成年後見人",
    Representation.ADULT_GUARDIAN: "成年後見人",
}


class LegalEndGround(StrEnum):
    """終了の根拠: why a 法定代理 ended, as the card window records it from the document shown
    (a family court's decision with its certificate of finality, or the family register).

    Only grounds on which the law itself ends the representation. A 保護命令 under the DV law
    does not end a parent's or guardian's power, so it is not one: where the perpetrator is the
    victim's 法定代理人, the way out is a family court's decision (民法第834条ほか), which the
    window then records here.
    """

    PARENTAL_AUTHORITY_LOST = "parental_authority_lost"  # 親権喪失・親権停止・管理権喪失の審判
    CUSTODY_REASSIGNED = "custody_reassigned"  # 親権者の指定・変更 (離婚・調停・審判)
    GUARDIAN_DISMISSED = "guardian_dismissed"  # 後見人の解任の審判
    RESIGNATION_PERMITTED = "resignation_permitted"  # 家庭裁判所の許可を得た辞任
    GUARDIANSHIP_REVOKED = "guardianship_revoked"  # 後見開始の審判の取消し
    CAME_OF_AGE = "came_of_age"  # 本人が成年に達した
    REPRESENTATIVE_DIED = "representative_died"  # 法定代理人の死亡

    @property
    def label(self) -> str:
        return _END_GROUND_LABELS[self]

    @property
    def applies_to(self) -> frozenset[Representation]:
        """The kinds of 法定代理 this ground can end."""
        return _END_GROUND_APPLIES_TO[self]


_END_GROUND_LABELS = {
    LegalEndGround.PARENTAL_AUTHORITY_LOST: (
        "親権喪失・親権停止・管理権喪失の審判（民法第834条・第834条の2・第835条）"
    ),
    LegalEndGround.CUSTODY_REASSIGNED: (
        "親権者の指定・変更（離婚、家庭裁判所の調停・審判。民法第819条）"
    ),
    LegalEndGround.GUARDIAN_DISMISSED: "後見人の解任の審判（民法第846条）",
    LegalEndGround.RESIGNATION_PERMITTED: ("家庭裁判所の許可を得た辞任（民法第837条・第844条）"),
    LegalEndGround.GUARDIANSHIP_REVOKED: "後見開始の審判の取消し（民法第10条）",
    LegalEndGround.CAME_OF_AGE: "本人が成年に達したこと（民法第4条）",
    LegalEndGround.REPRESENTATIVE_DIED: "法定代理人の死亡（民法第111条第1項第2号）",
}
_PARENT = frozenset({Representation.PARENTAL_AUTHORITY})
_GUARDIANS = frozenset({Representation.MINOR_GUARDIAN, Representation.ADULT_GUARDIAN})
_EVERY_REPRESENTATION = frozenset(Representation)
_END_GROUND_APPLIES_TO = {
    LegalEndGround.PARENTAL_AUTHORITY_LOST: _PARENT,
    LegalEndGround.CUSTODY_REASSIGNED: _PARENT,
    LegalEndGround.GUARDIAN_DISMISSED: _GUARDIANS,
    LegalEndGround.RESIGNATION_PERMITTED: _EVERY_REPRESENTATION,
    LegalEndGround.GUARDIANSHIP_REVOKED: frozenset({Representation.ADULT_GUARDIAN}),
    LegalEndGround.CAME_OF_AGE: frozenset(
        {Representation.PARENTAL_AUTHORITY, Representation.MINOR_GUARDIAN}
    ),
    LegalEndGround.REPRESENTATIVE_DIED: _EVERY_REPRESENTATION,
}


class GrantEnd(StrEnum):
    CANCELLED_BY_PRINCIPAL = "cancelled_by_principal"  # 代理人設定の解除 (by the person)
    ACCOUNT_DELETED = "account_deleted"  # 利用者フォルダの削除で代理権も消滅
    ENDED_AT_WINDOW = "ended_at_window"  # 法定代理の終了 recorded at the card window

    @property
    def label(self) -> str:
        return _GRANT_END_LABELS[self]


_GRANT_END_LABELS = {
    GrantEnd.CANCELLED_BY_PRINCIPAL: "本人による解除",
    GrantEnd.ACCOUNT_DELETED: "利用者フォルダの削除による消滅",
    GrantEnd.ENDED_AT_WINDOW: "窓口での法定代理の終了",
}


class SessionEnd(StrEnum):
    LOGOUT = "logout"
    REPLACED = "replaced"  # a new login in the same browser
    IDLE_TIMEOUT = "idle_timeout"
    CARD_UNUSABLE = "card_unusable"  # the card that opened it was suspended, abolished or expired
    ACCOUNT_DELETED = "account_deleted"  # the person's own folder, or the folder entered, is gone
    GRANT_ENDED = "grant_ended"  # the grant a proxy entered the folder under was cancelled


class ViewKind(StrEnum):
    """The three views of a folder."""

    RECORDS = "records"  # やりとり履歴 (情報提供等記録)
    SELF_INFO = "self_info"  # 自己情報
    INBOX = "inbox"  # お知らせ

    @property
    def label(self) -> str:
        return {"records": "やりとり履歴", "self_info": "自己情報", "inbox": "お知らせ"}[self.value]


ALL_VIEWS = frozenset(ViewKind)


class AccessAction(StrEnum):
    """An entry of the folder's 操作履歴: who did what in the folder."""

    LOGIN = "login"
    PROXY_ENTERED = "proxy_entered"
    VIEWED_RECORDS = "viewed_records"
    VIEWED_SELF_INFO = "viewed_self_info"
    VIEWED_INBOX = "viewed_inbox"
    INVITATION_CREATED = "invitation_created"
    INVITATION_CANCELLED = "invitation_cancelled"
    GRANT_CREATED = "grant_created"
    GRANT_ENDED = "grant_ended"
    SETTINGS_CHANGED = "settings_changed"
    MOVE_OUT_FILED = "move_out_filed"  # 引越し手続: the person filed her 転出届
    MOVE_OUT_CANCELLED = "move_out_cancelled"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]

    @classmethod
    def viewed(cls, kind: ViewKind) -> AccessAction:
        return {
            ViewKind.RECORDS: cls.VIEWED_RECORDS,
            ViewKind.SELF_INFO: cls.VIEWED_SELF_INFO,
            ViewKind.INBOX: cls.VIEWED_INBOX,
        }[kind]


_ACTION_LABELS = {
    AccessAction.LOGIN: "ログイン",
    AccessAction.PROXY_ENTERED: "代理人としてフォルダを表示",
    AccessAction.VIEWED_RECORDS: "やりとり履歴の表示",
    AccessAction.VIEWED_SELF_INFO: "自己情報の表示",
    AccessAction.VIEWED_INBOX: "お知らせの表示",
    AccessAction.INVITATION_CREATED: "代理人招待コードの発行",
    AccessAction.INVITATION_CANCELLED: "代理人招待コードの取消し",
    AccessAction.GRANT_CREATED: "代理人の設定",
    AccessAction.GRANT_ENDED: "代理人設定の解除",
    AccessAction.SETTINGS_CHANGED: "設定の変更",
    AccessAction.MOVE_OUT_FILED: "転出届の提出（引越し手続）",
    AccessAction.MOVE_OUT_CANCELLED: "転出届の取消し",
}


class InboxCategory(StrEnum):
    """The kind of an お知らせ, as the sending institution files it."""

    GENERAL = "general"
    PROCEDURE = "procedure"
    BENEFIT = "benefit"
    TAX = "tax"
    HEALTH = "health"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    InboxCategory.GENERAL: "一般",
    InboxCategory.PROCEDURE: "手続の案内",
    InboxCategory.BENEFIT: "給付",
    InboxCategory.TAX: "税",
    InboxCategory.HEALTH: "健康・医療",
}
