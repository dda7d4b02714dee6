"""識別番号の共通部分 (shared parts of the identifier value types).

Private: normalising desk input and the faults that every kind of number reports alike.
"""

from __future__ import annotations

import unicodedata
from typing import ClassVar, Self

from fukaiji.identifiers.errors import InvalidIdentifier

_ASCII_DIGITS = frozenset("0123456789")

# Hyphen look-alikes that NFKC leaves alone; desks type them between digit groups.
_SEPARATORS = frozenset("-‐‑‒–—―−ー")


def _is_noise(char: str) -> bool:
    # Cf covers the BOM and zero-width spaces that pasted text and CSV exports carry.
    return char.isspace() or char in _SEPARATORS or unicodedata.category(char) == "Cf"


def normalize(text: str) -> str:
    """Fold full-width characters (NFKC) and drop spaces and hyphens typed between groups."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(char for char in folded if not _is_noise(char))


def show(char: str) -> str:
    """Render one character so that invisible ones are still visible in a message."""
    return char if char.isprintable() else f"U+{ord(char):04X}"


def empty_fault(field: str, value: str) -> InvalidIdentifier:
    return InvalidIdentifier(field, value, "値が空です", "value is empty")


def length_fault(field: str, value: str, expected: int, *, unit: str) -> InvalidIdentifier:
    unit_ja = "桁" if unit == "digits" else "文字"
    return InvalidIdentifier(
        field,
        value,
        f"{expected} {unit_ja}のはずですが {len(value)} {unit_ja}です",
        f"should be {expected} {unit}, not {len(value)}",
    )


def check_digit_fault(field: str, value: str, expected: str) -> InvalidIdentifier:
    return InvalidIdentifier(
        field, value, f"検査用数字は {expected} のはずです", f"check digit should be {expected}"
    )


def require_digits(field: str, value: str, length: int) -> None:
    """Raise for the first fault among: empty, a non-digit character, wrong length."""
    if not isinstance(value, str):
        raise TypeError(f"{field}: expected str, got {type(value).__name__}")
    if not value:
        raise empty_fault(field, value)
    for position, char in enumerate(value, start=1):
        if char not in _ASCII_DIGITS:  # str.isdigit() would let "１" and "²" through
            raise InvalidIdentifier(
                field,
                value,
                f"数字でない文字「{show(char)}」が {position} 文字目にあります",
                f"non-digit character {char!r} at position {position}",
            )
    if len(value) != length:
        raise length_fault(field, value, length, unit="digits")


class Identifier:
    """識別番号の値型の基底 (base of identifier value types).

    Subclasses are frozen, slotted dataclasses with a single ``value: str`` field. Validation
    lives in ``__post_init__`` so that no invalid instance can exist; ``parse`` only normalises.
    """

    __slots__ = ()
    FIELD: ClassVar[str]
    value: str

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read a value as typed at a desk: full-width digits, spaces and hyphens allowed."""
        return cls(normalize(text))  # type: ignore[call-arg]


class DigitString(Identifier):
    """数字列の識別番号 (fixed-length digit identifier)."""

    __slots__ = ()
    LENGTH: ClassVar[int]

    def _validate(self) -> None:
        require_digits(self.FIELD, self.value, self.LENGTH)
