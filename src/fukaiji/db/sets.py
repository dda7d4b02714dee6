"""A set of values in a query as ONE bound parameter, whatever its size.

``column.in_(values)`` binds one parameter per value: PostgreSQL refuses more than 65,535 in a
statement, and every size is a new statement to plan. Here a set is an array on PostgreSQL
(``= ANY(:values)``) and a JSON array read by ``json_each`` on SQLite.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def one_of(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (strings, integers or UUIDs)."""
    listed = list(values)
    if _is_postgresql(session):
        return column == any_(bindparam(None, listed, type_=ARRAY(column.type)))
    return column.in_(_json_values(listed))


def strings(session: Session, values: Iterable[str]) -> Select[tuple[str]]:
    """A SELECT of one text column, one row per value: a batch to join or to ask about."""
    listed = list(values)
    if _is_postgresql(session):
        array = bindparam(None, listed, type_=ARRAY(String()))
        return select(func.unnest(array).label("value"))
    return _json_values(listed)


def _json_values(values: list[Any]) -> Select[tuple[Any]]:
    # SQLite keeps a UUID as 32 hex digits (SQLAlchemy's Uuid on a backend without one).
    encoded = [value.hex if isinstance(value, uuid.UUID) else value for value in values]
    table = func.json_each(json.dumps(encoded)).table_valued("value")
    return select(table.c.value)


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
