"""住民票コード (resident record code): the 11-digit code of the 住民基本台帳."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from fukaiji.identifiers._base import DigitString


@dataclass(frozen=True, slots=True, order=True)
class ResidentRecordCode(DigitString):
    """住民票コード (resident record code): 11 digits.

    The real code ends in a check digit, but its rule is not published, so no check digit is
    enforced here: only the form (11 ASCII digits) is validated.
    """

    FIELD: ClassVar[str] = "住民票コード"
    LENGTH: ClassVar[int] = 11
    value: str
