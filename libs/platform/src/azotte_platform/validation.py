"""Checks of request fields every service makes, answered as INVALID_ARGUMENT naming the field."""

from __future__ import annotations

from azotte_platform.errors import InvalidArgument


def require_fields(**values: object) -> None:
    """INVALID_ARGUMENT naming the first field (in the order given) whose value is empty."""
    for field, value in values.items():
        if not value:
            raise InvalidArgument.field(field, "is required")
