"""機関別符号 (institution-specific code): the opaque per-institution code of a person."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import ClassVar, Self

from cryptography.hazmat.primitives import hashes, hmac

from fukaiji.identifiers._base import Identifier, empty_fault, length_fault, show
from fukaiji.identifiers.errors import InvalidIdentifier

_BASE32_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_LENGTH = 52  # 32 bytes = 256 bits = 51 full characters + 1 character carrying 1 bit
_LAST_CHARACTERS = frozenset("AQ")  # the last character's 4 low bits are padding, so zero
_DOMAIN = b"fukaiji/institution-specific-code/v1"
_MIN_KEY_BYTES = 16


def _length_prefixed(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


@dataclass(frozen=True, slots=True, order=True)
class InstitutionSpecificCode(Identifier):
    """機関別符号 (institution-specific code): 52 base32 characters (A-Z, 2-7, no padding).

    Issued by the network as HMAC-SHA256 over (institution, person): different at every
    institution, not reversible, and linkable only by whoever holds the network key. Opaque, so
    compared exactly: lower case is refused, not folded.
    """

    FIELD: ClassVar[str] = "機関別符号"
    value: str

    @classmethod
    def derive(cls, network_key: bytes, institution_code: str, person_key: str) -> Self:
        """Derive the code of ``person_key`` at ``institution_code``."""
        if len(network_key) < _MIN_KEY_BYTES:
            raise ValueError(f"network_key must be at least {_MIN_KEY_BYTES} bytes")
        if not institution_code or not person_key:
            raise ValueError("institution_code and person_key must not be empty")
        mac = hmac.HMAC(bytes(network_key), hashes.SHA256())
        # Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        mac.update(_DOMAIN + _length_prefixed(institution_code) + _length_prefixed(person_key))
        text = base64.b32encode(mac.finalize()).decode("ascii").rstrip("=")
        return cls(text)

    def _validate(self) -> None:
        if not isinstance(self.value, str):
            raise TypeError(f"{self.FIELD}: expected str, got {type(self.value).__name__}")
        if not self.value:
            raise empty_fault(self.FIELD, self.value)
        for position, char in enumerate(self.value, start=1):
            if char not in _BASE32_ALPHABET:
                raise self._fault(
                    f"base32 の文字 (A–Z, 2–7) でない文字「{show(char)}」が"
                    f" {position} 文字目にあります",
                    f"character {char!r} at position {position} is not base32 (A-Z, 2-7)",
                )
        if len(self.value) != _LENGTH:
            raise length_fault(self.FIELD, self.value, _LENGTH, unit="characters")
        if self.value[-1] not in _LAST_CHARACTERS:
            raise self._fault("末尾の文字は A か Q のはずです", "last character should be A or Q")

    def _fault(self, fault_ja: str, fault_en: str) -> InvalidIdentifier:
        return InvalidIdentifier(self.FIELD, self.value, fault_ja, fault_en)
