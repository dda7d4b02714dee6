"""Password rules and hashing. The policy is pure; hashing is Argon2id (argon2-cffi).

The policy follows NIST SP 800-63B: a minimum length, a blocklist of the most common passwords,
no composition rules (no "must contain a digit and a symbol") and no forced periodic change. The
password is NFKC-normalised before it is checked and hashed, as 800-63B recommends, so that a
full-width ｐａｓｓｗｏｒｄ typed with the IME on is the same password as the half-width one.
"""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fukaiji.staff.errors import PasswordFault, PasswordPolicyError

MIN_LENGTH = 12
MAX_LENGTH = 128  # long enough for any passphrase, short enough that hashing cannot be abused
MIN_DISTINCT_CHARACTERS = 5

# The most common passwords of at least MIN_LENGTH characters in public breach corpora, plus the
# obvious local ones. Compared case-insensitively: "Password1234" is as weak as "password1234".
COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "password12345",
        "password123456",
        "password123!",
        "passw0rd1234",
        "p@ssw0rd1234",
        "passwordpassword",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456123456",
        "123123123123",
        "098765432109",
        "qwertyuiopas",
        "qwertyuiop12",
        "qwerty123456",
        "qwerty1234567890",
        "1234567890qwerty",
        "1234qwerasdf",
        "qwer1234asdf",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "asdfghjkl123",
        "zxcvbnm12345",
        "abcdefghijkl",
        "abc123456789",
        "abcd12345678",
        "iloveyou1234",
        "welcome12345",
        "letmein12345",
        "changeme1234",
        "administrator",
        "administrator1",
        "football1234",
        "baseball1234",
        "sunshine1234",
        "princess1234",
        "monkey123456",
        "dragon123456",
        "trustno1trustno1",
        "mynumber1234",
        "mynumbercard",
        "fukaiji12345",
    }
)

# RFC 9106 "second recommended" parameters (argon2-cffi's defaults): Argon2id, 64 MiB, t=3, p=4.
_hasher = PasswordHasher()


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def is_common_password(password: str) -> bool:
    return normalise(password).casefold() in COMMON_PASSWORDS


def check_password_policy(password: str, username: str) -> None:
    """Raise ``PasswordPolicyError`` listing every fault of ``password``, or return."""
    text = normalise(password)
    faults: list[tuple[PasswordFault, str, str]] = []
    if len(text) < MIN_LENGTH:
        faults.append(
            (
                PasswordFault.TOO_SHORT,
                f"{MIN_LENGTH} 文字以上が必要です",
                f"must be at least {MIN_LENGTH} characters",
            )
        )
    if len(text) > MAX_LENGTH:
        faults.append(
            (
                PasswordFault.TOO_LONG,
                f"{MAX_LENGTH} 文字以内にしてください",
                f"must be at most {MAX_LENGTH} characters",
            )
        )
    if username and username.casefold() in text.casefold():
        faults.append(
            (
                PasswordFault.CONTAINS_USERNAME,
                "ユーザー名を含めることはできません",
                "must not contain the username",
            )
        )
    if len(set(text)) < MIN_DISTINCT_CHARACTERS:
        faults.append(
            (
                PasswordFault.TOO_FEW_DISTINCT,
                f"{MIN_DISTINCT_CHARACTERS} 種類以上の文字が必要です",
                f"must contain at least {MIN_DISTINCT_CHARACTERS} distinct characters",
            )
        )
    if text.casefold() in COMMON_PASSWORDS:
        faults.append(
            (
                PasswordFault.TOO_COMMON,
                "よく使われるパスワードの一覧に含まれています",
                "is on the list of the most common passwords",
            )
        )
    if faults:
        raise PasswordPolicyError(faults)


def hash_password(password: str) -> str:
    return _hasher.hash(normalise(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, normalise(password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's; rehash on next login."""
    return _hasher.check_needs_rehash(password_hash)


def dummy_hash() -> str:
    """A hash no password matches, verified against for unknown usernames so that a login for a
    name that does not exist costs the same time as one for a name that does. Fixed in the
    source, not made on first use, so that the first unknown name is not slower either; a test
    keeps its parameters equal to today's."""
    return _DUMMY_HASH


# Argon2id of 32 random bytes that were thrown away.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$"
    "MYRFh0flHKZhViBYd0QYTg$o84X7WeLcZIPM/TgjqmvB2tAqalUdGvEfELupvl9PFA"
)
