"""中間サーバーに関する誤り (intermediate server errors).

Each error names the field, the fault and the rule, Japanese first and English in parentheses.
No message ever contains a 個人番号 or a 機関別符号.
"""

from __future__ import annotations

from fukaiji.errors import DomainError


class IntermediateError(DomainError):
    """中間サーバー・宛名システムの操作の誤り (an intermediate server operation was refused)."""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidAddresseeNumber(IntermediateError):
    def __init__(self, message: str) -> None:
        super().__init__("団体内統合宛名番号", message)


class UnknownAddressee(IntermediateError):
    def __init__(self, institution_code: str, addressee_number: str) -> None:
        super().__init__(
            "団体内統合宛名番号",
            f"{addressee_number}: {institution_code} で付番されていません "
            f"(no addressee number {addressee_number} at institution {institution_code})",
        )
        self.institution_code = institution_code
        self.addressee_number = addressee_number


class InvalidSelfInfo(IntermediateError):
    """A 副本 item to be registered breaks a rule (its code, content or publication window)."""


class UnknownSelfInfoItem(IntermediateError):
    # Also raised for an item of another institution, so that none can probe another's items.
    def __init__(self, item_id: int) -> None:
        super().__init__(
            "副本",
            f"{item_id}: この機関の副本にはありません (no 副本 item {item_id} at this institution)",
        )
        self.item_id = item_id
