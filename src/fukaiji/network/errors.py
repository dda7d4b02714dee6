"""Typed errors of the network and its institutions; messages name the field, fault and rule."""

from __future__ import annotations

from dataclasses import dataclass

from fukaiji.errors import DomainError


class NetworkError(DomainError):
    """Base of every refusal by 情報提供ネットワークシステム (information provision network)."""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


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


# ---- 情報連携 (linkage) ----------------------------------------------------------------------


class InvalidQuery(NetworkError):
    """A query names a 事務 or 特定個人情報 code that breaks the rule of its kind."""


class QueryNotPermitted(NetworkError):
    """照会は許可されていません: no row of the legal basis table allows the combination.

    The message names the whole combination that is missing (requester, 事務, provider,
    特定個人情報), so the desk can see which permission it would need. The refusal is written to
    the audit log before this is raised, so ``keep_changes`` tells the caller to commit.
    """

    keep_changes = True

    def __init__(
        self,
        *,
        requester: str,
        affair: str,
        provider: str,
        item: str,
        allowed_pairs: tuple[str, ...] = (),
    ) -> None:
        self.requester = requester
        self.affair = affair
        self.provider = provider
        self.item = item
        self.allowed_pairs = allowed_pairs
        hint = ""
        if allowed_pairs:
            hint = (
                f"。この事務・特定個人情報で認められる組合せ (allowed for this affair and item):"
                f" {'、'.join(allowed_pairs)}"
            )
        super().__init__(
            "法令根拠",
            f"照会は許可されていません: 照会者 {requester}・事務 {affair}・提供者 {provider}・"
            f"特定個人情報 {item} の組合せを認める行が法令根拠表 (番号法別表第二) に"
            f"ありません{hint}"
            f" (query not permitted: no row of the legal basis table allows this requester,"
            f" affair, provider and item)",
        )


class ProviderIsRouted(NetworkError):
    """A municipality was named for a query that the network itself routes to the municipality
    of residence. Audited before it is raised (commit it)."""

    keep_changes = True

    def __init__(self) -> None:
        super().__init__(
            "provider_code",
            "この照会は、情報提供ネットワークシステムが住所地の市区町村へ送ります。"
            "情報提供者の機関コードを指定せずに照会してください。",
        )


class UnknownCode(NetworkError):
    """An intermediate server presented a 機関別符号 the network never issued to it."""

    def __init__(self, institution_code: str) -> None:
        super().__init__(
            "機関別符号",
            f"{institution_code} に発行された符号ではありません "
            f"(this 機関別符号 was not issued to institution {institution_code})",
        )


class UnknownRecord(NetworkError):
    # Also raised for a record the institution took no part in, so that no institution can
    # probe which records exist between others.
    def __init__(self, record_id: int) -> None:
        super().__init__(
            "情報提供等記録",
            f"{record_id}: この機関の情報提供等記録にはありません "
            f"(no linkage record {record_id} involving this institution)",
        )
        self.record_id = record_id


# ---- 法令根拠表 (the legal basis table as shipped data) --------------------------------------


@dataclass(frozen=True, slots=True)
class LegalBasisFault:
    """One fault of one row of a legal basis file: where it is and what is wrong."""

    row: int
    column: str
    value: str
    fault_ja: str
    fault_en: str

    def __str__(self) -> str:
        shown = f" {self.value!r}" if self.value else ""
        return (
            f"{self.row} 行目 {self.column}{shown}: {self.fault_ja}"
            f" (row {self.row}, {self.column}: {self.fault_en})"
        )


class InvalidLegalBasisTable(ValueError):
    """法令根拠表の誤り: every bad row of a legal basis file, each with its row number and fault.

    Row numbers are line numbers of the file (the header is line 1).
    """

    def __init__(self, faults: list[LegalBasisFault]) -> None:
        self.faults = tuple(faults)
        listed = "\n".join(f"  {fault}" for fault in self.faults)
        super().__init__(
            f"法令根拠表に {len(self.faults)} 件の誤りがあります "
            f"(the legal basis table has {len(self.faults)} faults):\n{listed}"
        )
