"""マイナポータルに関する誤り (portal errors).

Each error names the field, the fault and the rule, Japanese first and English in parentheses.
``field`` is the English name of the input an API or form puts the message next to. No message,
attribute or repr ever contains a card token, a PIN, a challenge, an invitation code or a session
token.

``keep_changes`` marks the refusals that have already written something the caller must commit
even though the operation failed: the audit entry of every refusal that is someone trying (a
challenge replayed, an invitation code guessed, a folder entered without a grant), and a
challenge used up by a failed login.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from fukaiji.errors import DomainError


class PortalError(DomainError):
    """マイナポータルの操作の誤り (a portal operation was refused)."""


# ---- input ---------------------------------------------------------------------------------


class InvalidInput(PortalError):
    """A value that breaks a rule (a title too long, an e-mail address without ``@``)."""


# ---- refusals that are audited: commit after catching them ----------------------------------


class PortalRefusal(PortalError):
    """拒否 (refused and audited); the caller must commit."""

    keep_changes = True
    reason: ClassVar[str]


class ChallengeRefused(PortalRefusal):
    """The challenge presented was never issued, was used already, has expired, or was issued
    for something else. One message for all: which of them it was is for the audit log."""

    reason = "challenge_refused"

    def __init__(self) -> None:
        super().__init__(
            "challenge",
            "チャレンジ: 無効です。使用済み・期限切れ (5 分) か、発行されていません。"
            "もう一度最初からやり直してください"
            " (challenge is unknown, used, expired after 5 minutes, or for another purpose;"
            " ask for a new one)",
        )


class InvitationRefused(PortalRefusal):
    """The invitation code is wrong, used, cancelled or expired; one message for all."""

    reason = "invitation_refused"

    def __init__(self) -> None:
        super().__init__(
            "code",
            "招待コード: 無効です。誤り・使用済み・取消し済みか、有効期限 (24 時間) を"
            "過ぎています (invitation code is wrong, used, cancelled or expired after 24 hours)",
        )


class SelfProxy(PortalRefusal):
    reason = "self_proxy"

    def __init__(self) -> None:
        super().__init__(
            "code",
            "代理人: 本人を自分の代理人にすることはできません (a person cannot be their own proxy)",
        )


class NoFolderAccess(PortalRefusal):
    """The viewer may not enter the folder: it does not exist, is deleted, or no live grant
    names the viewer. One message for all, so that nobody learns which folders exist."""

    reason = "no_folder_access"

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        super().__init__(
            "account_id",
            f"利用者フォルダ {account_id}: 表示できません。本人か、有効な代理人設定のある"
            f"代理人だけが表示できます (only the person, or a proxy with a live grant,"
            f" may enter this folder)",
        )


class OwnFolderOnly(PortalRefusal):
    """Done in one's own folder only: a proxy cannot manage proxies, change settings, read the
    操作履歴 or delete the folder of the person they act for."""

    reason = "own_folder_only"

    def __init__(self, what_ja: str, what_en: str) -> None:
        super().__init__(
            "account_id",
            f"{what_ja}: 本人が自分の利用者フォルダでのみ行えます。代理人はできません"
            f" ({what_en}: only the person, in their own folder; a proxy cannot)",
        )


class DeletionRefused(PortalRefusal):
    """The fresh login presented to delete a folder was not by the folder's person."""

    reason = "not_the_person"

    def __init__(self) -> None:
        super().__init__(
            "certificate",
            "利用者フォルダの削除: 本人のマイナンバーカードでの再ログインが必要です。"
            "代理人のカードでは削除できません"
            " (deleting needs a fresh login with the person's own card; a proxy's card cannot)",
        )


# ---- not found and conflicts ---------------------------------------------------------------


class UnknownGrant(PortalError):
    def __init__(self, grant_id: int) -> None:
        self.grant_id = grant_id
        super().__init__(
            "grant_id",
            f"代理人設定 {grant_id}: 有効な設定がありません (no live proxy grant with this id)",
        )


class UnknownInvitation(PortalError):
    def __init__(self, invitation_id: int) -> None:
        self.invitation_id = invitation_id
        super().__init__(
            "invitation_id",
            f"招待コード {invitation_id}: 未使用の招待はありません"
            f" (no pending invitation with this id)",
        )


class NoAccount(PortalError):
    def __init__(self, person_id: uuid.UUID) -> None:
        self.person_id = person_id
        super().__init__(
            "person_id",
            f"住民 {person_id}: 利用者フォルダがありません (the person has no portal account)",
        )


class DuplicateGrant(PortalError):
    def __init__(self) -> None:
        super().__init__(
            "proxy",
            "代理人: この人はすでにこの利用者フォルダの代理人です"
            " (this person already holds a live grant over this folder)",
        )


class GrantNotLegal(PortalError):
    def __init__(self, grant_id: int) -> None:
        self.grant_id = grant_id
        super().__init__(
            "grant_id",
            f"代理人設定 {grant_id}: 法定代理人の設定ではありません。窓口で終了できるのは"
            f"法定代理人だけです (only a legal representative's grant is ended at the window)",
        )
