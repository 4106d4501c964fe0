"""Translation between catalog domain objects and their protobuf messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.common.v1 import channel_pb2, money_pb2
from azotte_catalog.domain.channel import Channel
from azotte_catalog.domain.currency import lookup_currency
from azotte_catalog.domain.diff import DiffEntry
from azotte_catalog.domain.feature import Feature, FeatureKind, ResetPeriod
from azotte_catalog.domain.mapping import ChannelMapping
from azotte_catalog.domain.plan import BillingInterval, FeatureGrant, IntervalUnit, Plan, PlanStatus
from azotte_catalog.domain.price import ExistingSubscribers, Price, ResolvedPrice
from azotte_catalog.domain.storefront import (
    PaymentRouting,
    RoutingCondition,
    RoutingRule,
    Storefront,
    TaxMode,
    TaxPolicy,
)
from azotte_catalog.domain.validation import Violations, join, parse_decimal
from azotte_platform.errors import FieldViolation, InvalidArgument

from .repository import Times

_E = TypeVar("_E", bound=StrEnum)

# Domain field names that the API spells differently, per resource (applied to every path segment).
STOREFRONT_FIELDS = {
    "name": "display_name",
    "country": "country_code",
    "currency": "currency_code",
    "tax": "tax_policy",
    "when": "condition",
    "fallback": "fallback_psps",
    "routing": "payment_routing",
}
FEATURE_FIELDS = {"name": "display_name"}
PLAN_FIELDS = {
    "name": "display_name",
    "interval": "billing_interval",
    "features": "feature_grants",
    "grants": "feature_grants",
    "key": "feature_key",
    "add_ons": "add_on_plan_ids",
    "add_on_ids": "add_on_plan_ids",
    "is_add_on": "add_on",
    "status": "state",
}
PRICE_FIELDS = {"effective_from": "effective_time", "plan": "plan_id", "storefront": "storefront_id"}
MAPPING_FIELDS = {"plan": "plan_id", "storefront": "storefront_id"}
# Domain field names as a catalog document spells them.
DOCUMENT_FIELDS = {
    "routing": "payment_routing",
    "grants": "features",
    "is_add_on": "add_on",
    "add_on_ids": "add_ons",
    "plan_id": "plan",
    "storefront_id": "storefront",
}


def api_path(path: str, renames: Mapping[str, str]) -> str:
    """A domain field path in the API's field names: "plan.features[0].key" → "plan.feature_grants[0].feature_key"."""
    out = []
    for segment in path.split("."):
        name, bracket, rest = segment.partition("[")
        out.append(renames.get(name, name) + bracket + rest)
    return ".".join(out)


def api_error(error: InvalidArgument, renames: Mapping[str, str]) -> InvalidArgument:
    """The same error with its field paths in the API's names."""
    violations = [FieldViolation(api_path(v.field, renames), v.description) for v in error.violations]
    if not violations:
        return error
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return InvalidArgument(f"{first.field}: {first.description}{more}", violations, reason=error.reason)


def timestamp(value: datetime) -> Timestamp:
    """A protobuf timestamp of an aware datetime."""
    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def from_timestamp(stamp: Timestamp) -> datetime:
    """An aware UTC datetime of a protobuf timestamp."""
    return stamp.ToDatetime(tzinfo=UTC)


def _enum_to_proto(value: StrEnum, wrapper: Any, prefix: str) -> Any:
    return wrapper.Value(f"{prefix}_{value.name}")


def _optional_enum(value: StrEnum | None, wrapper: Any, prefix: str) -> Any:
    return 0 if value is None else _enum_to_proto(value, wrapper, prefix)


def _enum_from_proto(number: int, wrapper: Any, prefix: str, kind: type[_E]) -> _E | None:
    """The domain member of a proto enum number; None for the zero value or an unknown number."""
    if number == 0:
        return None
    try:
        name: str = wrapper.Name(number)
    except ValueError:
        return None
    return kind[name.removeprefix(f"{prefix}_")]


def _required_enum(v: Violations, path: str, number: int, wrapper: Any, prefix: str, kind: type[_E]) -> _E:
    member = _enum_from_proto(number, wrapper, prefix, kind)
    if member is None:
        choices = ", ".join(e.name for e in wrapper.DESCRIPTOR.values if e.number != 0)
        v.add(path, f"required: one of {choices}")
        return next(iter(kind))
    return member


def channel_to_proto(channel: Channel | None) -> Any:
    """A domain channel as azotte.common.v1.Channel (unspecified for None)."""
    return 0 if channel is None else _enum_to_proto(channel, channel_pb2.Channel, "CHANNEL")


def channel_from_proto(number: int) -> Channel | None:
    """A proto channel as a domain channel (None when unspecified)."""
    return _enum_from_proto(number, channel_pb2.Channel, "CHANNEL", Channel)


def required_channel(v: Violations, path: str, number: int) -> Channel:
    """A channel that must be set."""
    return _required_enum(v, path, number, channel_pb2.Channel, "CHANNEL", Channel)


def existing_subscribers_from_proto(number: int) -> ExistingSubscribers:
    """Unspecified means grandfathered, the default of the catalog document."""
    member = _enum_from_proto(number, pb.ExistingSubscribers, "EXISTING_SUBSCRIBERS", ExistingSubscribers)
    return member or ExistingSubscribers.GRANDFATHERED


def _times(message: Any, times: Times | None) -> None:
    if times is not None:
        message.create_time.CopyFrom(timestamp(times[0]))
        message.update_time.CopyFrom(timestamp(times[1]))


def storefront_to_proto(sf: Storefront, times: Times | None = None) -> pb.Storefront:
    """A storefront message."""
    rules = [
        pb.RoutingRule(
            psps=rule.psps,
            condition=pb.RoutingCondition(
                currencies=rule.condition.currencies,
                countries=rule.condition.countries,
                payment_method_types=rule.condition.payment_method_types,
                min_amount_minor=rule.condition.min_amount_minor,
                max_amount_minor=rule.condition.max_amount_minor,
            ),
        )
        for rule in sf.routing.rules
    ]
    currency = lookup_currency(sf.currency)
    message = pb.Storefront(
        id=sf.id,
        display_name=sf.name,
        country_code=sf.country,
        currency_code=sf.currency,
        currency_exponent=currency.exponent if currency else 0,
        locales=sf.locales,
        channels=[channel_to_proto(c) for c in Channel if c in sf.channels],
        tax_policy=pb.TaxPolicy(mode=_enum_to_proto(sf.tax.mode, pb.TaxMode, "TAX_MODE"), rate=str(sf.tax.rate)),
        payment_routing=pb.PaymentRouting(rules=rules, fallback_psps=sf.routing.fallback),
    )
    _times(message, times)
    return message


def storefront_from_proto(message: pb.Storefront, path: str = "storefront") -> Storefront:
    """A domain storefront from a request message, or InvalidArgument naming the malformed fields."""
    v = Violations()
    tax_path = join(path, "tax_policy")
    mode = _required_enum(v, join(tax_path, "mode"), message.tax_policy.mode, pb.TaxMode, "TAX_MODE", TaxMode)
    rate = parse_decimal(message.tax_policy.rate)
    if rate is None:
        v.add(join(tax_path, "rate"), f'must be a decimal string like "0.19", not {message.tax_policy.rate!r}')
    channels = [required_channel(v, join(join(path, "channels"), i), c) for i, c in enumerate(message.channels)]
    rules = tuple(
        RoutingRule(
            psps=tuple(rule.psps),
            condition=RoutingCondition(
                currencies=tuple(rule.condition.currencies),
                countries=tuple(rule.condition.countries),
                payment_method_types=tuple(rule.condition.payment_method_types),
                min_amount_minor=(
                    rule.condition.min_amount_minor if rule.condition.HasField("min_amount_minor") else None
                ),
                max_amount_minor=(
                    rule.condition.max_amount_minor if rule.condition.HasField("max_amount_minor") else None
                ),
            ),
        )
        for rule in message.payment_routing.rules
    )
    v.raise_if_any("storefront")
    return Storefront(
        id=message.id,
        name=message.display_name,
        country=message.country_code,
        currency=message.currency_code,
        tax=TaxPolicy(mode, rate or Decimal(0)),
        locales=tuple(message.locales),
        channels=frozenset(channels),
        routing=PaymentRouting(rules=rules, fallback=tuple(message.payment_routing.fallback_psps)),
    )


def feature_to_proto(feature: Feature) -> pb.Feature:
    """A feature message."""
    return pb.Feature(
        key=feature.key,
        display_name=feature.name,
        kind=_enum_to_proto(feature.kind, pb.FeatureKind, "FEATURE_KIND"),
        unit=feature.unit or "",
        reset_period=_optional_enum(feature.reset_period, pb.ResetPeriod, "RESET_PERIOD"),
    )


def feature_from_proto(message: pb.Feature, path: str = "feature") -> Feature:
    """A domain feature from a request message."""
    v = Violations()
    kind = _required_enum(v, join(path, "kind"), message.kind, pb.FeatureKind, "FEATURE_KIND", FeatureKind)
    v.raise_if_any("feature")
    return Feature(
        key=message.key,
        name=message.display_name,
        kind=kind,
        unit=message.unit or None,
        reset_period=_enum_from_proto(message.reset_period, pb.ResetPeriod, "RESET_PERIOD", ResetPeriod),
    )


def plan_to_proto(plan: Plan, times: Times | None = None) -> pb.Plan:
    """A plan message."""
    message = pb.Plan(
        id=plan.id,
        display_name=plan.name,
        family=plan.family,
        rank=plan.rank,
        billing_interval=pb.BillingInterval(
            unit=_enum_to_proto(plan.interval.unit, pb.IntervalUnit, "INTERVAL_UNIT"), count=plan.interval.count
        ),
        trial_days=plan.trial_days,
        feature_grants=[pb.FeatureGrant(feature_key=g.feature_key, limit=g.limit) for g in plan.grants],
        add_on=plan.is_add_on,
        add_on_plan_ids=plan.add_on_ids,
        state=_enum_to_proto(plan.status, pb.PlanState, "PLAN_STATE"),
    )
    _times(message, times)
    return message


def plan_from_proto(message: pb.Plan, path: str = "plan") -> Plan:
    """A domain plan from a request message; an unspecified state means draft."""
    v = Violations()
    interval_path = join(path, "billing_interval")
    unit = _required_enum(
        v, join(interval_path, "unit"), message.billing_interval.unit, pb.IntervalUnit, "INTERVAL_UNIT", IntervalUnit
    )
    v.raise_if_any("plan")
    return Plan(
        id=message.id,
        name=message.display_name,
        family=message.family,
        rank=message.rank,
        interval=BillingInterval(unit, message.billing_interval.count or 1),
        trial_days=message.trial_days,
        grants=tuple(
            FeatureGrant(g.feature_key, g.limit if g.HasField("limit") else None) for g in message.feature_grants
        ),
        is_add_on=message.add_on,
        add_on_ids=tuple(message.add_on_plan_ids),
        status=_enum_from_proto(message.state, pb.PlanState, "PLAN_STATE", PlanStatus) or PlanStatus.DRAFT,
    )


def price_to_proto(price: Price) -> pb.Price:
    """A price version message."""
    return pb.Price(
        id=price.id,
        plan_id=price.key.plan_id,
        storefront_id=price.key.storefront_id,
        channel=channel_to_proto(price.key.channel),
        amount=money_pb2.Money(currency_code=price.currency, amount_minor=price.amount_minor),
        effective_time=timestamp(price.effective_from),
        existing_subscribers=_enum_to_proto(price.existing_subscribers, pb.ExistingSubscribers, "EXISTING_SUBSCRIBERS"),
        schedule_time=timestamp(price.scheduled_at),
    )


def resolved_to_proto(resolved: ResolvedPrice) -> pb.ResolvePriceResponse:
    """The answer of ResolvePrice."""
    return pb.ResolvePriceResponse(
        price_id=resolved.price_id,
        amount=money_pb2.Money(currency_code=resolved.currency, amount_minor=resolved.amount_minor),
        tax_policy=pb.TaxPolicy(
            mode=_enum_to_proto(resolved.tax_mode, pb.TaxMode, "TAX_MODE"), rate=str(resolved.tax_rate)
        ),
        effective_time=timestamp(resolved.effective_from),
        channel_override=resolved.channel_override,
    )


def mapping_to_proto(mapping: ChannelMapping) -> pb.ChannelMapping:
    """A channel mapping message."""
    return pb.ChannelMapping(
        id=mapping.id,
        channel=channel_to_proto(mapping.channel),
        external_product_id=mapping.external_product_id,
        plan_id=mapping.plan_id,
        storefront_id=mapping.storefront_id or "",
    )


def mapping_from_proto(message: pb.ChannelMapping, path: str = "channel_mapping") -> ChannelMapping:
    """A domain mapping from a request message."""
    v = Violations()
    channel = required_channel(v, join(path, "channel"), message.channel)
    v.raise_if_any("channel mapping")
    return ChannelMapping(
        channel=channel,
        external_product_id=message.external_product_id,
        plan_id=message.plan_id,
        storefront_id=message.storefront_id or None,
    )


def change_to_proto(entry: DiffEntry) -> pb.CatalogChange:
    """One line of an apply's diff."""
    return pb.CatalogChange(
        resource_type=str(entry.kind),
        resource_id=entry.id,
        change_type=_enum_to_proto(entry.change, pb.ChangeType, "CHANGE_TYPE"),
        changed_fields=[DOCUMENT_FIELDS.get(name, name) for name in entry.fields],
    )
