"""Time-based one-time passwords (RFC 6238, via pyotp) and the encryption of their secrets.

The secret must be readable again to check a code, so unlike a password it cannot be hashed: it is
encrypted with AES-256-GCM under a key the caller derives from the configured secret key. A copy
of the database alone therefore does not let anyone make codes.
"""

from __future__ import annotations

import hmac
import os
from datetime import datetime

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fukaiji.staff.errors import TotpSecretUnreadable

DIGITS = 6
INTERVAL_SECONDS = 30
# One step either side: a phone clock up to about 30 seconds off still works.
ALLOWED_DRIFT_STEPS = 1
KEY_LENGTH = 32
NONCE_LENGTH = 12
# Binds a ciphertext to its purpose, so that it cannot be passed off as another encrypted field.
# The purpose under which the caller derives the key for TOTP secrets (Settings.derive_key).
TOTP_KEY_PURPOSE = "staff-totp"
_ASSOCIATED_DATA = b"fukaiji:staff-totp-secret:v1"


def new_totp_secret() -> str:
    """A fresh base32 secret of 160 bits, the size RFC 4226 recommends."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, issuer: str = "fukaiji") -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_SECONDS).provisioning_uri(
        name=username, issuer_name=issuer
    )


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // INTERVAL_SECONDS


def verify_totp(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, or None if it is wrong, stale or already used.

    Refusing every step at or before the last accepted one means a code seen over a shoulder or
    in a proxy log cannot be used a second time, not even within its own 30 seconds.
    """
    code = code.replace(" ", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_SECONDS)
    current = time_step(now)
    for step in range(current - ALLOWED_DRIFT_STEPS, current + ALLOWED_DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def encrypt_secret(key: bytes, secret: str) -> bytes:
    """``nonce || ciphertext || tag``; a new random nonce every time, as GCM requires."""
    nonce = os.urandom(NONCE_LENGTH)
    return nonce + _cipher(key).encrypt(nonce, secret.encode("ascii"), _ASSOCIATED_DATA)


def decrypt_secret(key: bytes, blob: bytes) -> str:
    cipher = _cipher(key)
    nonce, ciphertext = blob[:NONCE_LENGTH], blob[NONCE_LENGTH:]
    try:
        plain = cipher.decrypt(nonce, ciphertext, _ASSOCIATED_DATA)
    except (InvalidTag, ValueError) as error:  # ValueError: a blob too short to hold a nonce
        raise TotpSecretUnreadable() from error
    return plain.decode("ascii")


def _cipher(key: bytes) -> AESGCM:
    if len(key) != KEY_LENGTH:
        raise ValueError(f"TOTP key must be {KEY_LENGTH} bytes (AES-256), got {len(key)}")
    return AESGCM(key)
