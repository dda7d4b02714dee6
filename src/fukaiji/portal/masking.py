"""Protective masking (保護のための非表示): what a view holds back from a path that may be the
perpetrator's, decided above the portal and applied here, in the one function that builds views.

The portal cannot tell a victim from whoever holds her card, and it does not know who is
protected: the protection package does, and it sits above the portal in the package order
(DESIGN §3). So the protection package registers a guard here (``fukaiji.protection.masking``),
and ``folder_view`` asks it, for every view, what to hold back from the path that is looking.
The exposure check builds its views through the same call, so what the portal shows and what
the check reports can never disagree (DESIGN §2, enforce, then report).

Fail closed: building a view with no guard registered is an error, never an unmasked view.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from fukaiji.network.linkage import InstitutionRef


@dataclass(frozen=True, slots=True)
class ViewPath:
    """Who is looking at whose folder, and how they got in.

    ``card_id`` is the card the looking session logged in with; for the person's own path it is
    what tells her reissued card from the one left behind. ``grant_id`` is the proxy grant a
    proxy looks through (None for the person's own path)."""

    person_id: uuid.UUID
    viewer_person_id: uuid.UUID
    grant_id: int | None
    card_id: int | None


class Shown(Protocol):
    """An item of a view, as a guard tests it: the institutions it names and its text."""

    @property
    def institutions(self) -> tuple[InstitutionRef, ...]: ...


class Mask(Protocol):
    def hides(self, item: Shown) -> bool:
        """Whether the item must not be shown to this path."""
        ...

    def hides_all_of(self, institution: InstitutionRef) -> bool:
        """Whether every item naming ``institution`` is held back from this path."""
        ...


Guard = Callable[[Session, ViewPath], Mask | None]
"""The mask for a path, or None when the path may see everything."""
_guards: list[Guard] = []


class NoGuard(RuntimeError):
    """A view was built before anything that decides what to hold back was loaded."""


def guard(check: Guard) -> Guard:
    """Register ``check`` once (usable as a decorator)."""
    if check not in _guards:
        _guards.append(check)
    return check


def masks_for(session: Session, path: ViewPath) -> tuple[Mask, ...]:
    """Every mask that applies to the path (empty: nothing to hold back)."""
    if not _guards:
        raise NoGuard("no masking guard is registered: import fukaiji.protection first")
    return tuple(mask for check in tuple(_guards) if (mask := check(session, path)) is not None)
