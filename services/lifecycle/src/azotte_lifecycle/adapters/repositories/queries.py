"""SQL conditions of list queries: time comparisons, and keyset continuation in either direction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from azotte_lifecycle.ports import TimeBound

_TS = sa.DateTime(timezone=True)
_COMPARE: dict[str, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
    "=": lambda column, at: column == at,
    "!=": lambda column, at: column != at,
    "<": lambda column, at: column < at,
    "<=": lambda column, at: column <= at,
    ">": lambda column, at: column > at,
    ">=": lambda column, at: column >= at,
}


def bounds(column: sa.ColumnElement[datetime], times: Iterable[TimeBound]) -> list[sa.ColumnElement[bool]]:
    """The conditions comparing `column` with each bound's time."""
    return [_COMPARE[bound.op](column, sa.literal(bound.at, _TS)) for bound in times]


def after(
    column: sa.ColumnElement[Any], id_column: sa.ColumnElement[str], value: Any, last_id: str, *, descending: bool
) -> sa.ColumnElement[bool]:
    """Rows after (value, last_id) in the order (column, id), ascending or descending."""
    key = sa.tuple_(column, id_column)
    last = sa.tuple_(sa.literal(value, column.type), sa.literal(last_id))
    return key < last if descending else key > last
