"""Collects field violations so every error of an input is reported at once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from azotte_platform.errors import FieldViolation, InvalidArgument

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


def join(path: str, name: str | int) -> str:
    """Extend a field path: join("plans", 2) == "plans[2]", join("plans[2]", "id") == "plans[2].id"."""
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


@dataclass
class Violations:
    """An ordered list of field violations."""

    items: list[FieldViolation] = field(default_factory=list)

    def add(self, path: str, description: str) -> None:
        """Record that the field at `path` is invalid."""
        self.items.append(FieldViolation(path, description))

    def extend(self, other: Violations) -> None:
        """Record every violation of `other`."""
        self.items.extend(other.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, subject: str) -> None:
        """Raise InvalidArgument naming every violation, if there are any."""
        if not self.items:
            return
        first = self.items[0]
        more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
        raise InvalidArgument(f"invalid {subject}: {first.field}: {first.description}{more}", list(self.items))


def check_slug(v: Violations, path: str, value: str) -> None:
    """An identifier: lowercase letters, digits, '_', '.', '-', at most 63 characters."""
    if not _SLUG.match(value):
        v.add(path, f"{value!r} is not a valid id (lowercase letters, digits, '_', '.', '-'; max 63)")


def check_name(v: Violations, path: str, value: str) -> None:
    """A display name: non-blank, at most 200 characters."""
    if not value.strip() or len(value) > 200:
        v.add(path, "must be non-blank and at most 200 characters")


def check_aware(v: Violations, path: str, value: datetime) -> None:
    """A timestamp with a time zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        v.add(path, "must carry a time zone (e.g. 2025-01-01T00:00:00Z)")


def parse_decimal(text: str) -> Decimal | None:
    """The finite decimal written in `text`, or None."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
