"""A posted portal form, read once and checked by the same text rules as every API request.

Every value keeps to its field's length limit and holds no NUL or lone surrogate (else INVALID_ARGUMENT naming
the field); integers fit an int64. Pages read typed values from it:

    form = await read_form(request)
    name = form.text("display_name")
    amount = form.integer("amount_minor")
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import UploadFile

from azotte_platform.errors import InvalidArgument
from azotte_platform.grpc.requests import field_limit, text_problem

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_STATE_KEY = "portal_form"


@dataclass(frozen=True)
class PortalForm:
    """The fields of one posted form (the last value of a repeated name, or all of them with `all`)."""

    values: dict[str, list[str]] = field(default_factory=dict)

    def raw(self, name: str) -> str:
        """The value as posted ("" when absent)."""
        return self.values.get(name, [""])[-1]

    def text(self, name: str, *, required: bool = False) -> str:
        """The value trimmed; INVALID_ARGUMENT naming the field when required and empty."""
        value = self.raw(name).strip()
        if required and not value:
            raise InvalidArgument.field(name, "is required")
        return value

    def all(self, name: str) -> list[str]:
        """Every value posted under the name (checkboxes, multi-selects)."""
        return list(self.values.get(name, []))

    def integer(
        self, name: str, *, required: bool = True, minimum: int = INT64_MIN, maximum: int = INT64_MAX
    ) -> int | None:
        """The value as an integer between `minimum` and `maximum` (None when empty and not required)."""
        text = self.text(name, required=required)
        if not text:
            return None
        try:
            value = int(text) if len(text) <= 20 else INT64_MAX + 1
        except ValueError:
            raise InvalidArgument.field(name, "must be a whole number") from None
        if not minimum <= value <= maximum:
            raise InvalidArgument.field(name, f"must be between {minimum} and {maximum}")
        return value

    def checked(self, name: str) -> bool:
        """True when a checkbox of that name was ticked."""
        return name in self.values


async def read_form(request: Request) -> PortalForm:
    """The request's form, read and checked once (uploads are refused: the portal posts text only)."""
    cached = getattr(request.state, _STATE_KEY, None)
    if isinstance(cached, PortalForm):
        return cached
    values: dict[str, list[str]] = {}
    for name, value in (await request.form()).multi_items():
        if isinstance(value, UploadFile):
            raise InvalidArgument.field(name, "must be text")
        if text_problem(name, 256) is not None:
            raise InvalidArgument.field("form", "has a field name that is not clean text")
        problem = text_problem(value, field_limit(name))
        if problem is not None:
            raise InvalidArgument.field(name, problem)
        values.setdefault(name, []).append(value)
    form = PortalForm(values)
    setattr(request.state, _STATE_KEY, form)
    return form
