"""Refusals of the consultation desk's services. Messages name the field, the fault and the rule."""

from __future__ import annotations

from fukaiji.errors import DomainError


class ProtectionError(DomainError):
    """Base of every refusal in ``fukaiji.protection``."""


class InvalidProtection(ProtectionError):
    """Bad input: nothing was changed."""


class UnknownProtection(ProtectionError):
    """No such protection at this institution — also what another institution is told, so that
    it cannot learn whether one exists. The attempt is audited, so the refusal keeps its changes."""

    keep_changes = True

    def __init__(
        self, field: str = "保護対象者", message: str = "見つかりません (not found)"
    ) -> None:
        super().__init__(field, message)


class ProtectionExists(ProtectionError):
    """The institution already protects this person (one record per institution and person).
    Audited before it is raised (commit it): a second registration may be another desk of the
    same institution looking for her."""

    keep_changes = True


class ProtectionAccessDenied(ProtectionError):
    """Only the registering desk may see or change a protection's facts and region. The refusal
    is audited, so it keeps its changes."""

    keep_changes = True


class NotOwnPerson(ProtectionError):
    """A desk tried to register someone who is neither a resident nor an addressee of its own
    institution. Audited and told to the desks that protect her (commit it)."""

    keep_changes = True

    def __init__(self) -> None:
        super().__init__(
            "person",
            "この方は自機関の住民でも、自機関で宛名番号を付番した方でもないため、登録できません。"
            "保護対象者として登録できるのは、自機関が事務で関わっている方だけです。",
        )


class UnknownConsent(ProtectionError):
    pass


class UnknownLedgerEntry(ProtectionError):
    pass
