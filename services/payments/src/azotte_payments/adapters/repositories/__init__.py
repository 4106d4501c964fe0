"""One repository module per aggregate, over the payments tables (SQLAlchemy Core); every query is scoped by tenant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import PageRequest

IDS = sa.bindparam("b_ids", type_=ARRAY(sa.Text))
"""A list of ids bound as one array parameter (`= ANY(:b_ids)`)."""


def keyset_after(page: PageRequest, *parts: Callable[[Any], Any]) -> tuple[Any, ...] | None:
    """The sort key a page continues after, each part read with its parser; None on the first page."""
    if page.after is None:
        return None
    try:
        if len(page.after) != len(parts):
            raise ValueError(f"a key of {len(parts)} parts was expected")
        return tuple(parse(value) for parse, value in zip(parts, page.after, strict=True))
    except (TypeError, ValueError) as error:
        raise InvalidArgument.field("page_token", "is not a token this service issued") from error
