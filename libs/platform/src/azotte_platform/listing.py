"""AIP-160 filters and AIP-132 `order_by` of list requests, restricted to the fields each list declares.

A filter is a conjunction of comparisons, `field op value`, joined by `AND` (e.g.
`state = "ACTIVE" AND create_time >= "2026-01-01T00:00:00Z"`); values are bare words or double-quoted
strings. `order_by` is a comma-separated list of `field` or `field desc`. Anything a list does not
declare is INVALID_ARGUMENT naming `filter` or `order_by`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest, encode_page_token, page_size

T = TypeVar("T")

OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
EQUALITY = frozenset({"="})
COMPARISONS = frozenset(OPERATORS)
MAX_FILTER_LENGTH = 2048

_TERM = re.compile(
    r"""\s*(?P<field>[a-z][a-z0-9_.]*)\s*(?P<op><=|>=|!=|=|<|>)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s"()]+)\s*""",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+AND\s+")


@dataclass(frozen=True)
class Condition:
    """One comparison of a filter."""

    field: str
    op: str
    value: str


@dataclass(frozen=True)
class Filter:
    """A parsed filter: its conditions, at most one per (field, operator)."""

    conditions: tuple[Condition, ...] = ()

    @classmethod
    def parse(cls, text: str, fields: Mapping[str, Collection[str]], *, name: str = "filter") -> Filter:
        """Parse `text`; `fields` maps each filterable field to the operators it accepts."""
        text = text.strip()
        if not text:
            return cls()
        if len(text) > MAX_FILTER_LENGTH:
            raise InvalidArgument.field(name, f"must be at most {MAX_FILTER_LENGTH} characters")
        conditions: list[Condition] = []
        for part in _split_and(text):
            match = _TERM.fullmatch(part)
            if match is None:
                raise InvalidArgument.field(name, f"cannot parse {part.strip()!r}: expected `field op value`")
            field, op, value = match["field"], match["op"], _unquote(match["value"])
            if field not in fields:
                allowed = ", ".join(sorted(fields)) or "none"
                raise InvalidArgument.field(name, f"cannot filter on {field!r}; filterable fields: {allowed}")
            if op not in fields[field]:
                raise InvalidArgument.field(name, f"{field!r} accepts only {', '.join(sorted(fields[field]))}")
            if any(c.field == field and c.op == op for c in conditions):
                raise InvalidArgument.field(name, f"{field} {op} is given twice")
            conditions.append(Condition(field, op, value))
        return cls(tuple(conditions))

    def value(self, field: str, op: str = "=") -> str | None:
        """The value compared with `field` by `op`, or None when the filter does not say."""
        return next((c.value for c in self.conditions if c.field == field and c.op == op), None)

    def canonical(self) -> tuple[tuple[str, str, str], ...]:
        """The conditions in a stable order, to bind page tokens to the filter."""
        return tuple(sorted((c.field, c.op, c.value) for c in self.conditions))


@dataclass(frozen=True)
class Ordering:
    """A parsed `order_by`: (field, descending) pairs."""

    keys: tuple[tuple[str, bool], ...]

    @classmethod
    def parse(cls, text: str, fields: Sequence[str], default: str, *, name: str = "order_by") -> Ordering:
        """Parse `text` (or `default` when empty); only `fields` may be ordered on."""
        keys: list[tuple[str, bool]] = []
        for part in (text.strip() or default).split(","):
            words = part.split()
            if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                raise InvalidArgument.field(name, f"cannot parse {part.strip()!r}: expected `field` or `field desc`")
            if words[0] not in fields:
                orderable = ", ".join(fields)
                raise InvalidArgument.field(name, f"cannot order by {words[0]!r}; orderable fields: {orderable}")
            keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
        return cls(tuple(keys))

    @property
    def text(self) -> str:
        """The canonical form, e.g. `create_time desc`."""
        return ", ".join(f"{field} desc" if desc else field for field, desc in self.keys)


def page_in_order(
    items: Iterable[T],
    ordering: Ordering,
    keys: Mapping[str, Callable[[T], str]],
    tiebreak: Callable[[T], str],
    paging: PageRequest,
) -> Page[T]:
    """One page of a list held in memory, in `ordering`; `keys` gives each orderable field's value as a string
    that sorts like the field, `tiebreak` a string unique per item (ascending, after the ordering's fields)."""
    fields = [(keys[field], desc) for field, desc in ordering.keys]

    def key_of(item: T) -> list[str]:
        return [value(item) for value, _ in fields] + [tiebreak(item)]

    # NOTE: stable sorts from the last key to the first give a mixed ascending/descending order.
    ordered = sorted(items, key=tiebreak)
    for value, desc in reversed(fields):
        ordered.sort(key=value, reverse=desc)
    if paging.after is not None:
        last = [str(part) for part in paging.after]
        descending = [desc for _, desc in fields] + [False]
        ordered = [item for item in ordered if _comes_after(key_of(item), last, descending)]
    page = ordered[: paging.size]
    token = encode_page_token(key_of(page[-1]), paging.query) if len(ordered) > paging.size else ""
    return Page(page, token)


def _comes_after(key: list[str], last: list[str], descending: list[bool]) -> bool:
    for value, previous, desc in zip(key, last, descending, strict=False):
        if value != previous:
            return value < previous if desc else value > previous
    return False


def _split_and(text: str) -> list[str]:
    """Split on AND outside double quotes."""
    parts, start, quoted = [], 0, False
    for index, char in enumerate(text):
        if char == '"' and (index == 0 or text[index - 1] != "\\"):
            quoted = not quoted
        elif not quoted:
            match = _AND.match(text, index)
            if match and match.start() == index:
                parts.append(text[start:index])
                start = match.end()
    parts.append(text[start:])
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def forwarded(request: Any) -> dict[str, Any]:
    """The paging, filter and order of a list request, as the fields of the list request a service forwards
    to the service that owns the list (which parses and checks them)."""
    return {
        "page_size": page_size(request.page_size),
        "page_token": request.page_token,
        "filter": request.filter,
        "order_by": request.order_by,
    }
