"""A customer's grants from every source, filtered (AIP-160) and ordered (AIP-132), one page at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from azotte_entitlement.domain.grants import Grant, GrantSource
from azotte_entitlement.ports import EntitlementUnitOfWork
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import COMPARISONS, EQUALITY, Condition, Filter, Ordering
from azotte_platform.paging import Page, PageRequest, decode_page_token, encode_page_token, page_size

FILTERABLE = {"feature_key": EQUALITY, "source": EQUALITY, "valid_until": COMPARISONS}
ORDERABLE = ("feature_key", "valid_from", "valid_until")
DEFAULT_ORDER = "feature_key"
# NOTE: an open-ended grant ends after every time: it sorts last and compares greater.
_OPEN_ENDED = "~"


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


_FIELDS: dict[str, Callable[[Grant], str]] = {
    "feature_key": lambda g: g.key.feature_key,
    "valid_from": lambda g: _time(g.valid_from),
    "valid_until": lambda g: _time(g.valid_until) if g.valid_until is not None else _OPEN_ENDED,
}


async def list_grants(
    uow: EntitlementUnitOfWork,
    tenant_id: str,
    customer_id: str,
    *,
    filter_text: str,
    order_by: str,
    size: int,
    token: str,
) -> Page[Grant]:
    """One page of the customer's grants matching `filter_text`, in `order_by` order (grant id breaks ties)."""
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    parsed = Filter.parse(filter_text, FILTERABLE)
    tests = [_test(condition) for condition in parsed.conditions]
    ordering = Ordering.parse(order_by, ORDERABLE, DEFAULT_ORDER)
    query = (tenant_id, customer_id, parsed.canonical(), ordering.text)
    paging = PageRequest(page_size(size), decode_page_token(token, query), query)
    grants = [g for g in await uow.grants.of_customer(tenant_id, customer_id) if all(t(g) for t in tests)]
    keys = [(_FIELDS[field], desc) for field, desc in ordering.keys]

    def key_of(grant: Grant) -> list[str]:
        return [value(grant) for value, _ in keys] + [grant.key.grant_id]

    # NOTE: stable sorts from the last key to the first give a mixed ascending/descending order.
    grants.sort(key=lambda g: g.key.grant_id)
    for value, desc in reversed(keys):
        grants.sort(key=value, reverse=desc)
    if paging.after is not None:
        directions = [desc for _, desc in keys] + [False]
        grants = [g for g in grants if _comes_after(key_of(g), paging.after, directions)]
    items = grants[: paging.size]
    next_token = encode_page_token(key_of(items[-1]), query) if len(grants) > paging.size else ""
    return Page(items, next_token)


def _comes_after(key: list[str], last: list[object], descending: list[bool]) -> bool:
    for value, previous, desc in zip(key, last, descending, strict=False):
        if value != previous:
            return value < str(previous) if desc else value > str(previous)
    return False


def _test(condition: Condition) -> Callable[[Grant], bool]:
    """Whether a grant meets one condition of the filter."""
    if condition.field == "feature_key":
        return lambda g: g.key.feature_key == condition.value
    if condition.field == "source":
        try:
            source = GrantSource(condition.value.lower())
        except ValueError:
            choices = ", ".join(s.value for s in GrantSource)
            raise InvalidArgument.field("filter", f"source is one of {choices}") from None
        return lambda g: g.key.source is source
    try:
        bound = datetime.fromisoformat(condition.value)
    except ValueError:
        raise InvalidArgument.field("filter", "valid_until is compared with an RFC 3339 time") from None
    if bound.tzinfo is None:
        raise InvalidArgument.field("filter", "valid_until is compared with an RFC 3339 time with its offset")
    value = _time(bound)
    compare: dict[str, Callable[[str], bool]] = {
        "=": lambda v: v == value,
        "!=": lambda v: v != value,
        "<": lambda v: v < value,
        "<=": lambda v: v <= value,
        ">": lambda v: v > value,
        ">=": lambda v: v >= value,
    }
    return lambda g: compare[condition.op](_FIELDS["valid_until"](g))
