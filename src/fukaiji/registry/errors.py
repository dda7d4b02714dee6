"""Typed errors of 住民基本台帳; each message names the field, the fault and the rule."""

from __future__ import annotations

from fukaiji.errors import DomainError


class RegistryError(DomainError):
    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidResident(RegistryError):
    """Resident data breaks a rule (a name, a date, an address)."""


class UnknownPerson(RegistryError):
    def __init__(self) -> None:
        super().__init__("住民", "該当する住民がいません (no such resident)")


class UnknownMyNumber(RegistryError):
    def __init__(self) -> None:
        # The number itself is not repeated: an error message must not carry a 個人番号.
        super().__init__("個人番号", "この番号の住民はいません (no resident has this number)")


class RetiredMyNumber(RegistryError):
    def __init__(self) -> None:
        super().__init__(
            "個人番号",
            "この番号は変更により廃止されています。新しい番号で照会してください "
            "(this number was retired by a change of number and finds no one)",
        )


class NotResidentHere(RegistryError):
    def __init__(self, municipality_code: str) -> None:
        super().__init__(
            "住所",
            f"この住民は {municipality_code} の住民ではありません "
            f"(the resident does not live in municipality {municipality_code})",
        )
