"""TOTP codes (±1 step of drift, no replay) and the encryption of TOTP secrets at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from fukaiji.staff.errors import TotpSecretUnreadable
from fukaiji.staff.totp import (
    decrypt_secret,
    encrypt_secret,
    new_totp_secret,
    provisioning_uri,
    time_step,
    verify_totp,
)

NOW = datetime(2026, 11, 27, 1, 0, 10, tzinfo=UTC)
KEY = bytes(range(32))
STEP = timedelta(seconds=30)


@pytest.fixture
def secret() -> str:
    return new_totp_secret()


def code(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def test_the_current_code_is_accepted_and_its_step_returned(secret: str) -> None:
    assert verify_totp(secret, code(secret, NOW), NOW, None) == time_step(NOW)


@pytest.mark.parametrize("offset", [-1, 1])
def test_one_step_of_clock_drift_is_allowed(secret: str, offset: int) -> None:
    when = NOW + offset * STEP
    assert verify_totp(secret, code(secret, when), NOW, None) == time_step(when)


@pytest.mark.parametrize("offset", [-2, 2])
def test_two_steps_of_drift_are_refused(secret: str, offset: int) -> None:
    assert verify_totp(secret, code(secret, NOW + offset * STEP), NOW, None) is None


def test_a_code_is_refused_a_second_time(secret: str) -> None:
    step = verify_totp(secret, code(secret, NOW), NOW, None)
    assert verify_totp(secret, code(secret, NOW), NOW + timedelta(seconds=5), step) is None


def test_a_code_older_than_the_last_accepted_one_is_refused(secret: str) -> None:
    step = verify_totp(secret, code(secret, NOW), NOW, None)
    assert verify_totp(secret, code(secret, NOW - STEP), NOW, step) is None
    assert verify_totp(secret, code(secret, NOW + STEP), NOW + STEP, step) == step + 1


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_malformed_codes_are_refused(secret: str, bad: str) -> None:
    assert verify_totp(secret, bad, NOW, None) is None


def test_a_code_with_a_space_in_the_middle_is_accepted(secret: str) -> None:
    valid = code(secret, NOW)
    assert verify_totp(secret, f"{valid[:3]} {valid[3:]}", NOW, None) == time_step(NOW)


def test_secrets_are_base32_of_160_bits_and_different_each_time() -> None:
    first, second = new_totp_secret(), new_totp_secret()
    assert first != second
    assert len(first) == 32 and set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_provisioning_uri_names_issuer_and_account(secret: str) -> None:
    uri = provisioning_uri(secret, "tanaka")
    assert uri.startswith("otpauth://totp/fukaiji:tanaka?")
    assert f"secret={secret}" in uri
    assert "issuer=fukaiji" in uri


def test_encryption_round_trips_with_a_fresh_nonce_and_hides_the_secret(secret: str) -> None:
    first, second = encrypt_secret(KEY, secret), encrypt_secret(KEY, secret)
    assert first != second
    assert first[:12] != second[:12]
    assert secret.encode() not in first
    assert decrypt_secret(KEY, first) == decrypt_secret(KEY, second) == secret


def test_a_wrong_key_or_altered_ciphertext_is_refused(secret: str) -> None:
    blob = encrypt_secret(KEY, secret)
    with pytest.raises(TotpSecretUnreadable):
        decrypt_secret(bytes(32), blob)
    altered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(TotpSecretUnreadable):
        decrypt_secret(KEY, altered)
    with pytest.raises(TotpSecretUnreadable):
        decrypt_secret(KEY, b"short")


def test_only_a_32_byte_key_is_accepted(secret: str) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt_secret(bytes(16), secret)
