"""監査ログの機関別連鎖: one hash chain per institution, their heads, and signed checkpoints.

Entries written before this revision are not re-hashed: they keep their hashes and their links
and become the closed chain ``legacy``, at positions equal to their old sequence numbers, which
verification walks exactly as before (hashes without a chain id, from the all-zero genesis). So
their history stays verifiable as it was written. New entries join their institution's chain (or
the chain ``system``), hashed with the chain id.

Filling in the two new columns of the existing rows needs UPDATE, which the append-only guards
refuse: the guards are dropped for that one statement and put back before this revision ends,
in the same transaction on PostgreSQL. Nothing else is changed in existing rows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_SQLITE_GUARDS = [
    f"""
    CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: {verb} refused'); END
    """
    for verb in ("UPDATE", "DELETE")
]
_POSTGRESQL_GUARD = """
    CREATE TRIGGER audit_entries_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse_change()
"""


# The head moves with every insert, done by the database itself: one round trip less for every
# audited operation, and no appender can forget it.
_SQLITE_MOVE_HEAD = """
    CREATE TRIGGER audit_entries_move_head AFTER INSERT ON audit_entries
    BEGIN
        UPDATE audit_chain_heads SET position = NEW.position, hash = NEW.hash
        WHERE chain = NEW.chain;
    END
"""
_POSTGRESQL_MOVE_HEAD = [
    """
    CREATE FUNCTION audit_entries_move_head() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE audit_chain_heads SET position = NEW.position, hash = NEW.hash
        WHERE chain = NEW.chain;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER audit_entries_move_head AFTER INSERT ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_move_head()
    """,
]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP TRIGGER audit_entries_no_update_or_delete ON audit_entries")
    else:
        op.execute("DROP TRIGGER audit_entries_no_update")
        op.execute("DROP TRIGGER audit_entries_no_delete")
    op.add_column("audit_entries", sa.Column("chain", sa.String(length=32), nullable=True))
    op.add_column("audit_entries", sa.Column("position", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_entries SET chain = 'legacy', position = seq")
    # On SQLite this copies the table once (batch mode), which also drops its triggers.
    with op.batch_alter_table("audit_entries") as batch:
        batch.alter_column("chain", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("position", existing_type=sa.BigInteger(), nullable=False)
    op.create_index(
        "uq_audit_entries_chain_position", "audit_entries", ["chain", "position"], unique=True
    )
    op.create_index("ix_audit_entries_institution_seq", "audit_entries", ["institution", "seq"])
    for statement in [_POSTGRESQL_GUARD] if postgresql else _SQLITE_GUARDS:
        op.execute(statement)
    _create_heads_and_checkpoints()
    for statement in _POSTGRESQL_MOVE_HEAD if postgresql else [_SQLITE_MOVE_HEAD]:
        op.execute(statement)
    if postgresql:
        op.execute("CREATE SEQUENCE audit_entry_numbers AS bigint")
        op.execute(
            "SELECT setval('audit_entry_numbers', max(seq)) FROM audit_entries HAVING count(*) > 0"
        )


def _create_heads_and_checkpoints() -> None:
    op.create_table(
        "audit_chain_heads",
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chain_heads")),
    )
    # The legacy chain is closed; its head lets verification notice entries cut off its end.
    op.execute(
        "INSERT INTO audit_chain_heads (chain, position, hash)"
        " SELECT 'legacy', seq, hash FROM audit_entries"
        " WHERE seq = (SELECT max(seq) FROM audit_entries)"
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index(
        "ix_audit_checkpoints_chain_position", "audit_checkpoints", ["chain", "position"]
    )


def downgrade() -> None:
    # The audit log is evidence: no migration removes it.
    raise NotImplementedError("the audit chains cannot be downgraded away")
