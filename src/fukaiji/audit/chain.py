"""The pure rules of the hash chains: which chain an entry joins, how it is hashed, how a
checkpoint is worded for signing, and how a break is named.

There is one chain per institution and one for entries that belong to no institution (system and
national actions), so that appenders of different institutions never wait on each other. The
entries written before chains were split form the closed ``legacy`` chain, hashed as they always
were (without a chain id, from the all-zero genesis), so that their history stays verifiable
unchanged.

Each entry's hash covers its chain id, time, actor, institution, action, subject, details and the
previous entry's hash; a chain's first entry links to a genesis hash derived from the chain id.
Covering the chain id means an entry cannot be moved into another chain unnoticed. The position
is deliberately left out, as the global sequence number always was: order is defined by the
``prev_hash`` links, which lets verification tell an entry that was moved (its link points at an
entry that now stands elsewhere) from one that was removed (its link points at nothing).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

# Institution codes are capitals and digits (4-16), so these lower-case ids cannot collide.
LEGACY_CHAIN = "legacy"
SYSTEM_CHAIN = "system"
LEGACY_GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, Unicode kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timestamp_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def stored_timestamp_text(value: datetime | str) -> str:
    """``timestamp_text`` of a time as a raw cursor returns it: SQLite keeps the UTC instant as
    ``YYYY-MM-DD HH:MM:SS.ffffff`` text, which maps onto the ISO form without parsing (parsing a
    million of them is a large part of a full verification)."""
    if isinstance(value, str):
        return value.replace(" ", "T", 1) + "+00:00"
    return timestamp_text(value if value.tzinfo else value.replace(tzinfo=UTC))


def chain_of(institution: str | None) -> str:
    """The chain an entry about ``institution`` joins."""
    return institution or SYSTEM_CHAIN


def genesis_hash(chain: str) -> str:
    """What a chain's first entry links to: distinct per chain, so that ``prev_hash`` stays unique
    across all chains (two chains can never claim the same predecessor)."""
    if chain == LEGACY_CHAIN:
        return LEGACY_GENESIS_HASH
    return hashlib.sha256(canonical_json(["genesis", chain]).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class EntryContent:
    chain: str
    at: str  # ``timestamp_text`` of the instant
    actor: str
    institution: str | None
    action: str
    subject: str | None
    details: str
    prev_hash: str


def entry_hash(content: EntryContent) -> str:
    fields = [
        content.at,
        content.actor,
        content.institution,
        content.action,
        content.subject,
        content.details,
        content.prev_hash,
    ]
    if content.chain != LEGACY_CHAIN:
        fields.insert(0, content.chain)
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


def checkpoint_message(chain: str, position: int, head_hash: str, signed_at: datetime) -> bytes:
    """The bytes a checkpoint's signature covers: which chain, how far, ending in which hash,
    and when it was taken."""
    return canonical_json(
        ["fukaiji-audit-checkpoint", chain, position, head_hash, timestamp_text(signed_at)]
    ).encode()


class BreakKind(StrEnum):
    ALTERED = "altered"
    REMOVED = "removed"
    REORDERED = "reordered"
    CHECKPOINT_FORGED = "checkpoint_forged"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"


_DESCRIPTIONS = {
    BreakKind.ALTERED: "内容が改ざんされています。",
    BreakKind.REMOVED: "この位置の記録が削除されています。",
    BreakKind.REORDERED: "記録の順序が入れ替えられています。",
    BreakKind.CHECKPOINT_FORGED: (
        "この位置のチェックポイントの署名が正しくありません。チェックポイントが偽造または"
        "改ざんされています。"
    ),
    BreakKind.CHECKPOINT_MISMATCH: (
        "この位置のチェックポイントが記録と一致しません。チェックポイントより前の記録が"
        "改ざんまたは削除されています。"
    ),
}


def chain_label(chain: str) -> str:
    if chain == LEGACY_CHAIN:
        return "機関別に分ける前の連鎖"
    if chain == SYSTEM_CHAIN:
        return "機関に属さない記録の連鎖"
    return f"機関 {chain} の連鎖"


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where a chain is not whole: at ``position`` in ``chain``. ``seq`` is the
    global number of the entry standing there (None where none does); ``found_at`` is the
    position where the entry that belongs here now stands, if it was moved."""

    chain: str
    position: int
    kind: BreakKind
    seq: int | None = None
    found_at: int | None = None

    def describe(self) -> str:
        where = f"監査ログ（{chain_label(self.chain)}）の第 {self.position} 件"
        if self.seq is not None:
            where += f"（通し番号 {self.seq}）"
        text = f"{where}: {_DESCRIPTIONS[self.kind]}"
        if self.found_at is not None:
            text += f"本来この位置にある記録は第 {self.found_at} 件にあります。"
        return text
