"""The background job of `serve` that signs chain heads: every ``interval_seconds`` it signs each
chain that grew by ``min_entries`` or more since its last checkpoint, so that `fukaiji audit
verify` has only a short tail to walk."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from fukaiji.audit.service import checkpoint
from fukaiji.audit.signer import CheckpointSigner
from fukaiji.db import transaction

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(
        self,
        engine: Engine,
        signer: CheckpointSigner,
        *,
        interval_seconds: float,
        min_entries: int,
    ) -> None:
        self._engine = engine
        self._signer = signer
        self._interval = interval_seconds
        self._min_entries = min_entries
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._interval + 30)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                with transaction(self._engine) as session:
                    report = checkpoint(session, self._signer, min_entries=self._min_entries)
            except Exception:  # the next tick tries again; nothing depends on a checkpoint
                log.exception("audit checkpoint failed")
                continue
            for refusal in report.refused:
                # A broken chain is not signed; it must reach a person, not only this log.
                log.error("audit chain not signed: %s", refusal)
            if report.signed:
                log.info("audit checkpoints: %d chain(s) signed", len(report.signed))
