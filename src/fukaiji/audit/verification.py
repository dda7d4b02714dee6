"""Verifying the audit chains: from each chain's newest valid signed checkpoint by default, or
from the genesis of every chain on request.

A checkpoint is trusted only if its signature verifies and the entry at its position still
carries the hash it signed; otherwise the checkpoint itself is the break reported, and the chain
is verified from its genesis. Rows are read as plain tuples in one ordered pass (ORM objects
cost more than hashing them), and a chain's end is compared with its head row, which catches
entries cut off the end, where no later link could show the loss.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.orm import Session

from fukaiji.audit import pending
from fukaiji.audit.chain import (
    LEGACY_CHAIN,
    BreakKind,
    ChainBreak,
    checkpoint_message,
    genesis_hash,
    stored_timestamp_text,
)
from fukaiji.audit.signer import CheckpointSigner

_BATCH = 10_000
# Starting a process costs about as much as walking tens of thousands of entries.
_PARALLEL_FROM = 200_000

# Every chain that has entries, a head or a checkpoint: a chain whose entries were all removed is
# still found. The entries' chains are found by skipping through the index, one step a chain.
_CHAINS = text(
    """
    WITH RECURSIVE found(chain) AS (
        SELECT min(chain) FROM audit_entries
        UNION ALL
        SELECT (SELECT min(chain) FROM audit_entries WHERE chain > found.chain)
        FROM found WHERE found.chain IS NOT NULL
    )
    SELECT chain FROM found WHERE chain IS NOT NULL
    UNION SELECT chain FROM audit_chain_heads
    UNION SELECT chain FROM audit_checkpoints
    """
)
_HEADS = text("SELECT chain, position, hash FROM audit_chain_heads")
# Each chain's newest checkpoint, with the entry now standing at its position.
_NEWEST_CHECKPOINTS = text(
    """
    SELECT c.chain, c.position, c.hash, c.signed_at, c.key_id, c.signature,
           e.hash AS entry_hash, e.seq AS entry_seq
    FROM (
        SELECT chain, position, hash, signed_at, key_id, signature,
               row_number() OVER (PARTITION BY chain ORDER BY position DESC, id DESC) AS newest
        FROM audit_checkpoints
    ) AS c
    LEFT JOIN audit_entries AS e ON e.chain = c.chain AND e.position = c.position
    WHERE c.newest = 1
    """
)
# Read through the driver's own cursor, a batch at a time: the rows are plain tuples, and on
# PostgreSQL a named (server-side) cursor keeps a long chain out of memory.
_CHAIN_ENTRIES = (
    "SELECT seq, position, at, actor, institution, action, subject, details, prev_hash, hash"
    " FROM audit_entries WHERE chain = {chain} AND position > {after} ORDER BY position"
)
_PLACEHOLDERS = {
    "postgresql": {"chain": "%(chain)s", "after": "%(after)s"},
    "sqlite": {"chain": ":chain", "after": ":after"},
}
_SUCCESSOR = text("SELECT position FROM audit_entries WHERE chain = :chain AND prev_hash = :hash")


@dataclass(frozen=True, slots=True)
class ChainVerification:
    """One chain: verified after ``resumed_from`` (0: from the genesis), ``checked`` entries
    hashed in this run, intact up to ``head_position`` ending in ``head_hash``."""

    chain: str
    resumed_from: int
    checked: int
    head_position: int
    head_hash: str
    breaks: tuple[ChainBreak, ...] = ()

    @property
    def first_break(self) -> ChainBreak | None:
        return min(self.breaks, key=lambda found: found.position) if self.breaks else None


@dataclass(frozen=True, slots=True)
class VerificationResult:
    chains: tuple[ChainVerification, ...] = field(default=())

    @property
    def intact(self) -> bool:
        return all(not chain.breaks for chain in self.chains)

    @property
    def entries(self) -> int:
        """Entries known intact: verified now or vouched for by a valid checkpoint."""
        return sum(chain.head_position for chain in self.chains)

    @property
    def checked(self) -> int:
        """Entries hashed in this run."""
        return sum(chain.checked for chain in self.chains)

    @property
    def breaks(self) -> list[ChainBreak]:
        return [found for chain in self.chains for found in chain.breaks]

    @property
    def first_break(self) -> ChainBreak | None:
        breaks = self.breaks
        return breaks[0] if breaks else None


@dataclass(frozen=True, slots=True)
class _Start:
    position: int
    hash: str
    problem: ChainBreak | None = None


def verify(
    session: Session,
    *,
    signer: CheckpointSigner | None = None,
    full: bool = False,
    chains: Sequence[str] | None = None,
    workers: int = 1,
) -> VerificationResult:
    """Verify every chain (or those named). Without a signer or with ``full`` every entry is
    hashed from its chain's genesis; otherwise each chain resumes after its newest checkpoint,
    if that checkpoint is valid. With ``workers`` above 1, chains are walked in that many
    processes at once (each reading through its own connection)."""
    # What this transaction recorded is part of the chains it reads.
    pending.write(session)
    connection = session.connection()
    names = list(chains) if chains is not None else _chain_names(connection)
    heads = {row.chain: (row.position, row.hash) for row in connection.execute(_HEADS)}
    starts = {} if full or signer is None else _checkpoint_starts(connection, signer)
    jobs = [_Job(name, starts.get(name), heads.get(name)) for name in names]
    url = connection.engine.url
    parallel = sum(job.size for job in jobs) >= _PARALLEL_FROM and len(jobs) > 1
    if workers > 1 and parallel and url.database not in (None, "", ":memory:"):
        found = _in_processes(url.render_as_string(hide_password=False), jobs, workers)
    else:
        found = [_verify_chain(connection, job) for job in jobs]
    return VerificationResult(tuple(found))


@dataclass(frozen=True, slots=True)
class _Job:
    chain: str
    start: _Start | None
    head: tuple[int, str] | None

    @property
    def size(self) -> int:
        """About how many entries there are to walk."""
        return (self.head[0] if self.head else 0) - (self.start.position if self.start else 0)


def _in_processes(url: str, jobs: list[_Job], workers: int) -> list[ChainVerification]:
    """Walk the chains in ``workers`` processes, the largest chains spread first."""
    groups: list[list[_Job]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for job in sorted(jobs, key=lambda job: job.size, reverse=True):
        lightest = loads.index(min(loads))
        groups[lightest].append(job)
        loads[lightest] += max(job.size, 1)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        done = pool.map(_verify_group, [url] * workers, groups)
        found = {result.chain: result for group in done for result in group}
    return [found[job.chain] for job in jobs]


def _verify_group(url: str, jobs: list[_Job]) -> list[ChainVerification]:
    # A plain engine: reading needs none of the write lock fukaiji's SQLite engine takes.
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [_verify_chain(connection, job) for job in jobs]
    finally:
        engine.dispose()


def _chain_names(connection: Connection) -> list[str]:
    return sorted(row.chain for row in connection.execute(_CHAINS))


def _checkpoint_starts(connection: Connection, signer: CheckpointSigner) -> dict[str, _Start]:
    starts = {}
    for row in connection.execute(_NEWEST_CHECKPOINTS):
        message = checkpoint_message(row.chain, row.position, row.hash, _aware(row.signed_at))
        problem = None
        if not _signature_valid(signer, message, row.signature, row.key_id):
            problem = ChainBreak(row.chain, row.position, BreakKind.CHECKPOINT_FORGED)
        elif row.entry_hash != row.hash:
            problem = ChainBreak(
                row.chain, row.position, BreakKind.CHECKPOINT_MISMATCH, seq=row.entry_seq
            )
        starts[row.chain] = _Start(row.position, row.hash, problem)
    return starts


def _signature_valid(signer: CheckpointSigner, message: bytes, signature: str, key: str) -> bool:
    try:
        raw = bytes.fromhex(signature)
    except ValueError:
        return False
    return signer.verify(message, raw, key)


def _aware(value: Any) -> Any:
    """A raw cursor's time as the aware UTC instant the signer saw."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _verify_chain(connection: Connection, job: _Job) -> ChainVerification:
    chain, start, head = job.chain, job.start, job.head
    problems: list[ChainBreak] = []
    if start is not None and start.problem is not None:
        problems.append(start.problem)
        start = None  # a checkpoint that does not hold vouches for nothing
    after, expected = (start.position, start.hash) if start else (0, genesis_hash(chain))
    walk = _walk(chain, _entry_rows(connection, chain, after), after, expected)
    if walk.altered is not None:
        problems.append(walk.altered)
    elif walk.gap is not None:
        problems.append(_classify_gap(connection, chain, *walk.gap))
    elif head is not None and head[0] > walk.position:
        # The head row says the chain went further than its entries do: the end was cut off.
        problems.append(ChainBreak(chain, walk.position + 1, BreakKind.REMOVED))
    return ChainVerification(
        chain, after, walk.checked, walk.position, walk.hash, tuple(sorted(problems, key=_at))
    )


def _entry_rows(connection: Connection, chain: str, after: int) -> Iterator[tuple[Any, ...]]:
    dialect = connection.dialect.name
    driver: Any = connection.connection.dbapi_connection
    if dialect == "postgresql":
        cursor = driver.cursor(name=f"audit_verify_{chain}")
        cursor.itersize = _BATCH
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(
            _CHAIN_ENTRIES.format(**_PLACEHOLDERS[dialect]), {"chain": chain, "after": after}
        )
        while batch := cursor.fetchmany(_BATCH):
            yield from batch
    finally:
        cursor.close()


def _at(found: ChainBreak) -> int:
    return found.position


@dataclass(slots=True)
class _Walk:
    position: int
    hash: str
    checked: int = 0
    altered: ChainBreak | None = None
    gap: tuple[int, str] | None = None  # (position expected, hash its entry should link to)


def _walk(chain: str, rows: Iterable[Any], position: int, expected: str) -> _Walk:
    """Hash the entries in order; stop at the first that is altered or not linked in place."""
    walk = _Walk(position, expected)
    sha256, quote, stamp = hashlib.sha256, encode_basestring, stored_timestamp_text
    # The canonical JSON of the hashed list (``fukaiji.audit.chain.entry_hash``), written out:
    # every field is a string or null, and this costs a fraction of a general encoder.
    opening = "[" if chain == LEGACY_CHAIN else f"[{quote(chain)},"
    for seq, at_position, at, actor, institution, action, subject, details, prev, stored in rows:
        payload = (
            f"{opening}{quote(stamp(at))},{quote(actor)},"
            f"{'null' if institution is None else quote(institution)},{quote(action)},"
            f"{'null' if subject is None else quote(subject)},{quote(details)},{quote(prev)}]"
        )
        if sha256(payload.encode()).hexdigest() != stored:
            walk.altered = ChainBreak(chain, at_position, BreakKind.ALTERED, seq=seq)
            return walk
        if at_position != walk.position + 1 or prev != walk.hash:
            walk.gap = (walk.position + 1, walk.hash)
            return walk
        walk.position, walk.hash, walk.checked = at_position, stored, walk.checked + 1
    return walk


def _classify_gap(connection: Connection, chain: str, position: int, prev: str) -> ChainBreak:
    """The entry that should follow ``prev`` either stands elsewhere or is gone."""
    moved = connection.execute(_SUCCESSOR, {"chain": chain, "hash": prev}).first()
    if moved is None:
        return ChainBreak(chain, position, BreakKind.REMOVED)
    return ChainBreak(chain, position, BreakKind.REORDERED, found_at=moved.position)
