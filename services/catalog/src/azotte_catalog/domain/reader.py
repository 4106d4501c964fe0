"""Typed field access on untrusted mappings, recording a violation per bad field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TypeVar

from .validation import Violations, join, parse_decimal

_E = TypeVar("_E", bound=Enum)


class Reader:
    """Reads the fields of one object at `path`; every problem is added to `violations`."""

    def __init__(self, data: object, path: str, violations: Violations, allowed: frozenset[str]):
        self.path = path
        self.v = violations
        self.data: Mapping[str, object] = data if isinstance(data, Mapping) else {}
        if not isinstance(data, Mapping):
            violations.add(path or "document", "must be a mapping")
        for name in self.data:
            if name not in allowed:
                violations.add(join(path, str(name)), "unknown field")

    def at(self, name: str) -> str:
        """The path of field `name`."""
        return join(self.path, name)

    def has(self, name: str) -> bool:
        """Whether field `name` is present and not null."""
        return self.data.get(name) is not None

    def str_(self, name: str, default: str | None = None) -> str:
        """A required string (or `default` when absent)."""
        value = self.data.get(name)
        if value is None and default is not None:
            return default
        if not isinstance(value, str):
            self.v.add(self.at(name), "required string" if value is None else "must be a string")
            return ""
        return value

    def opt_str(self, name: str) -> str | None:
        """An optional string."""
        return self.str_(name) if self.has(name) else None

    def int_(self, name: str, default: int | None = None) -> int:
        """A required integer (or `default`); floats and booleans are rejected."""
        value = self.data.get(name)
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            what = "required integer" if value is None else f"must be a whole number, not {value!r}"
            self.v.add(self.at(name), what)
            return 0
        return value

    def opt_int(self, name: str) -> int | None:
        """An optional integer."""
        return self.int_(name) if self.has(name) else None

    def bool_(self, name: str, default: bool) -> bool:
        """A boolean (or `default`)."""
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.v.add(self.at(name), "must be true or false")
            return default
        return value

    def enum(self, name: str, kind: type[_E], default: _E | None = None) -> _E:
        """A value of `kind` written as its string value (or `default`)."""
        value = self.data.get(name)
        if value is None and default is not None:
            return default
        return enum_value(self.v, self.at(name), value, kind)

    def decimal(self, name: str) -> Decimal:
        """A decimal written as a string ('0.19'); floats are rejected."""
        value = self.data.get(name)
        parsed = parse_decimal(value) if isinstance(value, str) else None
        if parsed is None:
            self.v.add(self.at(name), f'must be a decimal string like "0.19", not {value!r}')
            return Decimal(0)
        return parsed

    def time(self, name: str) -> datetime | None:
        """An optional ISO 8601 timestamp with a time zone."""
        value = self.data.get(name)
        if value is None or isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        self.v.add(self.at(name), f'must be an ISO 8601 timestamp like "2025-01-01T00:00:00Z", not {value!r}')
        return None

    def list_(self, name: str) -> Sequence[object]:
        """An optional list (empty when absent)."""
        value = self.data.get(name)
        if value is None:
            return ()
        if isinstance(value, str) or not isinstance(value, Sequence):
            self.v.add(self.at(name), "must be a list")
            return ()
        return value

    def strs(self, name: str) -> tuple[str, ...]:
        """An optional list of strings."""
        items = self.list_(name)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.v.add(join(self.at(name), i), "must be a string")
        return tuple(item for item in items if isinstance(item, str))

    def enums(self, name: str, kind: type[_E]) -> tuple[_E, ...]:
        """An optional list of `kind` values."""
        items = self.list_(name)
        return tuple(enum_value(self.v, join(self.at(name), i), item, kind) for i, item in enumerate(items))

    def child(self, name: str, allowed: frozenset[str]) -> Reader:
        """A reader of the nested object `name` (empty when absent)."""
        return Reader(self.data.get(name) or {}, self.at(name), self.v, allowed)


def enum_value(v: Violations, path: str, value: object, kind: type[_E]) -> _E:
    """`value` as a member of `kind`, recording a violation listing the choices otherwise."""
    for member in kind:
        if member.value == value:
            return member
    choices = ", ".join(str(m.value) for m in kind)
    v.add(path, f"{value!r} is not one of: {choices}")
    return next(iter(kind))
