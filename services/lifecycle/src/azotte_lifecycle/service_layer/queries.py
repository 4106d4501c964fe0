"""The AIP-160 `filter` and AIP-132 `order_by` of lifecycle's lists, read into repository queries.

Errors name `filter` or `order_by`, the request's own fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from azotte_lifecycle.domain.customer import IdentityKind
from azotte_lifecycle.domain.events import Cause, EventType
from azotte_lifecycle.ports import CustomerQuery, HistoryQuery, SubscriptionQuery, TimeBound
from azotte_platform.enums import SubscriptionState
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import COMPARISONS, EQUALITY, Filter, Ordering
from azotte_platform.paging import PageRequest

E = TypeVar("E", bound=StrEnum)

CUSTOMER_FILTER = {
    "email": EQUALITY,
    "external_id": EQUALITY,
    "country_code": EQUALITY,
    "identity.kind": EQUALITY,
    "identity.value": EQUALITY,
    "identity.issuer": EQUALITY,
    "create_time": COMPARISONS,
}
CUSTOMER_ORDER = ("create_time", "email", "external_id")
SUBSCRIPTION_FILTER = {
    "state": frozenset({"=", "!="}),
    "plan_id": EQUALITY,
    "customer_id": EQUALITY,
    "create_time": COMPARISONS,
    "current_period_end_time": COMPARISONS,
}
SUBSCRIPTION_ORDER = ("create_time", "current_period_end_time")
HISTORY_FILTER = {"event_type": EQUALITY, "cause": EQUALITY, "occur_time": COMPARISONS}
HISTORY_ORDER = ("occur_time",)


def customer_query(text: str, order_by: str, *, email: str = "", external_id: str = "") -> CustomerQuery:
    """The customers `filter` and `order_by` ask for, ANDed with the request's exact-match fields."""
    parsed = Filter.parse(text, CUSTOMER_FILTER)
    ordering = Ordering.parse(order_by, CUSTOMER_ORDER, "create_time")
    field, descending = _single(ordering)
    kind = parsed.value("identity.kind")
    email_filter, external_filter = parsed.value("email") or "", parsed.value("external_id") or ""
    return CustomerQuery(
        email=_both(email, email_filter.lower() if email_filter else "", "email"),
        external_id=_both(external_id, external_filter, "external_id"),
        country_code=(parsed.value("country_code") or "").upper(),
        identity_kind=None if kind is None else _enum(IdentityKind, kind, "identity.kind", "CHANNEL_IDENTITY_KIND"),
        identity_value=parsed.value("identity.value") or "",
        identity_issuer=parsed.value("identity.issuer"),
        created=_times(parsed, "create_time"),
        order_by="created_at" if field == "create_time" else field,
        descending=descending,
    )


def subscription_query(
    text: str, order_by: str, *, customer_id: str = "", state: SubscriptionState | None = None
) -> SubscriptionQuery:
    """The subscriptions `filter` and `order_by` ask for, ANDed with the request's `customer_id` and `state`."""
    parsed = Filter.parse(text, SUBSCRIPTION_FILTER)
    field, descending = _single(Ordering.parse(order_by, SUBSCRIPTION_ORDER, "create_time"))
    states = [state] if state is not None else []
    if (wanted := parsed.value("state")) is not None:
        states.append(_enum(SubscriptionState, wanted, "state", "SUBSCRIPTION_STATE"))
    if len(set(states)) > 1:
        return _nothing()
    unwanted = parsed.value("state", "!=")
    return SubscriptionQuery(
        customer_id=_both(customer_id, parsed.value("customer_id") or "", "customer_id"),
        plan_id=parsed.value("plan_id") or "",
        states=tuple(states[:1]),
        not_states=() if unwanted is None else (_enum(SubscriptionState, unwanted, "state", "SUBSCRIPTION_STATE"),),
        created=_times(parsed, "create_time"),
        period_end=_times(parsed, "current_period_end_time"),
        order_by="created_at" if field == "create_time" else "current_period_end",
        descending=descending,
    )


def history_query(text: str, order_by: str) -> HistoryQuery:
    """The history entries `filter` and `order_by` ask for."""
    parsed = Filter.parse(text, HISTORY_FILTER)
    _, descending = _single(Ordering.parse(order_by, HISTORY_ORDER, "occur_time"))
    event_type, cause = parsed.value("event_type"), parsed.value("cause")
    if event_type is not None:
        event_type = _enum(EventType, event_type, "event_type", "").value
    if cause is not None:
        cause = _enum(Cause, cause, "cause", "").value
    return HistoryQuery(event_type or "", cause or "", _times(parsed, "occur_time"), descending)


def _single(ordering: Ordering) -> tuple[str, bool]:
    if len(ordering.keys) != 1:
        raise InvalidArgument.field("order_by", "order by one field")
    return ordering.keys[0]


def _both(given: str, filtered: str, field: str) -> str:
    """A field the request gives both as a field and in `filter`: they must agree."""
    if given and filtered and given != filtered:
        raise InvalidArgument.field("filter", f"{field} differs from the request's {field}")
    return given or filtered


def _nothing() -> SubscriptionQuery:
    # NOTE: two different states ANDed match nothing: a state no subscription has.
    return SubscriptionQuery(states=(), not_states=tuple(SubscriptionState))


def _enum(kind: type[E], value: str, field: str, prefix: str) -> E:
    """An enum member by its value or its (prefixed) proto name, case-insensitively."""
    name = value.strip().lower()
    if prefix and name.startswith(prefix.lower() + "_"):
        name = name[len(prefix) + 1 :]
    try:
        return kind(name)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidArgument.field("filter", f"{field} must be one of {allowed}") from None


def _times(parsed: Filter, field: str) -> tuple[TimeBound, ...]:
    bounds = []
    for condition in parsed.conditions:
        if condition.field != field:
            continue
        try:
            at = datetime.fromisoformat(condition.value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgument.field("filter", f"{field} must be an RFC 3339 time") from None
        bounds.append(TimeBound(condition.op, at if at.tzinfo else at.replace(tzinfo=UTC)))
    return tuple(bounds)


def keyset_after(page: PageRequest, *, timed: bool) -> list[str] | None:
    """The (sort value, id) a page token continues after; a token that does not hold one is INVALID_ARGUMENT."""
    after = page.after
    if after is None:
        return None
    valid = len(after) == 2 and all(isinstance(part, str) for part in after)
    if valid and timed:
        try:
            datetime.fromisoformat(after[0])
        except ValueError:
            valid = False
    if not valid:
        raise InvalidArgument.field("page_token", "is not a token this service issued")
    return [str(part) for part in after]


def sequence_after(page: PageRequest) -> int | None:
    """The number a page token continues after (a history entry, a policy version)."""
    after = page.after_key()
    if after is None:
        return None
    if isinstance(after, bool) or not isinstance(after, int | str) or not str(after).isdigit():
        raise InvalidArgument.field("page_token", "is not a token this service issued")
    return int(after)
