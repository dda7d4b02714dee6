"""The simulated IC chip: its keys, sealed so that only the physical card can use them.

A real chip never lets its private keys out. Here the chip's storage is a database row, so the
keys are kept encrypted (AES-256-GCM) under a key derived from the card token, which exists only
on the card in the holder's hand: the service itself cannot sign for a card it is not shown. The
token is 256 bits of randomness, so a fast derivation (HKDF-SHA256, with a random salt per card)
is enough, and only its SHA-256 is stored, to find the card when it is presented.

No I/O here: pure cryptography on values the service passes in.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fukaiji.jpki.states import CardFunction

TOKEN_BYTES = 32
SALT_BYTES = 16
NONCE_BYTES = 12
STORAGE_KEY_BYTES = 32
CURVE = ec.SECP256R1()
SIGNATURE_ALGORITHM = ec.ECDSA(hashes.SHA256())
_STORAGE_INFO = b"fukaiji:jpki:card-storage:v1"


class SealBroken(Exception):
    """A sealed key does not open: the token is not this card's, or the row was altered."""


def new_card_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(card_token: str) -> str:
    return hashlib.sha256(card_token.encode()).hexdigest()


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVE)


def storage_key(card_token: str, salt: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=STORAGE_KEY_BYTES, salt=salt, info=_STORAGE_INFO)
    return hkdf.derive(card_token.encode())


def _associated_data(function: CardFunction) -> bytes:
    # Binds each sealed key to its function, so the signing key cannot be swapped in for login.
    return f"fukaiji:jpki:card-key:{function.value}:v1".encode()


def seal(key: bytes, function: CardFunction, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """``nonce || ciphertext || tag`` of the key's PKCS #8 DER; a fresh nonce every time."""
    plain = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plain, _associated_data(function))


def unseal(key: bytes, function: CardFunction, sealed: bytes) -> ec.EllipticCurvePrivateKey:
    nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    try:
        plain = AESGCM(key).decrypt(nonce, ciphertext, _associated_data(function))
    except (InvalidTag, ValueError) as error:
        raise SealBroken() from error
    private_key = serialization.load_der_private_key(plain, password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise SealBroken()
    return private_key


def sign(private_key: ec.EllipticCurvePrivateKey, challenge: bytes) -> bytes:
    """An ECDSA P-256 / SHA-256 signature, DER-encoded (what ``openssl dgst`` makes too)."""
    return private_key.sign(challenge, SIGNATURE_ALGORITHM)


def signature_is_valid(public_key: object, challenge: bytes, signature: bytes) -> bool:
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    try:
        public_key.verify(signature, challenge, SIGNATURE_ALGORITHM)
    except (InvalidSignature, ValueError):
        return False
    return True
