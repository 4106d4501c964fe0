"""The catalog's lists (AIP-158/160/132): a tenant's resources filtered, ordered and paged in memory.

Each list declares its fields: how to read one from a resource, how to read a filter's value for it,
and the operators a filter may use. A page token is bound to the list, its filter and its order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cmp_to_key
from typing import Any, Generic, Protocol, TypeVar

from azotte_catalog.domain.feature import Feature, FeatureKind
from azotte_catalog.domain.mapping import ChannelMapping
from azotte_catalog.domain.plan import Plan, PlanStatus
from azotte_catalog.domain.price import ExistingSubscribers, Price
from azotte_catalog.domain.storefront import Storefront
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import COMPARISONS, EQUALITY, Filter, Ordering
from azotte_platform.paging import Page, PageRequest

T = TypeVar("T")
Value = str | int | bool
Times = Callable[[str, str], tuple[datetime, datetime] | None]


class ListRequest(Protocol):
    """A catalog list request: paging, `filter` and `order_by`."""

    @property
    def page_size(self) -> int: ...

    @property
    def page_token(self) -> str: ...

    @property
    def filter(self) -> str: ...

    @property
    def order_by(self) -> str: ...


@dataclass(frozen=True)
class ListField(Generic[T]):
    """A field of a list: its value in a resource, how a filter writes it, the operators it accepts."""

    get: Callable[[T], Value]
    parse: Callable[[str], Value]
    ops: Collection[str] = EQUALITY
    # NOTE: a field holding several values (a storefront's channels) is "=" when one of them is.
    contains: Callable[[T], Collection[Value]] | None = None

    def holds(self, item: T, op: str, wanted: Value) -> bool:
        """Whether `item`'s value compares with `wanted` by `op`."""
        if self.contains is not None:
            return (wanted in self.contains(item)) == (op == "=")
        return _compare(self.get(item), op, wanted)


@dataclass(frozen=True)
class ListShape(Generic[T]):
    """What a list can be filtered and ordered on; `ident` is a resource's unique id (the last order key)."""

    name: str
    fields: Mapping[str, ListField[T]]
    filterable: tuple[str, ...]
    orderable: tuple[str, ...]
    default_order: str
    ident: Callable[[T], str]

    def page(self, request: ListRequest, items: Iterable[T], *query: object) -> Page[T]:
        """One page of `items` matching the request's filter, in its order; `query` adds other criteria."""
        parsed = Filter.parse(request.filter, {name: self.fields[name].ops for name in self.filterable})
        ordering = Ordering.parse(request.order_by, self.orderable, self.default_order)
        tests = [
            (self.fields[c.field], c.op, _parsed(self.fields[c.field], c.field, c.value)) for c in parsed.conditions
        ]
        matching = [item for item in items if all(field.holds(item, op, value) for field, op, value in tests)]
        page = PageRequest.of(request, self.name, *query, parsed.canonical(), ordering.text)
        directions = [desc for _, desc in ordering.keys] + [False]

        def key(item: T) -> list[Value]:
            return [self.fields[name].get(item) for name, _ in ordering.keys] + [self.ident(item)]

        def compare(left: Sequence[Any], right: Sequence[Any]) -> int:
            for a, b, desc in zip(left, right, directions, strict=True):
                if a != b:
                    return (-1 if a < b else 1) * (-1 if desc else 1)
            return 0

        def compare_items(a: T, b: T) -> int:
            return compare(key(a), key(b))

        ordered = sorted(matching, key=cmp_to_key(compare_items))
        if page.after is not None:
            after = page.after
            sample = key(ordered[0]) if ordered else None
            if sample is not None and (
                len(after) != len(sample) or any(type(a) is not type(s) for a, s in zip(after, sample, strict=False))
            ):
                raise InvalidArgument.field("page_token", "is not a token this service issued")
            ordered = [item for item in ordered if compare(key(item), after) > 0]
        return page.page(ordered[: page.limit], key)


def _parsed(field: ListField[Any], name: str, text: str) -> Value:
    try:
        return field.parse(text)
    except ValueError as error:
        raise InvalidArgument.field("filter", f"{name}: {error}") from None


def _compare(actual: Value, op: str, wanted: Value) -> bool:
    if op == "=":
        return actual == wanted
    if op == "!=":
        return actual != wanted
    if type(actual) is not type(wanted):
        return False
    left: Any = actual
    right: Any = wanted
    return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])


def stamp(when: datetime) -> str:
    """A time as a fixed-width UTC string, so that times order and compare as strings."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(text: str) -> str:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time, e.g. 2026-01-01T00:00:00Z") from None
    if when.tzinfo is None:
        raise ValueError(f"{text!r} needs a time zone, e.g. 2026-01-01T00:00:00Z")
    return stamp(when)


def _enum(kind: type[StrEnum], prefix: str) -> Callable[[str], Value]:
    """A filter's enum value: its name (`active`) or its protobuf name (`PLAN_STATE_ACTIVE`), any case."""

    def parse(text: str) -> Value:
        name = text.lower().removeprefix(prefix)
        try:
            return kind(name).value
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise ValueError(f"{text!r} is not one of {allowed}") from None

    return parse


def _bool(text: str) -> Value:
    if text.lower() not in ("true", "false"):
        raise ValueError(f"{text!r} is not true or false")
    return text.lower() == "true"


def _int(text: str) -> Value:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def _text(text: str) -> Value:
    return text


_channel = _enum(Channel, "channel_")
_NEVER = datetime.min.replace(tzinfo=UTC)


def _created(times: Times, kind: str) -> Callable[[Any], Value]:
    return lambda item: stamp((times(kind, item.id) or (_NEVER, _NEVER))[0])


def _updated(times: Times, kind: str) -> Callable[[Any], Value]:
    return lambda item: stamp((times(kind, item.id) or (_NEVER, _NEVER))[1])


def storefronts(times: Times) -> ListShape[Storefront]:
    """ListStorefronts: filter on country_code, currency_code, channel (one it sells on)."""
    fields: dict[str, ListField[Storefront]] = {
        "id": ListField(lambda s: s.id, _text),
        "display_name": ListField(lambda s: s.name, _text),
        "country_code": ListField(lambda s: s.country, lambda text: text.upper()),
        "currency_code": ListField(lambda s: s.currency, lambda text: text.upper()),
        "create_time": ListField(_created(times, "storefront"), _time),
        "update_time": ListField(_updated(times, "storefront"), _time),
        "channel": ListField(lambda s: "", _channel, contains=lambda s: {c.value for c in s.channels}),
    }
    return ListShape(
        "storefronts",
        fields,
        ("country_code", "currency_code", "channel"),
        ("id", "display_name", "country_code", "currency_code", "create_time", "update_time"),
        "id",
        lambda s: s.id,
    )


def features() -> ListShape[Feature]:
    """ListFeatures: filter on kind."""
    fields: dict[str, ListField[Feature]] = {
        "key": ListField(lambda f: f.key, _text),
        "display_name": ListField(lambda f: f.name, _text),
        "kind": ListField(lambda f: f.kind.value, _enum(FeatureKind, "feature_kind_")),
    }
    return ListShape("features", fields, ("kind",), ("key", "display_name", "kind"), "key", lambda f: f.key)


def plans(times: Times) -> ListShape[Plan]:
    """ListPlans: filter on family, state, add_on and rank."""
    fields: dict[str, ListField[Plan]] = {
        "id": ListField(lambda p: p.id, _text),
        "display_name": ListField(lambda p: p.name, _text),
        "family": ListField(lambda p: p.family, _text),
        "state": ListField(lambda p: p.status.value, _enum(PlanStatus, "plan_state_")),
        "add_on": ListField(lambda p: p.is_add_on, _bool),
        "rank": ListField(lambda p: p.rank, _int, COMPARISONS),
        "create_time": ListField(_created(times, "plan"), _time),
        "update_time": ListField(_updated(times, "plan"), _time),
    }
    return ListShape(
        "plans",
        fields,
        ("family", "state", "add_on", "rank"),
        ("id", "display_name", "family", "rank", "create_time", "update_time"),
        "id",
        lambda p: p.id,
    )


def prices(now: datetime) -> ListShape[Price]:
    """ListPrices: filter on plan_id, storefront_id, channel, existing_subscribers, scheduled, effective_time."""
    fields: dict[str, ListField[Price]] = {
        "id": ListField(lambda p: p.id, _text),
        "plan_id": ListField(lambda p: p.key.plan_id, _text),
        "storefront_id": ListField(lambda p: p.key.storefront_id, _text),
        "channel": ListField(lambda p: p.key.channel.value if p.key.channel else "", _channel),
        "existing_subscribers": ListField(
            lambda p: p.existing_subscribers.value, _enum(ExistingSubscribers, "existing_subscribers_")
        ),
        "scheduled": ListField(lambda p: p.effective_from > now, _bool),
        "effective_time": ListField(lambda p: stamp(p.effective_from), _time, COMPARISONS),
        "schedule_time": ListField(lambda p: stamp(p.scheduled_at), _time),
    }
    return ListShape(
        "prices",
        fields,
        ("plan_id", "storefront_id", "channel", "existing_subscribers", "scheduled", "effective_time"),
        ("id", "plan_id", "storefront_id", "effective_time", "schedule_time"),
        "id",
        lambda p: p.id,
    )


def channel_mappings() -> ListShape[ChannelMapping]:
    """ListChannelMappings: filter on channel, plan_id and storefront_id."""
    fields: dict[str, ListField[ChannelMapping]] = {
        "id": ListField(lambda m: m.id, _text),
        "channel": ListField(lambda m: m.channel.value, _channel),
        "external_product_id": ListField(lambda m: m.external_product_id, _text),
        "plan_id": ListField(lambda m: m.plan_id, _text),
        "storefront_id": ListField(lambda m: m.storefront_id or "", _text),
    }
    return ListShape(
        "channel_mappings",
        fields,
        ("channel", "plan_id", "storefront_id"),
        ("id", "channel", "external_product_id", "plan_id", "storefront_id"),
        "id",
        lambda m: m.id,
    )
