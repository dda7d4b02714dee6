"""Keyset paging by (time, row id): a page starts just past the last item of the one before, so
a deep page costs what the first one does and no item is skipped or repeated when several share a
timestamp (the row id breaks the tie). Pure SQL expressions; no I/O.

Newest first is the order of every view: ``OLDER`` walks down from a position, ``NEWER`` walks up
(for a previous page) and its rows come back oldest first, for the caller to reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement


class Direction(StrEnum):
    OLDER = "older"
    NEWER = "newer"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where an item sits in a newest-first view."""

    at: datetime
    row_id: int


def beyond(
    at: ColumnElement[Any], row_id: ColumnElement[Any], position: Position, direction: Direction
) -> ColumnElement[bool]:
    """Rows strictly past ``position`` in ``direction``.

    Written as a bound on the time column and then the tie-break, rather than a row-value
    comparison, so that both SQLite and PostgreSQL read it as a range on the index whose leading
    time column follows the equality columns."""
    if direction is Direction.OLDER:
        return and_(at <= position.at, or_(at < position.at, row_id < position.row_id))
    return and_(at >= position.at, or_(at > position.at, row_id > position.row_id))


def ordered(
    at: ColumnElement[Any], row_id: ColumnElement[Any], direction: Direction
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """ORDER BY for walking in ``direction`` (the index is read backwards for ``OLDER``)."""
    if direction is Direction.OLDER:
        return at.desc(), row_id.desc()
    return at.asc(), row_id.asc()
