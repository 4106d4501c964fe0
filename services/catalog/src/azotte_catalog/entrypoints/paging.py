"""AIP-158 pages over a cached list of resources."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from azotte_platform.paging import Page, decode_page_token, page_size, paginate

T = TypeVar("T")


def page_of(
    items: Iterable[T], sort_key: Callable[[T], str], requested_size: int, token: str, query: Sequence[object]
) -> Page:
    """One page of `items` ordered by `sort_key`, continuing after the token's key."""
    size = page_size(requested_size)
    after = decode_page_token(token, query)
    ordered = sorted(items, key=sort_key)
    if after is not None:
        ordered = [item for item in ordered if sort_key(item) > str(after[0])]
    return paginate(ordered[: size + 1], size, lambda item: [sort_key(item)], query)
