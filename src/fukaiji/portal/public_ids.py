"""Opaque ids of folders, proxy grants and invitations on the portal.

The tables number their rows in one sequence for the whole country. Shown as they are, the numbers
would let a portal user count what was made between two of their own visits, and read a gap as
something that exists but is not shown to them. So the portal shows each id encrypted under a key
of its own (one AES block: a tag naming the kind of object, the row id, and zero padding, which
decryption checks), and turns what comes back into the row id; anything else names no row.

Items of the three views have their own per-folder ids (``FolderView.public_id``): those are only
ever shown, never sent back. What is sent back to page through a view is a cursor (``cursor``),
sealed with a key derived from the same one, bound to its folder and view.

The key is set once when the web app is made (``configure``), from the app's settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fukaiji.db.keyset import Direction, Position

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
        # A key of its own for the cursors: one key is never used by two modes.
        self.cursors = AESGCM(hmac.new(key, b"portal-cursors", hashlib.sha256).digest())

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


# ---- cursors of the paged views -------------------------------------------------------------

_CURSOR = re.compile("[A-Za-z0-9_-]{40,120}")
_POSITION = struct.Struct(">cqq")  # direction, microseconds since the epoch, row id
_DIRECTIONS = {Direction.OLDER: b"o", Direction.NEWER: b"n"}


def cursor(view: str, account_id: int, position: Position, direction: Direction) -> str:
    """Where a page of ``view`` in the folder ``account_id`` starts, sealed (AES-GCM): a viewer
    can read neither the time nor the row id of the item it points at, and cannot make one that
    points anywhere else or into another folder or view."""
    micros = (position.at - _EPOCH) // timedelta(microseconds=1)
    plain = _POSITION.pack(_DIRECTIONS[direction], micros, position.row_id)
    nonce = os.urandom(12)
    sealed = _cursor_cipher().encrypt(nonce, plain, _cursor_context(view, account_id))
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")


def cursor_position(view: str, account_id: int, token: str) -> tuple[Position, Direction] | None:
    """The position and direction a cursor of ``view`` in ``account_id`` names, or None for
    anything else (forged, damaged, or made for another folder or view)."""
    if not _CURSOR.fullmatch(token):
        return None
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    try:
        plain = _cursor_cipher().decrypt(raw[:12], raw[12:], _cursor_context(view, account_id))
    except (InvalidTag, ValueError):
        return None
    if len(plain) != _POSITION.size:
        return None
    tag, micros, row_id = _POSITION.unpack(plain)
    direction = next((d for d, t in _DIRECTIONS.items() if t == tag), None)
    if direction is None:
        return None
    return Position(_EPOCH + timedelta(microseconds=micros), row_id), direction


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cursor_context(view: str, account_id: int) -> bytes:
    return f"{view}:{account_id}".encode()


def _cursor_cipher() -> AESGCM:
    return _configured().cursors
