"""The pure rules of the hash chain: how an entry is hashed and how a break is classified.

Each entry's hash covers its time, actor, institution, action, subject, details and the
previous entry's hash. The sequence number is deliberately left out: order is defined by the
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

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, Unicode kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timestamp_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class EntryContent:
    at: datetime
    actor: str
    institution: str | None
    action: str
    subject: str | None
    details: str
    prev_hash: str


def entry_hash(content: EntryContent) -> str:
    payload = canonical_json(
        [
            timestamp_text(content.at),
            content.actor,
            content.institution,
            content.action,
            content.subject,
            content.details,
            content.prev_hash,
        ]
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class BreakKind(StrEnum):
    ALTERED = "altered"
    REMOVED = "removed"
    REORDERED = "reordered"


_DESCRIPTIONS = {
    BreakKind.ALTERED: ("内容が改ざんされています", "content was altered"),
    BreakKind.REMOVED: (
        "この位置の記録が削除されています",
        "the entry at this position was removed",
    ),
    BreakKind.REORDERED: ("記録の順序が入れ替えられています", "entries were reordered"),
}


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where the chain is not whole, at the position ``seq``."""

    seq: int
    kind: BreakKind
    found_at: int | None = None

    def describe(self) -> str:
        ja, en = _DESCRIPTIONS[self.kind]
        text = f"監査ログ 第 {self.seq} 件: {ja} (audit entry #{self.seq}: {en})"
        if self.found_at is not None:
            text += (
                f"; 本来この位置にある記録は第 {self.found_at} 件にあります"
                f" (it stands at #{self.found_at})"
            )
        return text
