"""個人番号 (My Number): the 12-digit Individual Number and its keyed generator."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import ClassVar

from cryptography.hazmat.primitives import hashes, hmac
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.jp import in_

from fukaiji.identifiers._base import DigitString, check_digit_fault, require_digits
from fukaiji.identifiers.errors import InvalidIdentifier

_BODY_LIMIT = 10**11  # 11-digit body; the 12th digit is the check digit
_HALF = math.isqrt(_BODY_LIMIT - 1) + 1  # 316,228: the smallest N with N * N >= 10**11
_ROUNDS = 8
_ROUND_TAGS = tuple(bytes((round_,)) for round_ in range(_ROUNDS))
_MIN_KEY_BYTES = 16


@dataclass(frozen=True, slots=True, order=True, repr=False)
class MyNumber(DigitString):
    """個人番号 (My Number): 12 digits, the last a check digit (validated by python-stdnum)."""

    FIELD: ClassVar[str] = "個人番号"
    LENGTH: ClassVar[int] = 12
    value: str

    def __repr__(self) -> str:
        # A repr lands in logs and tracebacks; the number itself must not.
        return f"MyNumber('********{self.value[-4:]}')"

    def _validate(self) -> None:
        # Our own scan names the bad character and refuses separators (stdnum would strip them);
        # stdnum then decides the check digit.
        require_digits(self.FIELD, self.value, self.LENGTH)
        try:
            in_.validate(self.value)
        except InvalidChecksum:
            expected = in_.calc_check_digit(self.value[:-1])
            raise check_digit_fault(self.FIELD, self.value, expected) from None
        except ValidationError as exc:  # a rule stdnum may add later
            raise InvalidIdentifier(
                self.FIELD, self.value, "形式が正しくありません", "malformed"
            ) from exc


class MyNumberGenerator:
    """個人番号の生成器 (My Number generator): a keyed bijection from serials to numbers.

    Why a keyed permutation: a 個人番号 must be unique forever, even after it is retired, and must
    not be derivable from anything else such as the 住民票コード. A pseudo-random permutation of
    [0, 10**11) gives both without a table of issued numbers: distinct serials always map to
    distinct numbers, and without the key the mapping cannot be computed or inverted.

    It is a balanced Feistel network over Z_N x Z_N (N = 316,228, so N * N just exceeds 10**11)
    with modular addition, 8 rounds, round function HMAC-SHA256(key, round || half), and
    cycle-walking until the result is below 10**11 (which keeps it a bijection on that range and,
    since N * N - 10**11 is tiny, almost never takes a second pass).

    The caller must never reuse a serial and never change the key: a new key is a new
    permutation, whose numbers may collide with those already issued.
    """

    __slots__ = ("_mac",)

    def __init__(self, key: bytes) -> None:
        if len(key) < _MIN_KEY_BYTES:
            raise ValueError(f"key must be at least {_MIN_KEY_BYTES} bytes")
        # Keyed once; each round copies this state instead of re-deriving the HMAC pads.
        self._mac = hmac.HMAC(bytes(key), hashes.SHA256())

    def number_for(self, serial: int) -> MyNumber:
        """Return the 個人番号 for ``serial`` (0 <= serial < 10**11)."""
        serial = operator.index(serial)
        if not 0 <= serial < _BODY_LIMIT:
            raise ValueError(f"serial must be in [0, 10**11), got {serial}")
        body = self._permute(serial)
        while body >= _BODY_LIMIT:
            body = self._permute(body)
        digits = f"{body:011d}"
        return MyNumber(digits + in_.calc_check_digit(digits))

    def _permute(self, x: int) -> int:
        left, right = divmod(x, _HALF)
        for round_ in range(_ROUNDS):
            left, right = right, (left + self._round(round_, right)) % _HALF
        return left * _HALF + right

    def _round(self, round_: int, half: int) -> int:
        mac = self._mac.copy()
        mac.update(_ROUND_TAGS[round_] + half.to_bytes(4, "big"))
        # 64 bits, reduced mod N by the caller: the bias (< 2**-45) is irrelevant.
        return int.from_bytes(mac.finalize()[:8], "big")
