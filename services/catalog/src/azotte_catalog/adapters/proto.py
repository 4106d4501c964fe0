"""Every translation between catalog domain objects and protobuf: API messages, field names, events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from google.protobuf.message import Message

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.catalog.v1 import events_pb2
from azotte.common.v1 import channel_pb2
from azotte_catalog.domain import events
from azotte_catalog.domain.branding import Branding
from azotte_catalog.domain.catalog import Times
from azotte_catalog.domain.currency import lookup_currency
from azotte_catalog.domain.diff import Change, DiffEntry
from azotte_catalog.domain.document import DocumentFormat
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
from azotte_catalog.domain.texts import LocalizedText, ResolvedText, Texts, canonical_tag, texts_of
from azotte_catalog.domain.validation import Violations, join, parse_decimal
from azotte_platform import convert
from azotte_platform.enums import Channel
from azotte_platform.errors import AzotteError, FieldViolation, InvalidArgument
from azotte_platform.events.envelope import Event
from azotte_platform.grpc.status import status_code

E = TypeVar("E", bound=Enum)

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


def _api_names(names: Iterable[str], renames: Mapping[str, str]) -> list[str]:
    return [renames.get(name, name) for name in names]


def _required(v: Violations, domain: type[E], prefix: str, number: int, pb_enum: Any, path: str) -> E:
    """A required enum field; unset or unknown adds a violation (and returns a placeholder)."""
    try:
        return convert.enum_from_pb(domain, prefix, number, pb_enum, path)
    except InvalidArgument as error:
        v.items.extend(error.violations)
        return next(iter(domain))


def _optional(v: Violations, domain: type[E], prefix: str, number: int, pb_enum: Any, path: str) -> E | None:
    """An optional enum field (None when unset); unknown adds a violation."""
    try:
        return convert.optional_enum(domain, prefix, number, pb_enum, path)
    except InvalidArgument as error:
        v.items.extend(error.violations)
        return None


def channel_to_pb(channel: Channel | None) -> Any:
    """A channel as azotte.common.v1.Channel (unspecified for None)."""
    return convert.enum_to_pb("CHANNEL", channel, channel_pb2.Channel)


def optional_channel(number: int) -> Channel | None:
    """The `channel` field of a request; None when unspecified."""
    return convert.optional_enum(Channel, "CHANNEL", number, channel_pb2.Channel, "channel")


def required_channel(number: int) -> Channel:
    """The `channel` field of a request, which must be set."""
    return convert.enum_from_pb(Channel, "CHANNEL", number, channel_pb2.Channel, "channel")


def channel_or_web(number: int) -> Channel:
    """The `channel` field of a request; unspecified means web."""
    return Channel.WEB if number == 0 else required_channel(number)


def existing_subscribers_from_pb(number: int) -> ExistingSubscribers:
    """Unspecified means grandfathered, the default of the catalog document."""
    member = convert.optional_enum(
        ExistingSubscribers, "EXISTING_SUBSCRIBERS", number, pb.ExistingSubscribers, "existing_subscribers"
    )
    return member or ExistingSubscribers.GRANDFATHERED


def document_format_from_pb(number: int) -> DocumentFormat:
    """Unspecified means YAML."""
    return DocumentFormat.JSON if number == pb.DOCUMENT_FORMAT_JSON else DocumentFormat.YAML


def text_preference(message: pb.TextPreference, path: str = "language") -> tuple[str, ...]:
    """The canonical tags of a read's preferred locales, or InvalidArgument naming the unknown ones."""
    v = Violations()
    tags = []
    for i, tag in enumerate(message.locales):
        canonical = canonical_tag(tag)
        if canonical is None:
            v.add(join(join(path, "locales"), i), f"{tag!r} is not a known BCP 47 locale (e.g. 'de-DE')")
        else:
            tags.append(canonical)
    v.raise_if_any("language")
    return tuple(tags)


def texts_to_pb(texts: Texts) -> list[pb.LocalizedText]:
    """A resource's texts, one message per locale."""
    return [localized_to_pb(ResolvedText(tag, text)) for tag, text in texts]


def localized_to_pb(resolved: ResolvedText) -> pb.LocalizedText:
    """One locale's text."""
    text = resolved.text
    return pb.LocalizedText(
        locale=resolved.locale,
        display_name=text.name,
        description=text.description,
        bullets=text.bullets,
        disclosure=text.disclosure,
    )


def texts_from_pb(v: Violations, messages: Sequence[pb.LocalizedText], path: str) -> Texts:
    """A resource's texts from a request; a locale given twice adds a violation."""
    by_locale: dict[str, LocalizedText] = {}
    for i, m in enumerate(messages):
        if m.locale in by_locale:
            v.add(join(join(path, i), "locale"), f"duplicate {m.locale!r}")
        by_locale[m.locale] = LocalizedText(m.display_name, m.description, tuple(m.bullets), m.disclosure)
    return texts_of(by_locale)


def branding_to_pb(branding: Branding) -> pb.StorefrontBranding:
    """A storefront's branding message."""
    return pb.StorefrontBranding(**branding.as_dict())


def branding_from_pb(message: pb.StorefrontBranding) -> Branding:
    """A storefront's branding from a request."""
    return Branding(**{f.name: value for f, value in message.ListFields()})


def warning_to_pb(warning: FieldViolation) -> pb.CatalogWarning:
    """A warning of an apply."""
    return pb.CatalogWarning(field=warning.field, description=warning.description)


def _times(message: Any, times: Times | None) -> None:
    if times is not None:
        message.create_time.CopyFrom(convert.timestamp(times[0]))
        message.update_time.CopyFrom(convert.timestamp(times[1]))


def storefront_to_pb(sf: Storefront, times: Times | None = None) -> pb.Storefront:
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
        channels=[channel_to_pb(c) for c in Channel if c in sf.channels],
        tax_policy=pb.TaxPolicy(mode=convert.enum_to_pb("TAX_MODE", sf.tax.mode, pb.TaxMode), rate=str(sf.tax.rate)),
        payment_routing=pb.PaymentRouting(
            rules=rules,
            fallback_psps=sf.routing.fallback,
            store_commissions=[
                pb.StoreCommission(channel=channel_to_pb(channel), rate=str(rate))
                for channel, rate in sf.routing.store_commission
            ],
        ),
        price_increase_notice_days=sf.price_increase_notice_days,
        price_increase_consent_required=sf.price_increase_consent_required,
        branding=branding_to_pb(sf.branding),
        disclosure_required=sf.disclosure_required,
    )
    _times(message, times)
    return message


def storefront_from_pb(message: pb.Storefront, path: str = "storefront") -> Storefront:
    """A domain storefront from a request message, or InvalidArgument naming the malformed fields."""
    v = Violations()
    tax_path = join(path, "tax_policy")
    mode = _required(v, TaxMode, "TAX_MODE", message.tax_policy.mode, pb.TaxMode, join(tax_path, "mode"))
    rate = parse_decimal(message.tax_policy.rate)
    if rate is None:
        v.add(join(tax_path, "rate"), f'must be a decimal string like "0.19", not {message.tax_policy.rate!r}')
    channels_path = join(path, "channels")
    channels = [
        _required(v, Channel, "CHANNEL", c, channel_pb2.Channel, join(channels_path, i))
        for i, c in enumerate(message.channels)
    ]
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
    commission_path = join(join(path, "payment_routing"), "store_commissions")
    commission = []
    for i, given in enumerate(message.payment_routing.store_commissions):
        channel = _required(v, Channel, "CHANNEL", given.channel, channel_pb2.Channel, join(commission_path, i))
        share = parse_decimal(given.rate)
        if share is None:
            v.add(join(join(commission_path, i), "rate"), f'must be a decimal string like "0.15", not {given.rate!r}')
        commission.append((channel, share or Decimal(0)))
    v.raise_if_any("storefront")
    return Storefront(
        id=message.id,
        name=message.display_name,
        country=message.country_code,
        currency=message.currency_code,
        tax=TaxPolicy(mode, rate or Decimal(0)),
        locales=tuple(message.locales),
        channels=frozenset(channels),
        routing=PaymentRouting(
            rules=rules, fallback=tuple(message.payment_routing.fallback_psps), store_commission=tuple(commission)
        ),
        price_increase_notice_days=message.price_increase_notice_days,
        price_increase_consent_required=message.price_increase_consent_required,
        branding=branding_from_pb(message.branding),
        disclosure_required=message.disclosure_required,
    )


def feature_to_pb(feature: Feature, localized: ResolvedText | None = None) -> pb.Feature:
    """A feature message (with its text in a reader's locale when `localized` is given)."""
    message = pb.Feature(
        key=feature.key,
        display_name=feature.name,
        kind=convert.enum_to_pb("FEATURE_KIND", feature.kind, pb.FeatureKind),
        unit=feature.unit or "",
        reset_period=convert.enum_to_pb("RESET_PERIOD", feature.reset_period, pb.ResetPeriod),
        texts=texts_to_pb(feature.texts),
    )
    if localized is not None:
        message.localized.CopyFrom(localized_to_pb(localized))
    return message


def feature_from_pb(message: pb.Feature, path: str = "feature") -> Feature:
    """A domain feature from a request message."""
    v = Violations()
    kind = _required(v, FeatureKind, "FEATURE_KIND", message.kind, pb.FeatureKind, join(path, "kind"))
    reset = _optional(v, ResetPeriod, "RESET_PERIOD", message.reset_period, pb.ResetPeriod, join(path, "reset_period"))
    texts = texts_from_pb(v, message.texts, join(path, "texts"))
    v.raise_if_any("feature")
    return Feature(
        key=message.key,
        name=message.display_name,
        kind=kind,
        unit=message.unit or None,
        reset_period=reset,
        texts=texts,
    )


def plan_to_pb(plan: Plan, times: Times | None = None, localized: ResolvedText | None = None) -> pb.Plan:
    """A plan message (with its text in a reader's locale when `localized` is given)."""
    message = pb.Plan(
        id=plan.id,
        display_name=plan.name,
        family=plan.family,
        rank=plan.rank,
        billing_interval=pb.BillingInterval(
            unit=convert.enum_to_pb("INTERVAL_UNIT", plan.interval.unit, pb.IntervalUnit), count=plan.interval.count
        ),
        trial_days=plan.trial_days,
        feature_grants=[pb.FeatureGrant(feature_key=g.feature_key, limit=g.limit) for g in plan.grants],
        add_on=plan.is_add_on,
        add_on_plan_ids=plan.add_on_ids,
        state=convert.enum_to_pb("PLAN_STATE", plan.status, pb.PlanState),
        texts=texts_to_pb(plan.texts),
    )
    if localized is not None:
        message.localized.CopyFrom(localized_to_pb(localized))
    _times(message, times)
    return message


def plan_from_pb(message: pb.Plan, path: str = "plan") -> Plan:
    """A domain plan from a request message; an unspecified state means draft."""
    v = Violations()
    interval, interval_path = message.billing_interval, join(path, "billing_interval")
    unit = _required(v, IntervalUnit, "INTERVAL_UNIT", interval.unit, pb.IntervalUnit, join(interval_path, "unit"))
    status = _optional(v, PlanStatus, "PLAN_STATE", message.state, pb.PlanState, join(path, "state"))
    texts = texts_from_pb(v, message.texts, join(path, "texts"))
    v.raise_if_any("plan")
    return Plan(
        id=message.id,
        name=message.display_name,
        family=message.family,
        rank=message.rank,
        interval=BillingInterval(unit, interval.count or 1),
        trial_days=message.trial_days,
        grants=tuple(
            FeatureGrant(g.feature_key, g.limit if g.HasField("limit") else None) for g in message.feature_grants
        ),
        is_add_on=message.add_on,
        add_on_ids=tuple(message.add_on_plan_ids),
        status=status or PlanStatus.DRAFT,
        texts=texts,
    )


def price_to_pb(price: Price) -> pb.Price:
    """A price version message."""
    return pb.Price(
        id=price.id,
        plan_id=price.key.plan_id,
        storefront_id=price.key.storefront_id,
        channel=channel_to_pb(price.key.channel),
        amount=convert.money(price.amount_minor, price.currency),
        effective_time=convert.timestamp(price.effective_from),
        existing_subscribers=convert.enum_to_pb(
            "EXISTING_SUBSCRIBERS", price.existing_subscribers, pb.ExistingSubscribers
        ),
        schedule_time=convert.timestamp(price.scheduled_at),
    )


def resolved_to_pb(resolved: ResolvedPrice) -> pb.ResolvePriceResponse:
    """The answer of ResolvePrice."""
    answer = pb.ResolvePriceResponse(
        price_id=resolved.price_id,
        amount=convert.money(resolved.amount_minor, resolved.currency),
        tax_policy=pb.TaxPolicy(
            mode=convert.enum_to_pb("TAX_MODE", resolved.tax_mode, pb.TaxMode), rate=str(resolved.tax_rate)
        ),
        effective_time=convert.timestamp(resolved.effective_from),
        channel_override=resolved.channel_override,
        price_increase_notice_days=resolved.price_increase_notice_days,
        price_increase_consent_required=resolved.price_increase_consent_required,
    )
    if resolved.next_change is not None:
        answer.next_change_time.CopyFrom(convert.timestamp(resolved.next_change))
    return answer


def price_error_to_pb(error: AzotteError) -> pb.ResolvePriceResult:
    """A ResolvePrices result for a query that has no price: the error ResolvePrice would have raised."""
    return pb.ResolvePriceResult(
        error=pb.ResolvePriceError(code=status_code(error).name, reason=error.reason, message=error.message)
    )


def mapping_to_pb(mapping: ChannelMapping) -> pb.ChannelMapping:
    """A channel mapping message."""
    return pb.ChannelMapping(
        id=mapping.id,
        channel=channel_to_pb(mapping.channel),
        external_product_id=mapping.external_product_id,
        plan_id=mapping.plan_id,
        storefront_id=mapping.storefront_id or "",
    )


def mapping_from_pb(message: pb.ChannelMapping, path: str = "channel_mapping") -> ChannelMapping:
    """A domain mapping from a request message."""
    v = Violations()
    channel = _required(v, Channel, "CHANNEL", message.channel, channel_pb2.Channel, join(path, "channel"))
    v.raise_if_any("channel mapping")
    return ChannelMapping(
        channel=channel,
        external_product_id=message.external_product_id,
        plan_id=message.plan_id,
        storefront_id=message.storefront_id or None,
    )


def change_to_pb(entry: DiffEntry) -> pb.CatalogChange:
    """One line of an apply's diff."""
    return pb.CatalogChange(
        resource_type=str(entry.kind),
        resource_id=entry.id,
        change_type=convert.enum_to_pb("CHANGE_TYPE", entry.change, pb.ChangeType),
        changed_fields=_api_names(entry.fields, DOCUMENT_FIELDS),
    )


def outbox_event(tenant_id: str, event: events.CatalogEvent) -> Event:
    """The event published for a domain event."""
    return Event(tenant_id, event.type, _event_payload(event))


def _event_payload(event: events.CatalogEvent) -> Message:
    match event:
        case events.StorefrontCreated():
            return events_pb2.StorefrontCreated(storefront=storefront_to_pb(event.storefront, event.times))
        case events.StorefrontUpdated():
            return events_pb2.StorefrontUpdated(
                storefront=storefront_to_pb(event.storefront, event.times),
                changed_fields=_api_names(event.changed_fields, STOREFRONT_FIELDS),
            )
        case events.FeatureCreated():
            return events_pb2.FeatureCreated(feature=feature_to_pb(event.feature))
        case events.FeatureUpdated():
            return events_pb2.FeatureUpdated(
                feature=feature_to_pb(event.feature),
                changed_fields=_api_names(event.changed_fields, FEATURE_FIELDS),
            )
        case events.PlanCreated():
            return events_pb2.PlanCreated(plan=plan_to_pb(event.plan, event.times))
        case events.PlanUpdated():
            return events_pb2.PlanUpdated(
                plan=plan_to_pb(event.plan, event.times),
                changed_fields=_api_names(event.changed_fields, PLAN_FIELDS),
            )
        case events.PlanRetired():
            return events_pb2.PlanRetired(plan_id=event.plan_id, retire_time=convert.timestamp(event.retired_at))
        case events.PriceScheduled():
            return events_pb2.PriceScheduled(price=price_to_pb(event.price))
        case events.PriceCancelled():
            return events_pb2.PriceCancelled(
                price=price_to_pb(event.price), cancel_time=convert.timestamp(event.cancelled_at)
            )
        case events.PriceActivated():
            return events_pb2.PriceActivated(price=price_to_pb(event.price), previous_price_id=event.previous_price_id)
        case events.ChannelMappingCreated():
            return events_pb2.ChannelMappingCreated(channel_mapping=mapping_to_pb(event.mapping))
        case events.ChannelMappingUpdated():
            return events_pb2.ChannelMappingUpdated(
                channel_mapping=mapping_to_pb(event.mapping), changed_fields=list(event.changed_fields)
            )
        case events.CatalogApplied():
            return events_pb2.CatalogApplied(
                changes=[change_to_pb(e) for e in event.entries],
                created_count=event.count(Change.CREATED),
                updated_count=event.count(Change.UPDATED),
                removed_from_document_count=event.count(Change.REMOVED_FROM_DOCUMENT),
                apply_time=convert.timestamp(event.applied_at),
            )
