"""暗証番号 (PIN) rules and hashing. The rules are pure; hashing is Argon2id (argon2-cffi).

利用者証明用 (auth) PIN: exactly 4 digits. 署名用 (signing) PIN: 6 to 16 characters of capital
letters A–Z and digits, with at least one of each (J-LIS: 英大文字と数字を組み合わせた 6〜16 文字).
Only ASCII is accepted: the chip compares bytes, and a full-width ４ is not the digit 4.

The hashes are deliberately cheaper than the staff password hashes. A PIN's protection is the
chip's lock after three wrong tries in a row, and a PIN is of no use without the card itself (the
card token), because the private keys are sealed under the token (see ``chip``). A 4-digit PIN
has 10,000 values, which no Argon2 parameters could make slow to exhaust, so it gets a light hash;
the signing PIN gets OWASP's minimum Argon2id configuration (19 MiB, t=2, p=1).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fukaiji.jpki.errors import InvalidPin, PinFault
from fukaiji.jpki.states import CardFunction

AUTH_PIN_LENGTH = 4
SIGN_PIN_MIN_LENGTH = 6
SIGN_PIN_MAX_LENGTH = 16
# The chip's rule; the service applies it per function.
MAX_WRONG_PINS = 3

_DIGITS = re.compile(r"[0-9]*")
_SIGN_CHARACTERS = re.compile(r"[A-Z0-9]*")

_HASHERS = {
    CardFunction.AUTH: PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1),
    CardFunction.SIGN: PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),
}


def pin_faults(function: CardFunction, pin: str) -> list[PinFault]:
    """Every way ``pin`` breaks the rule for ``function``; empty when it is well formed."""
    if function is CardFunction.AUTH:
        return _auth_pin_faults(pin)
    return _sign_pin_faults(pin)


def _auth_pin_faults(pin: str) -> list[PinFault]:
    faults = []
    if len(pin) != AUTH_PIN_LENGTH:
        faults.append(PinFault.WRONG_LENGTH)
    if _DIGITS.fullmatch(pin) is None:
        faults.append(PinFault.NOT_DIGITS)
    return faults


def _sign_pin_faults(pin: str) -> list[PinFault]:
    faults = []
    if len(pin) < SIGN_PIN_MIN_LENGTH:
        faults.append(PinFault.TOO_SHORT)
    if len(pin) > SIGN_PIN_MAX_LENGTH:
        faults.append(PinFault.TOO_LONG)
    if _SIGN_CHARACTERS.fullmatch(pin) is None:
        faults.append(PinFault.BAD_CHARACTERS)
    if not any("A" <= character <= "Z" for character in pin):
        faults.append(PinFault.NO_LETTER)
    if not any("0" <= character <= "9" for character in pin):
        faults.append(PinFault.NO_DIGIT)
    return faults


def check_pin(function: CardFunction, pin: str, *, field: str) -> None:
    """Raise ``InvalidPin`` naming every fault (never the PIN itself), or return."""
    faults = pin_faults(function, pin)
    if faults:
        raise InvalidPin(function, field, faults)


def hash_pin(function: CardFunction, pin: str) -> str:
    return _HASHERS[function].hash(pin)


def verify_pin(function: CardFunction, pin_hash: str, pin: str) -> bool:
    try:
        return _HASHERS[function].verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False
