"""職員に関する誤り (staff errors).

Each error names the field, the fault and the rule, Japanese first and English in parentheses, e.g.
``パスワード: 12 文字以上が必要です (password must be at least 12 characters)``. ``field`` is the
English field name an API or form uses to put the message next to the right input. No message ever
contains a password, a TOTP secret or code, a session token or an API key.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from fukaiji.errors import DomainError


class StaffError(DomainError):
    """職員・API キーの操作の誤り (a staff or API key operation was refused)."""


class PasswordFault(StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    CONTAINS_USERNAME = "contains_username"
    TOO_FEW_DISTINCT = "too_few_distinct"
    TOO_COMMON = "too_common"


class PasswordPolicyError(StaffError):
    """パスワードが規則に合わない (the password breaks the policy); lists every fault at once."""

    def __init__(self, faults: Sequence[tuple[PasswordFault, str, str]]) -> None:
        self.faults = tuple(fault for fault, _, _ in faults)
        parts = "; ".join(f"{ja} (password {en})" for _, ja, en in faults)
        super().__init__("password", f"パスワード: {parts}")


class InvalidUsername(StaffError):
    def __init__(self, username: str, fault_ja: str, fault_en: str) -> None:
        self.username = username
        super().__init__("username", f"ユーザー名 {username!r}: {fault_ja} (username {fault_en})")


class DuplicateUsername(StaffError):
    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(
            "username",
            f"ユーザー名 {username}: すでに使われています。ユーザー名は全機関で一意です"
            f" (username already taken; usernames are unique across all institutions)",
        )


class InvalidDisplayName(StaffError):
    def __init__(self, fault_ja: str, fault_en: str) -> None:
        super().__init__("display_name", f"氏名: {fault_ja} (display name {fault_en})")


class InvalidApiKeyName(StaffError):
    def __init__(self, fault_ja: str, fault_en: str) -> None:
        super().__init__("name", f"API キーの名前: {fault_ja} (API key name {fault_en})")


class InvalidRole(StaffError):
    def __init__(self, value: str, known: Sequence[str]) -> None:
        self.value = value
        super().__init__(
            "roles",
            f"役割 {value!r}: 未知の役割です。次のいずれかです: {', '.join(known)}"
            f" (unknown role; must be one of the above)",
        )


class MissingRoles(StaffError):
    def __init__(self) -> None:
        super().__init__(
            "roles",
            "役割: 1 つ以上が必要です (roles: at least one role must be granted)",
        )


class UnknownInstitution(StaffError):
    def __init__(self, reference: int | str) -> None:
        self.reference = reference
        super().__init__(
            "institution",
            f"機関 {reference}: 登録されていません (institution is not registered)",
        )


class UnknownDepartment(StaffError):
    def __init__(self, reference: int | str) -> None:
        self.reference = reference
        super().__init__(
            "department",
            f"部署 {reference}: この機関に登録されていません"
            f" (department is not registered at this institution)",
        )


class DepartmentOfAnotherInstitution(UnknownDepartment):
    """The department exists, but a staff member must belong to a department of their own
    institution: the need-to-know rules are drawn along institution lines."""

    def __init__(self, department_id: int) -> None:
        StaffError.__init__(
            self,
            "department",
            f"部署 {department_id}: 別の機関の部署です。職員は自機関の部署に所属します"
            f" (department belongs to another institution; staff belong to their own)",
        )
        self.reference = department_id


class UnknownStaff(StaffError):
    # Also raised for a staff member of another institution, so that one institution cannot
    # probe which accounts exist at another.
    def __init__(self, reference: int | str) -> None:
        self.reference = reference
        super().__init__(
            "staff",
            f"職員 {reference}: この機関に登録されていません"
            f" (staff member is not registered at this institution)",
        )


class InactiveStaff(StaffError):
    def __init__(self, staff_id: int) -> None:
        super().__init__(
            "staff",
            f"職員 {staff_id}: 無効化またはロックされているためセッションを開始できません"
            f" (a disabled or locked staff member cannot open a session)",
        )


class UnknownApiKey(StaffError):
    # Also raised for a key of another institution (see UnknownStaff).
    def __init__(self, api_key_id: int) -> None:
        self.api_key_id = api_key_id
        super().__init__(
            "api_key",
            f"API キー {api_key_id}: この機関に登録されていません"
            f" (API key is not registered at this institution)",
        )


class TotpSecretUnreadable(StaffError):
    """The stored TOTP secret cannot be decrypted: the configured key is not the one it was
    encrypted under (e.g. FUKAIJI_SECRET_KEY changed) or the row was tampered with. This is a
    configuration fault, not a wrong code, so it must not count towards a lockout."""

    def __init__(self) -> None:
        super().__init__(
            "totp",
            "TOTP 秘密鍵: 復号できません。FUKAIJI_SECRET_KEY が登録時と同じか確認してください"
            " (TOTP secret cannot be decrypted: the secret key differs from enrolment"
            " or the record was altered)",
        )
