"""団体内統合宛名番号 (addressee number): the 15-digit number a local institution gives a person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from fukaiji.identifiers._base import DigitString


@dataclass(frozen=True, slots=True, order=True)
class AddresseeNumber(DigitString):
    """団体内統合宛名番号 (addressee number): 15 digits, no check digit.

    Each local institution assigns its own to every person it deals with; destination files
    (宛先ファイル) list these, never the 個人番号.
    """

    FIELD: ClassVar[str] = "団体内統合宛名番号"
    LENGTH: ClassVar[int] = 15
    value: str
