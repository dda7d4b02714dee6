"""監査ログ (audit log): append-only and hash-chained, one chain per institution.

Every operation on personal data writes an entry here inside the same transaction as the
operation itself, so that an action and its audit entry commit or vanish together.
"""

from fukaiji.audit.chain import ChainBreak, canonical_json
from fukaiji.audit.service import CheckpointReport, checkpoint, entries, record
from fukaiji.audit.signer import CheckpointSigner, Ed25519Signer
from fukaiji.audit.verification import ChainVerification, VerificationResult, verify

__all__ = [
    "ChainBreak",
    "ChainVerification",
    "CheckpointReport",
    "CheckpointSigner",
    "Ed25519Signer",
    "VerificationResult",
    "canonical_json",
    "checkpoint",
    "entries",
    "record",
    "verify",
]
