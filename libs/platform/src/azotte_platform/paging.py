"""AIP-158 pagination: page sizes and opaque keyset page tokens, over a query or a list in memory."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from azotte_platform.errors import InvalidArgument

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size(requested: int) -> int:
    """The number of items to return: default when unset, capped at the maximum."""
    if requested < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _filter_digest(query: Sequence[object]) -> str:
    return hashlib.sha256(json.dumps(list(query), default=str).encode()).hexdigest()[:16]


def encode_page_token(last_key: Sequence[Any], query: Sequence[object] = ()) -> str:
    """An opaque token for the page after the row with sort key `last_key`."""
    raw = json.dumps({"k": list(last_key), "q": _filter_digest(query)}, default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str, query: Sequence[object] = ()) -> list[Any] | None:
    """The sort key a token continues after; None for the first page.

    A token must be used with the same filters it was issued for.
    """
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key, digest = data["k"], data["q"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidArgument.field("page_token", "is not a token this service issued") from error
    if digest != _filter_digest(query) or not isinstance(key, list):
        raise InvalidArgument.field("page_token", "was issued for a different query")
    return key


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of items and the token of the next page ('' when this is the last)."""

    items: list[T]
    next_page_token: str


def paginate(
    rows: Sequence[T], size: int, key_of: Callable[[T], Sequence[Any]], query: Sequence[object] = ()
) -> Page[T]:
    """Cut `rows` (fetched with limit size + 1) into a page and a next token."""
    items = list(rows[:size])
    token = encode_page_token(key_of(items[-1]), query) if len(rows) > size else ""
    return Page(items, token)


class ListRequest(Protocol):
    """A list request: AIP-158 `page_size` and `page_token`."""

    @property
    def page_size(self) -> int: ...

    @property
    def page_token(self) -> str: ...


@dataclass(frozen=True)
class PageRequest:
    """A validated page request: how many items, after which sort key, for which query."""

    size: int
    after: list[Any] | None
    query: tuple[object, ...]

    @classmethod
    def of(cls, request: ListRequest, *query: object) -> PageRequest:
        """The page `request` asks for; `query` names the list and its filters, which a token is bound to."""
        return cls(page_size(request.page_size), decode_page_token(request.page_token, query), query)

    @property
    def limit(self) -> int:
        """Rows to fetch: one more than the page, to know whether another follows."""
        return self.size + 1

    def after_key(self, index: int = 0) -> Any:
        """One part of the sort key to continue after (None on the first page)."""
        return self.after[index] if self.after is not None else None

    def page(self, rows: Sequence[T], key_of: Callable[[T], Sequence[Any]]) -> Page[T]:
        """Cut rows fetched with `limit` into a page and a next token."""
        return paginate(rows, self.size, key_of, self.query)

    def page_in_memory(self, items: Iterable[T], sort_key: Callable[[T], str]) -> Page[T]:
        """One page of a list held in memory, ordered by `sort_key` (a string unique per item)."""
        ordered = sorted(items, key=sort_key)
        if self.after is not None:
            after = str(self.after[0])
            ordered = [item for item in ordered if sort_key(item) > after]
        return self.page(ordered[: self.limit], lambda item: [sort_key(item)])
