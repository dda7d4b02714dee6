"""The background sweep that `fukaiji serve` runs: every few seconds, judge every protection so
that a lift or a return of an exclusion reaches the desk's messages even when nobody is looking.

Safety never waits for it: the exclusion list and the sending gate judge the live state
themselves whenever they are asked. A failed sweep is logged and tried again at the next tick.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from fukaiji.db import transaction
from fukaiji.network.models import Institution
from fukaiji.protection.exclusion import institutions_to_sweep, sweep

log = logging.getLogger(__name__)


def sweep_all(engine: Engine) -> int:
    """Sweep institution by institution, each in its own short transaction: a national body's
    10⁵ protections never hold the write lock for the whole country."""
    with transaction(engine) as session:
        institution_ids = [place.id for place in institutions_to_sweep(session)]
    changed = 0
    for institution_id in institution_ids:
        with transaction(engine) as session:
            changed += sweep(session, institution=session.get_one(Institution, institution_id))
    return changed


class Sweeper:
    def __init__(self, engine: Engine, *, interval_seconds: float) -> None:
        self._engine = engine
        self._interval = interval_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="protection-sweeper", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._interval + 30)

    def sweep_once(self) -> int:
        return sweep_all(self._engine)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                changed = self.sweep_once()
            except Exception:  # the next tick tries again; the live checks never depend on us
                log.exception("protection sweep failed")
                continue
            if changed:
                log.info("protection sweep: %d exclusion(s) changed", changed)
