"""Checks of request fields every service makes, answered as INVALID_ARGUMENT naming the caller's own fields."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from azotte_platform.errors import FieldViolation, InvalidArgument


def require_fields(**values: object) -> None:
    """INVALID_ARGUMENT naming the first field (in the order given) whose value is empty."""
    for field, value in values.items():
        if not value:
            raise InvalidArgument.field(field, "is required")


def renamed_fields(error: InvalidArgument, renames: Mapping[str, str]) -> InvalidArgument:
    """The same error (same class and reason) with each segment of its field paths renamed.

    "plan.features[0].key" with {"features": "feature_grants", "key": "feature_key"} becomes
    "plan.feature_grants[0].feature_key": a layer that names fields its own way (a domain, a REST body)
    answers in the names its caller sent. The message is rebuilt from the renamed violations.
    """
    if not error.violations:
        return error

    def path(field: str) -> str:
        segments = []
        for segment in field.split("."):
            name, bracket, rest = segment.partition("[")
            segments.append(renames.get(name, name) + bracket + rest)
        return ".".join(segments)

    violations = [FieldViolation(path(v.field), v.description) for v in error.violations]
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    renamed = copy.copy(error)
    renamed.violations = violations
    renamed.message = f"{first.field}: {first.description}{more}"
    renamed.args = (renamed.message,)
    return renamed


@contextmanager
def field_names(renames: Mapping[str, str]) -> Iterator[None]:
    """Field violations raised in the block, re-raised with their paths renamed (see `renamed_fields`)."""
    try:
        yield
    except InvalidArgument as error:
        raise renamed_fields(error, renames) from None
