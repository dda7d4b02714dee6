"""Typed errors of the network and its institutions; messages name the field, fault and rule."""

from __future__ import annotations


class NetworkError(Exception):
    """Base of every refusal by 情報提供ネットワークシステム (information provision network)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownInstitution(NetworkError):
    def __init__(self, code: str) -> None:
        super().__init__(
            "機関コード", f"{code} の機関は登録されていません (no institution with code {code})"
        )
        self.code = code


class InvalidInstitution(NetworkError):
    """An institution to be added breaks a rule (its code, kind or location)."""


class DuplicateInstitution(NetworkError):
    def __init__(self, code: str) -> None:
        super().__init__(
            "機関コード", f"{code} は既に登録されています (institution {code} already exists)"
        )


class UnknownDepartment(NetworkError):
    def __init__(self, institution_code: str, name: str) -> None:
        super().__init__(
            "部署",
            f"{institution_code} に「{name}」という部署はありません "
            f"(institution {institution_code} has no department {name!r})",
        )


class DuplicateDepartment(NetworkError):
    def __init__(self, institution_code: str, name: str) -> None:
        super().__init__(
            "部署",
            f"{institution_code} に「{name}」は既にあります "
            f"(institution {institution_code} already has department {name!r})",
        )
