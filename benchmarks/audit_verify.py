"""監査ログの検証: how long `fukaiji audit verify` takes, in full and from checkpoints.

Builds a log of ``--entries`` entries spread over ``--chains`` institution chains (written in
bulk with the chains' own hashing rules, which is what appending one by one would produce), then
measures: a full verification, signing checkpoints, an incremental verification with
``--tail`` entries appended after the checkpoints, and the appends themselves.

    python benchmarks/audit_verify.py                     # 10^6 entries on SQLite
    python benchmarks/audit_verify.py --small             # 10^4 entries
    python benchmarks/audit_verify.py --postgres URL      # and on PostgreSQL

The last line printed is one JSON object, e.g. ``{"sqlite": {"entries": 1000000, ...}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, text

sys.path.insert(0, str(Path(__file__).parent))

from linkage import postgres_engine, sqlite_engine

from fukaiji import audit
from fukaiji.audit.chain import (
    EntryContent,
    canonical_json,
    entry_hash,
    genesis_hash,
    timestamp_text,
)
from fukaiji.audit.models import AuditChainHead, AuditEntry
from fukaiji.db import transaction, upgrade

SIGNER = audit.Ed25519Signer(bytes(range(32)))
_BATCH = 20_000


def build(engine: Engine, entries: int, chains: int) -> None:
    """``entries`` entries, round-robin over ``chains`` chains, in bulk inserts."""
    names = [f"{131016 + index * 10:06d}" for index in range(chains)]
    heads = {name: (0, genesis_hash(name)) for name in names}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        first_seq = connection.execute(text("SELECT coalesce(max(seq), 0) FROM audit_entries"))
        seq = first_seq.scalar_one()
        rows = []
        for index in range(entries):
            chain = names[index % chains]
            position, prev = heads[chain]
            at = start + timedelta(microseconds=index * 997)
            content = EntryContent(
                chain=chain,
                at=timestamp_text(at),
                actor=f"staff:{index % 37}",
                institution=chain,
                action="linkage.query",
                subject=f"addressee:{chain}:{index:015d}",
                details=canonical_json({"record": index, "status": "provided"}),
                prev_hash=prev,
            )
            digest = entry_hash(content)
            seq += 1
            rows.append(
                {
                    **{name: getattr(content, name) for name in EntryContent.__slots__},
                    "at": at,
                    "seq": seq,
                    "position": position + 1,
                    "hash": digest,
                }
            )
            heads[chain] = (position + 1, digest)
            if len(rows) == _BATCH:
                connection.execute(insert(AuditEntry), rows)
                rows = []
        if rows:
            connection.execute(insert(AuditEntry), rows)
        connection.execute(
            insert(AuditChainHead),
            [{"chain": name, "position": p, "hash": h} for name, (p, h) in heads.items()],
        )
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT setval('audit_entry_numbers', :seq)"), {"seq": seq})
            connection.execute(text("ANALYZE audit_entries"))


def timed(label: str, results: dict[str, object], action) -> object:
    started = time.perf_counter()
    value = action()
    results[label] = round(time.perf_counter() - started, 3)
    return value


def _check(holds: bool, result: audit.VerificationResult) -> None:
    if not holds:
        raise SystemExit(f"unexpected verification result: {result}")


def measure(
    engine: Engine, entries: int, chains: int, tail: int, workers: int
) -> dict[str, object]:
    upgrade(engine)
    results: dict[str, object] = {"entries": entries, "chains": chains, "tail": tail}
    timed("build_s", results, lambda: build(engine, entries, chains))

    def verify(full: bool, workers: int = 1) -> audit.VerificationResult:
        with transaction(engine) as session:
            return audit.verify(session, signer=SIGNER, full=full, workers=workers)

    result = timed("full_verify_s", results, lambda: verify(True))
    _check(result.intact and result.checked >= entries, result)
    result = timed(f"full_verify_{workers}_workers_s", results, lambda: verify(True, workers))
    _check(result.intact and result.checked >= entries, result)
    with transaction(engine) as session:
        report = timed("checkpoint_s", results, lambda: audit.checkpoint(session, SIGNER))
    results["checkpoints"] = len(report.signed)

    def append() -> None:
        with transaction(engine) as session:
            for index in range(tail):
                audit.record(
                    session,
                    actor="benchmark",
                    action="benchmark.tail",
                    institution=f"{131016 + (index % chains) * 10:06d}",
                )

    timed("append_tail_s", results, append)
    result = timed("incremental_verify_s", results, lambda: verify(False))
    _check(result.intact and result.checked == tail, result)
    results["incremental_checked"] = result.checked
    # Each backend's figures as soon as they exist, in case a later one is interrupted.
    print(engine.dialect.name, json.dumps(results), file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true", help="10^4 entries")
    parser.add_argument("--chains", type=int, default=50)
    parser.add_argument("--tail", type=int, default=1_000, help="entries after the checkpoints")
    parser.add_argument("--workers", type=int, default=2, help="processes for the second run")
    parser.add_argument("--postgres", metavar="URL", help="also measure on this server")
    arguments = parser.parse_args()
    entries = 10_000 if arguments.small else arguments.entries
    results: dict[str, object] = {}
    with sqlite_engine() as engine:
        results["sqlite"] = measure(
            engine, entries, arguments.chains, arguments.tail, arguments.workers
        )
    if arguments.postgres:
        with postgres_engine(arguments.postgres) as engine:
            results["postgresql"] = measure(
                engine, entries, arguments.chains, arguments.tail, arguments.workers
            )
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
