"""The closed vocabularies of the protection desk: where an exclusion comes from, how a consent
was given, and what a message to the desk says. Stored as their English values; shown by label."""

from __future__ import annotations

from enum import StrEnum


class ExclusionSource(StrEnum):
    """Where the institution knows a 留意すべき対象者 from (別添2(3) ア・イ)."""

    PROTECTION = "protection"  # this system's own record (既存システムにおいて把握)
    PAPER_LEDGER = "paper_ledger"  # 紙台帳
    NONDISCLOSURE_FLAG = "nondisclosure_flag"  # 中間サーバーの不開示フラグ

    @property
    def label(self) -> str:
        return {
            "protection": "相談窓口の登録",
            "paper_ledger": "紙台帳",
            "nondisclosure_flag": "不開示フラグ",
        }[self.value]


class ConsentChannel(StrEnum):
    """How the person said they agree to receive the notice (本人の意向確認, 別添2(3)①)."""

    WINDOW = "window"
    PHONE = "phone"
    WRITING = "writing"

    @property
    def label(self) -> str:
        return {"window": "窓口", "phone": "電話", "writing": "書面"}[self.value]


class DeskMessageKind(StrEnum):
    EXCLUSION_LIFTED = "exclusion_lifted"
    EXCLUSION_RESTORED = "exclusion_restored"
    MOVED_OUT = "moved_out"
    MOVED_IN = "moved_in"
    QUERY = "query"
    REGION_CHANGED = "region_changed"
    ALERT = "alert"

    @property
    def label(self) -> str:
        return _MESSAGE_LABELS[self]


_MESSAGE_LABELS = {
    DeskMessageKind.EXCLUSION_LIFTED: "除外の解除",
    DeskMessageKind.EXCLUSION_RESTORED: "除外の再開",
    DeskMessageKind.MOVED_OUT: "転出",
    DeskMessageKind.MOVED_IN: "転入",
    DeskMessageKind.QUERY: "情報照会",
    DeskMessageKind.REGION_CHANGED: "保護地域の変更",
    DeskMessageKind.ALERT: "注意",
}
