"""Signed checkpoints: verification resumes after them, and a checkpoint that does not hold is
itself a break."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, select, text

from fukaiji import audit
from fukaiji.audit.chain import BreakKind, checkpoint_message
from fukaiji.audit.checkpointer import Checkpointer
from fukaiji.audit.models import AuditCheckpoint
from fukaiji.db import transaction
from fukaiji.db.base import utc_now

CHAIN = "131016"
SIGNER = audit.Ed25519Signer(bytes(range(32)))
OTHER_KEY = audit.Ed25519Signer(bytes(range(1, 33)))


def _append(engine: Engine, count: int, institution: str = CHAIN) -> None:
    with transaction(engine) as session:
        for index in range(count):
            audit.record(
                session,
                actor="staff:1",
                action="test.append",
                institution=institution,
                details={"index": index},
            )


def _checkpoint(engine: Engine, signer: audit.CheckpointSigner = SIGNER) -> audit.CheckpointReport:
    with transaction(engine) as session:
        return audit.checkpoint(session, signer)


def _verify(engine: Engine, *, full: bool = False) -> audit.VerificationResult:
    with transaction(engine) as session:
        return audit.verify(session, signer=SIGNER, full=full)


def _tamper(engine: Engine, *statements: str) -> None:
    guards = {
        "sqlite": ["DROP TRIGGER audit_entries_no_update", "DROP TRIGGER audit_entries_no_delete"],
        "postgresql": ["DROP TRIGGER audit_entries_no_update_or_delete ON audit_entries"],
    }[engine.dialect.name]
    with engine.begin() as connection:
        for statement in [*guards, *statements]:
            connection.execute(text(statement))


def _ours(result: audit.VerificationResult) -> audit.ChainVerification:
    return next(chain for chain in result.chains if chain.chain == CHAIN)


@pytest.fixture
def checkpointed(engine: Engine) -> Engine:
    """Chain 131016 with 20 entries under a checkpoint and 5 after it."""
    _append(engine, 20)
    report = _checkpoint(engine)
    assert not report.refused
    assert (CHAIN, 20) in {(signed.chain, signed.position) for signed in report.signed}
    _append(engine, 5)
    return engine


def test_verification_resumes_after_the_checkpoint(checkpointed: Engine) -> None:
    ours = _ours(_verify(checkpointed))
    assert (ours.resumed_from, ours.checked, ours.head_position) == (20, 5, 25)
    assert ours.first_break is None
    full = _ours(_verify(checkpointed, full=True))
    assert (full.resumed_from, full.checked, full.head_position) == (0, 25, 25)


def test_a_break_before_the_checkpoint_is_found_only_by_full_verification(
    checkpointed: Engine,
) -> None:
    _tamper(
        checkpointed,
        f"UPDATE audit_entries SET actor = 'x' WHERE chain = '{CHAIN}' AND position = 7",
    )
    assert _verify(checkpointed).intact
    found = _verify(checkpointed, full=True).first_break
    assert found is not None
    assert (found.chain, found.position, found.kind) == (CHAIN, 7, BreakKind.ALTERED)


def test_a_break_after_the_checkpoint_is_found(checkpointed: Engine) -> None:
    _tamper(checkpointed, f"DELETE FROM audit_entries WHERE chain = '{CHAIN}' AND position = 22")
    found = _verify(checkpointed).first_break
    assert found is not None
    assert (found.position, found.kind) == (22, BreakKind.REMOVED)


@pytest.mark.parametrize(
    "forgery",
    [
        f"UPDATE audit_checkpoints SET position = 19 WHERE chain = '{CHAIN}'",
        f"UPDATE audit_checkpoints SET hash = '{'a' * 64}' WHERE chain = '{CHAIN}'",
        f"UPDATE audit_checkpoints SET signature = '{'00' * 64}' WHERE chain = '{CHAIN}'",
    ],
)
def test_an_altered_checkpoint_is_a_break(checkpointed: Engine, forgery: str) -> None:
    _tamper(checkpointed, forgery)
    ours = _ours(_verify(checkpointed))
    assert ours.first_break is not None
    assert ours.first_break.kind is BreakKind.CHECKPOINT_FORGED
    assert "署名が正しくありません" in ours.first_break.describe()
    assert ours.resumed_from == 0  # and the chain itself was verified from its genesis
    assert ours.head_position == 25


def test_a_checkpoint_signed_by_another_key_is_a_break(checkpointed: Engine) -> None:
    _append(checkpointed, 1)
    with transaction(checkpointed) as session:
        head = _ours(audit.verify(session, signer=SIGNER))
        at = utc_now()
        message = checkpoint_message(CHAIN, 26, head.head_hash, at)
        session.add(
            AuditCheckpoint(
                chain=CHAIN,
                position=26,
                hash=head.head_hash,
                signed_at=at,
                key_id=OTHER_KEY.key_id,
                signature=OTHER_KEY.sign(message).hex(),
            )
        )
    found = _ours(_verify(checkpointed)).first_break
    assert found is not None
    assert (found.position, found.kind) == (26, BreakKind.CHECKPOINT_FORGED)


def test_a_checkpoint_whose_entry_was_rewritten_is_a_break(checkpointed: Engine) -> None:
    """Rewriting the entry under the checkpoint (content and hash) cannot hide behind it."""
    _tamper(
        checkpointed,
        f"UPDATE audit_entries SET hash = '{'b' * 64}' WHERE chain = '{CHAIN}' AND position = 20",
    )
    found = _ours(_verify(checkpointed)).first_break
    assert found is not None
    assert (found.position, found.kind) == (20, BreakKind.CHECKPOINT_MISMATCH)


def test_a_broken_chain_is_not_signed(engine: Engine) -> None:
    _append(engine, 5)
    _tamper(
        engine, f"UPDATE audit_entries SET actor = 'x' WHERE chain = '{CHAIN}' AND position = 2"
    )
    report = _checkpoint(engine)
    assert CHAIN not in {signed.chain for signed in report.signed}
    assert any("第 2 件" in refusal for refusal in report.refused)
    with transaction(engine) as session:
        chains = session.scalars(select(AuditCheckpoint.chain)).all()
    assert CHAIN not in chains


def test_an_unchanged_chain_is_not_signed_again(checkpointed: Engine) -> None:
    _checkpoint(checkpointed)
    again = _checkpoint(checkpointed)
    assert again.signed == ()


def test_serve_signs_grown_chains_in_the_background(engine: Engine) -> None:
    _append(engine, 3)
    checkpointer = Checkpointer(engine, SIGNER, interval_seconds=0.01, min_entries=3).start()
    try:
        for _ in range(3000):  # bounds a broken build's wait; a working one is done at once
            with transaction(engine) as session:
                if CHAIN in session.scalars(select(AuditCheckpoint.chain)).all():
                    break
            time.sleep(0.01)
        else:
            pytest.fail("no checkpoint was signed")
    finally:
        checkpointer.stop()
    assert _ours(_verify(engine)).resumed_from == 3
