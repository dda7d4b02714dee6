"""Events about a person that a lower package announces and a higher one must act on.

The register (a 転出 or 転入), the network (a 情報照会 reaching a provider) and the staff reads
sit below the protection package, which alone knows who is protected and which desk to tell
(DESIGN §3: dependencies point down). So a lower package announces what happened here, in the
same transaction, and the protection package listens (``fukaiji.protection.watch``).

Fail closed: announcing with nobody listening is an error, never a silent drop, since a desk that
is not told of a move or a query about its person cannot act on it. Bottom layer: imports nothing
of fukaiji.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session


class PersonEventKind(StrEnum):
    MOVE_OUT = "move_out"  # 転出 recorded (by the municipality or by the person)
    MOVE_IN = "move_in"  # 転入 completed at the destination
    MOVE_REFUSED = "move_refused"  # a 転入 tried without a 転出 naming this municipality
    LOOKUP = "lookup"  # staff looked the person up (by 個人番号, id or addressee number)
    ENROLLED = "enrolled"  # an institution gave her an addressee number for the first time
    QUERY = "query"  # a 情報照会 about the person reached a provider
    PROTECTION_REGISTERED = "protection_registered"
    PROTECTION_REFUSED = "protection_refused"  # a desk tried to register someone not its own
    REGION_CHANGED = "region_changed"


@dataclass(frozen=True, slots=True)
class PersonEvent:
    """What happened to whom, done by whom. ``institution_code`` is the acting institution
    (None for the person herself on the portal). ``details`` never carries a region, an address
    or a 個人番号: listeners write them into messages and audit entries."""

    kind: PersonEventKind
    person_id: uuid.UUID
    institution_code: str | None
    actor: str
    at: datetime
    details: Mapping[str, object] = field(default_factory=dict)


Listener = Callable[[Session, PersonEvent], None]
_listeners: list[Listener] = []
Objector = Callable[[Session, PersonEvent], str | None]
"""Asked before an event happens: a reason to hold it back, or None."""
_objectors: list[Objector] = []


class NoListener(RuntimeError):
    """A person event was announced before anything that acts on it was loaded."""


def listen(listener: Listener) -> Listener:
    """Register ``listener`` once (usable as a decorator)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def objector(check: Objector) -> Objector:
    """Register ``check`` once (usable as a decorator)."""
    if check not in _objectors:
        _objectors.append(check)
    return check


def objections(session: Session, event: PersonEvent) -> list[str]:
    """Every reason to hold ``event`` back. Fail closed as ``announce`` does."""
    if not _objectors:
        raise NoListener(
            f"no objector for person event {event.kind}: import fukaiji.protection first"
        )
    return [reason for check in tuple(_objectors) if (reason := check(session, event))]


def announce(session: Session, event: PersonEvent) -> None:
    """Tell every listener, in the caller's transaction."""
    if not _listeners:
        raise NoListener(
            f"no listener for person event {event.kind}: import fukaiji.protection first"
        )
    for listener in tuple(_listeners):
        listener(session, event)
