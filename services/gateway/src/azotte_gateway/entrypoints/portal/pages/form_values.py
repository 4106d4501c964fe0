"""Reading the portal's plain-HTML form values into request fields: errors name the form's own field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from azotte_platform import convert
from azotte_platform.errors import InvalidArgument

INT64_MAX = 2**63 - 1


def fresh_request_id() -> str:
    """The request id a form carries from its rendering: resubmitting the same form repeats one call."""
    return uuid.uuid4().hex


def amount_minor(value: str, currency_code: str, field: str) -> int:
    """A positive amount typed in the currency's major unit ("12.50") as minor units (1250)."""
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise InvalidArgument.field(field, "must be an amount like 12.50") from None
    if not amount.is_finite() or amount.adjusted() > 20:
        raise InvalidArgument.field(field, "must be an amount like 12.50")
    digits = get_currency_precision(currency_code)
    minor = amount.scaleb(digits)
    if minor != minor.to_integral_value():
        raise InvalidArgument.field(field, f"must be an amount with at most {digits} decimals")
    if not 0 < minor <= INT64_MAX:
        raise InvalidArgument.field(field, "must be positive and at most 9223372036854775807 minor units")
    return int(minor)


def instant(value: str, field: str) -> Timestamp:
    """A `datetime-local` input ("2027-01-31T09:30"), read as UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidArgument.field(field, "must be a date and time like 2027-01-31T09:30") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return convert.timestamp(moment)


def enum_label(message: Message, field: str) -> str:
    """The name of an enum field's value without its type's prefix, e.g. "Partially refunded"."""
    descriptor = message.DESCRIPTOR.fields_by_name[field].enum_type
    assert descriptor is not None, f"{field} is not an enum field"
    values = [v.name for v in descriptor.values]
    prefix = values[0].removesuffix("UNSPECIFIED")
    name = descriptor.values_by_number.get(getattr(message, field))
    if name is None:
        return str(getattr(message, field))
    return name.name.removeprefix(prefix).replace("_", " ").capitalize()
