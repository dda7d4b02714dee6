"""Refusals of the notice services. Messages name the field, the fault and the rule."""

from __future__ import annotations

from fukaiji.errors import DomainError
from fukaiji.intermediate.addressee_files import RowFault, summarise_faults


class NoticeError(DomainError):
    """Base of every refusal in ``fukaiji.notices``."""


class InvalidNotice(NoticeError):
    """Bad input: nothing was changed."""


class UnknownNotice(NoticeError):
    """No such notice at this institution (also what another institution is told)."""

    def __init__(self) -> None:
        super().__init__("notice", "見つかりません (not found)")


class NoticeLocked(NoticeError):
    """Sending has started: the notice and its destination file can no longer change."""


class DestinationRejected(InvalidNotice):
    """Strict mode: the file had bad rows, so none of it was taken. ``faults`` lists them all."""

    def __init__(self, faults: tuple[RowFault, ...]) -> None:
        super().__init__(
            "宛先ファイル",
            f"{len(faults)} 行に誤りがあるため、ファイル全体を受け付けませんでした"
            f" (strict mode: nothing taken; {len(faults)} bad rows): {summarise_faults(faults)}",
        )
        self.faults = faults
