"""Many rows in one statement: the rows travel as one array per column and PostgreSQL unnests them.

The statement text is the same whatever the number of rows, so it is prepared once, and the server runs
it once rather than once per row. Array columns cannot travel this way (unnest would flatten them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert

_PARAMETER_PREFIX = "rows_"
"""Array parameters are named after their column with this prefix (SQLAlchemy reserves bare column names)."""


def unnested(columns: Iterable[sa.ColumnClause[Any]], name: str = "v") -> sa.TableValuedAlias:
    """`unnest(:rows_c1, :rows_c2, ...) AS v(c1, c2, ...)`: one typed array parameter per column."""
    columns = list(columns)
    arrays = (sa.bindparam(_PARAMETER_PREFIX + column.name, type_=ARRAY(column.type)) for column in columns)
    return (
        sa.func.unnest(*arrays)
        .table_valued(*(sa.column(column.name, column.type) for column in columns))
        .render_derived()
        .alias(name)
    )


def insert_unnested(table: sa.Table, column_names: Sequence[str]) -> Insert:
    """INSERT INTO table (columns) SELECT * FROM unnest(...): run it with `as_arrays(rows, column_names)`."""
    source = unnested(table.c[name] for name in column_names)
    return insert(table).from_select(list(column_names), sa.select(source))


def replacing(statement: Insert) -> Insert:
    """`statement`, an insert of every column of its table, replacing the row its primary key already names."""
    table = statement.table
    assert isinstance(table, sa.Table), "an insert into a table"
    return statement.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={column.name: statement.excluded[column.name] for column in table.c if not column.primary_key},
    )


def as_arrays(rows: Sequence[Mapping[str, Any]], column_names: Iterable[str]) -> dict[str, list[Any]]:
    """The parameters of an `unnested` statement: one list per column, in row order."""
    return {_PARAMETER_PREFIX + name: [row[name] for row in rows] for name in column_names}


def update_unnested(table: sa.Table, key_names: Sequence[str], column_names: Sequence[str]) -> sa.Update:
    """UPDATE table SET columns FROM unnest(...) WHERE keys match: run it with `as_arrays` of keys and columns."""
    source = unnested(table.c[name] for name in (*key_names, *column_names))
    return (
        sa.update(table)
        .where(*(table.c[name] == source.c[name] for name in key_names))
        .values({name: source.c[name] for name in column_names})
    )
