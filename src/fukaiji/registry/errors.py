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


class ResidentElsewhere(UnknownPerson):
    """The person exists but lives in another municipality. Answered exactly as a person who does
    not exist (no oracle), but the attempt was audited and told to the desks that protect her, so
    the caller commits."""

    keep_changes = True


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


class MoveOutRefused(InvalidResident):
    """A 転出届 that breaks a rule (the destination, the planned day, one already open)."""


class NoOpenMoveOut(RegistryError):
    def __init__(self) -> None:
        super().__init__("転出届", "取り消せる転出届がありません。")


class MoveInRefused(RegistryError):
    """A 転入 refused. Audited (and told to the desks that protect the person): commit."""

    keep_changes = True


class NoMoveOutHere(MoveInRefused):
    """No open 転出届 names this municipality as destination. One message whether the person has
    no 転出届 at all, one to elsewhere, or no such 個人番号 exists: nothing to probe with."""

    def __init__(self) -> None:
        super().__init__(
            "個人番号",
            "この市区町村を転出先とする転出届がないため、転入を記録できません。"
            "個人番号を確かめ、転出元の市区町村で転出届（マイナポータルの引越し手続を含みます）が"
            "済んでいるか、ご本人に確認してください。",
        )


class AlreadyResident(MoveInRefused):
    """The 転入 is tried by the municipality the person lives in (only it can be told so)."""

    def __init__(self) -> None:
        super().__init__(
            "個人番号",
            "この方はすでにこの市区町村の住民です。市区町村の中での引越しは、転居として"
            "届け出てください。",
        )


class MoveInDateRefused(MoveInRefused):
    """The 転入 day is in the future, too early for the 転出届, or the legal period has passed."""

    def __init__(self, message: str) -> None:
        super().__init__("異動日", message)
