"""監査ログ (audit log): append-only and hash-chained.

Every operation on personal data writes an entry here inside the same transaction as the
operation itself, so that an action and its audit entry commit or vanish together.
"""

from fukaiji.audit.chain import ChainBreak, canonical_json
from fukaiji.audit.service import VerificationResult, entries, record, verify

__all__ = ["ChainBreak", "VerificationResult", "canonical_json", "entries", "record", "verify"]
