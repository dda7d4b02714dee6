"""Opaque ids of folders, proxy grants and invitations on the portal.

The tables number their rows in one sequence for the whole country. Shown as they are, the numbers
would let a portal user count what was made between two of their own visits, and read a gap as
something that exists but is not shown to them. So the portal shows each id encrypted under a key
of its own (one AES block: a tag naming the kind of object, the row id, and zero padding, which
decryption checks), and turns what comes back into the row id; anything else names no row.

Items of the three views have their own per-folder ids (``FolderView.public_id``): those are only
ever shown, never sent back.

The key is set once when the web app is made (``configure``), from the app's settings.
"""

from __future__ import annotations

import re
from enum import StrEnum

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_PURPOSE = "portal-public-ids"
_TOKEN = re.compile("[0-9a-f]{32}")
_PADDING = bytes(4)


class IdKind(StrEnum):
    ACCOUNT = "acct"
    GRANT = "grnt"
    INVITATION = "invt"


class _Codec:
    def __init__(self, key: bytes) -> None:
        self._cipher = Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305  one block, a keyed permutation

    def encode(self, kind: IdKind, value: int) -> str:
        block = kind.value.encode() + value.to_bytes(8, "big") + _PADDING
        encryptor = self._cipher.encryptor()
        return (encryptor.update(block) + encryptor.finalize()).hex()

    def decode(self, kind: IdKind, token: str) -> int | None:
        if not _TOKEN.fullmatch(token):
            return None
        decryptor = self._cipher.decryptor()
        block = decryptor.update(bytes.fromhex(token)) + decryptor.finalize()
        if block[:4] != kind.value.encode() or block[12:] != _PADDING:
            return None
        return int.from_bytes(block[4:12], "big")


_codec: _Codec | None = None


def configure(key: bytes) -> None:
    """Set the key (32 bytes) the portal's ids are encrypted with."""
    global _codec
    _codec = _Codec(key)


def _configured() -> _Codec:
    if _codec is None:
        raise RuntimeError("portal ids have no key: create the web app first")
    return _codec


def public_id(kind: IdKind, value: int) -> str:
    return _configured().encode(kind, value)


def optional_public_id(kind: IdKind, value: int | None) -> str | None:
    return None if value is None else public_id(kind, value)


def row_id(kind: IdKind, token: str) -> int:
    """The row id a token names, or 0 (which names no row) for anything else, so that a forged
    or foreign token is refused exactly as an id that does not exist."""
    value = _configured().decode(kind, token)
    return 0 if value is None or value >= 2**31 else value
