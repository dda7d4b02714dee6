"""Who signs audit checkpoints. Everything else sees only ``CheckpointSigner``, so that a key
held in an HSM can take the place of the key derived here without touching the chains."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CHECKPOINT_KEY_PURPOSE = "audit-checkpoint-ed25519"


class CheckpointSigner(Protocol):
    @property
    def key_id(self) -> str:
        """Names the key, so that a checkpoint signed by another key is told apart."""
        ...

    def sign(self, message: bytes) -> bytes: ...

    def verify(self, message: bytes, signature: bytes, key_id: str) -> bool:
        """True only if ``signature`` over ``message`` is this signer's, under ``key_id``."""
        ...


class Ed25519Signer:
    """An Ed25519 key derived from the installation's secret (``Settings.derive_key``)."""

    def __init__(self, seed: bytes) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self._public: Ed25519PublicKey = self._private.public_key()
        raw = self._public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]

    @classmethod
    def from_secret(cls, derive_key: Callable[[str], bytes]) -> Ed25519Signer:
        """``derive_key`` is ``Settings.derive_key`` (kept as a callable so this module does not
        depend on configuration)."""
        return cls(derive_key(CHECKPOINT_KEY_PURPOSE))

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def verify(self, message: bytes, signature: bytes, key_id: str) -> bool:
        if key_id != self._key_id:
            return False
        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True
