"""Every proto <-> domain translation of promotions: request values, responses, and event payloads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from google.protobuf.message import Message

from azotte.common.v1 import channel_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import events_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.convert import (
    enum_from_pb,
    enum_to_pb,
    money,
    optional_from_timestamp,
    optional_timestamp,
    timestamp,
)
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import Event
from azotte_promotions.domain.codes import CodeBatch, PromotionCode
from azotte_promotions.domain.eligibility import Checkout, CustomerFacts, Usage, Validation
from azotte_promotions.domain.events import (
    PromotionBudgetExhausted,
    PromotionCreated,
    PromotionExhausted,
    PromotionRedeemed,
    PromotionStateChanged,
    PromotionUpdated,
)
from azotte_promotions.domain.promotion import (
    Definition,
    Discount,
    DiscountDuration,
    DiscountKind,
    Eligibility,
    Limits,
    Promotion,
    PromotionState,
    Targets,
)
from azotte_promotions.domain.redemption import Redemption
from azotte_promotions.service_layer.promotions import PromotionView

# ---------------------------------------------------------------------------------------- values


def channel_to_pb(channel: Channel | None) -> Any:
    return enum_to_pb("CHANNEL", channel, channel_pb2.Channel)


def channel_from_pb(value: int, field: str) -> Channel:
    return enum_from_pb(Channel, "CHANNEL", value, channel_pb2.Channel, field)


def state_to_pb(state: PromotionState) -> Any:
    return enum_to_pb("PROMOTION_STATE", state, pb.PromotionState)


def duration_to_pb(duration: DiscountDuration) -> Any:
    return enum_to_pb("DISCOUNT_DURATION", duration, pb.DiscountDuration)


def optional_count(message: Message, field: str, path: str) -> int | None:
    """An optional count, None when unset; below 1 is INVALID_ARGUMENT naming `path`."""
    if not message.HasField(field):
        return None
    value = int(getattr(message, field))
    if value < 1:
        raise InvalidArgument.field(path, "must be at least 1")
    return value


def amounts_from_pb(amounts: Sequence[Money], path: str) -> dict[str, int]:
    """Money per currency; a malformed or repeated currency is INVALID_ARGUMENT naming the entry."""
    found: dict[str, int] = {}
    for index, amount in enumerate(amounts):
        code = amount.currency_code
        if len(code) != 3 or not code.isalpha() or not code.isupper():
            raise InvalidArgument.field(f"{path}[{index}].currency_code", "must be an ISO 4217 code, e.g. USD")
        if code in found:
            raise InvalidArgument.field(f"{path}[{index}].currency_code", f"{code} is given twice")
        if amount.amount_minor < 0:
            raise InvalidArgument.field(f"{path}[{index}].amount_minor", "must not be negative")
        found[code] = amount.amount_minor
    return found


def _amounts_to_pb(amounts: dict[str, int]) -> list[Money]:
    return [money(amount, currency) for currency, amount in sorted(amounts.items())]


# ---------------------------------------------------------------------------------------- definitions

_PARTS = ("display_name", "description", "discount", "targets", "start_time", "end_time", "limits", "eligibility")
_PARTS_ALL = (*_PARTS, "stackable")
_NESTED = ("targets", "limits", "eligibility")
_DOMAIN = {"start_time": "start_at", "end_time": "end_at"}


def definition_from_pb(message: pb.Promotion) -> Definition:
    """A whole definition (CreatePromotion); field violations name `promotion.<field>`."""
    return Definition(
        display_name=message.display_name,
        description=message.description,
        discount=discount_from_pb(message.discount),
        targets=targets_from_pb(message.targets),
        start_at=optional_from_timestamp(message, "start_time"),
        end_at=optional_from_timestamp(message, "end_time"),
        limits=limits_from_pb(message.limits),
        eligibility=eligibility_from_pb(message.eligibility),
        stackable=message.stackable,
    )


def updated_definition(message: pb.Promotion, paths: Sequence[str], current: Definition) -> Definition:
    """`current` with the parts `paths` name taken from `message` (e.g. `limits` or `limits.max_redemptions`)."""
    if not paths:
        raise InvalidArgument.field("update_mask", "is required: name the fields to update")
    changed = current
    for path in paths:
        top, _, sub = path.partition(".")
        if top not in _PARTS_ALL or (sub and top not in _NESTED):
            raise InvalidArgument.field("update_mask", f"cannot update {path!r}; updatable: {', '.join(_PARTS_ALL)}")
        new = _part(message, top)
        name = _DOMAIN.get(top, top)
        if sub:
            part = getattr(changed, name)
            if sub not in part.__dataclass_fields__:
                raise InvalidArgument.field("update_mask", f"{top} has no field {sub!r}")
            new = replace(part, **{sub: getattr(new, sub)})
        changed = replace(changed, **{name: new})
    return changed


def _part(message: pb.Promotion, top: str) -> Any:
    if top in ("start_time", "end_time"):
        return optional_from_timestamp(message, top)
    if top == "discount":
        return discount_from_pb(message.discount)
    if top == "targets":
        return targets_from_pb(message.targets)
    if top == "limits":
        return limits_from_pb(message.limits)
    if top == "eligibility":
        return eligibility_from_pb(message.eligibility)
    return getattr(message, top)


def discount_from_pb(message: pb.Discount) -> Discount:
    kind = enum_from_pb(DiscountKind, "DISCOUNT_KIND", message.kind, pb.DiscountKind, "discount.kind")
    duration = DiscountDuration.ONCE
    if message.duration:
        duration = enum_from_pb(
            DiscountDuration, "DISCOUNT_DURATION", message.duration, pb.DiscountDuration, "discount.duration"
        )
    if message.duration_periods < 0:
        raise InvalidArgument.field("discount.duration_periods", "must not be negative")
    return Discount(
        kind,
        message.percent_basis_points,
        amounts_from_pb(message.amounts, "discount.amounts"),
        message.trial_days,
        duration,
        message.duration_periods,
    )


def targets_from_pb(message: pb.Targets) -> Targets:
    return Targets(
        frozenset(message.plan_ids),
        frozenset(message.product_lines),
        frozenset(message.storefront_ids),
        frozenset(channel_from_pb(c, f"targets.channels[{i}]") for i, c in enumerate(message.channels)),
    )


def limits_from_pb(message: pb.Limits) -> Limits:
    return Limits(
        optional_count(message, "max_redemptions", "limits.max_redemptions"),
        optional_count(message, "max_per_customer", "limits.max_per_customer"),
        amounts_from_pb(message.budgets, "limits.budgets"),
    )


def eligibility_from_pb(message: pb.Eligibility) -> Eligibility:
    countries = []
    for index, country in enumerate(message.country_codes):
        if len(country) != 2 or not country.isalpha():
            raise InvalidArgument.field(f"eligibility.country_codes[{index}]", "must be an ISO 3166-1 alpha-2 code")
        countries.append(country.upper())
    return Eligibility(
        message.new_customers_only,
        amounts_from_pb(message.minimum_amounts, "eligibility.minimum_amounts"),
        frozenset(countries),
        frozenset(message.required_plan_ids),
        frozenset(message.excluded_plan_ids),
        frozenset(message.segment_ids),
    )


def checkout_from_pb(request: Message, field: str = "checkout") -> Checkout:
    """The checkout of a validate or reserve request; `amount` is required."""
    if not request.HasField(field):
        raise InvalidArgument.field(field, "is required")
    message: pb.Checkout = getattr(request, field)
    if not message.HasField("amount"):
        raise InvalidArgument.field(f"{field}.amount", "is required")
    channel = channel_from_pb(message.channel, f"{field}.channel") if message.channel else None
    return Checkout(
        amount_minor=message.amount.amount_minor,
        currency_code=message.amount.currency_code,
        customer_id=message.customer_id,
        plan_id=message.plan_id,
        product_line=message.product_line,
        storefront_id=message.storefront_id,
        country_code=message.country_code.upper(),
        channel=channel,
        customer=CustomerFacts(
            message.customer.has_paid_subscription,
            frozenset(message.customer.held_plan_ids),
            frozenset(message.customer.segment_ids),
        ),
    )


# ---------------------------------------------------------------------------------------- responses


def promotion_to_pb(view: PromotionView) -> pb.Promotion:
    promotion, usage, d = view.promotion, view.usage, view.promotion.definition
    discount = d.discount
    limits = pb.Limits(budgets=_amounts_to_pb(d.limits.budgets))
    if d.limits.max_redemptions is not None:
        limits.max_redemptions = d.limits.max_redemptions
    if d.limits.max_per_customer is not None:
        limits.max_per_customer = d.limits.max_per_customer
    e = d.eligibility
    return pb.Promotion(
        id=promotion.id,
        display_name=d.display_name,
        description=d.description,
        state=state_to_pb(promotion.state),
        version=promotion.version,
        discount=pb.Discount(
            kind=enum_to_pb("DISCOUNT_KIND", discount.kind, pb.DiscountKind),
            percent_basis_points=discount.percent_basis_points,
            amounts=_amounts_to_pb(discount.amounts),
            trial_days=discount.trial_days,
            duration=duration_to_pb(discount.duration),
            duration_periods=discount.duration_periods,
        ),
        targets=pb.Targets(
            plan_ids=sorted(d.targets.plan_ids),
            product_lines=sorted(d.targets.product_lines),
            storefront_ids=sorted(d.targets.storefront_ids),
            channels=[channel_to_pb(c) for c in sorted(d.targets.channels)],
        ),
        start_time=optional_timestamp(d.start_at),
        end_time=optional_timestamp(d.end_at),
        limits=limits,
        eligibility=pb.Eligibility(
            new_customers_only=e.new_customers_only,
            minimum_amounts=_amounts_to_pb(e.minimum_amounts),
            country_codes=sorted(e.country_codes),
            required_plan_ids=sorted(e.required_plan_ids),
            excluded_plan_ids=sorted(e.excluded_plan_ids),
            segment_ids=sorted(e.segment_ids),
        ),
        stackable=d.stackable,
        usage=pb.Usage(
            reserved_count=usage.reserved_count,
            confirmed_count=usage.confirmed_count,
            reserved_discount=_amounts_to_pb(usage.reserved_minor),
            confirmed_discount=_amounts_to_pb(usage.confirmed_minor),
        ),
        create_time=optional_timestamp(promotion.created_at),
        update_time=optional_timestamp(promotion.updated_at),
    )


def code_to_pb(code: PromotionCode) -> pb.PromotionCode:
    message = pb.PromotionCode(
        code=code.code,
        promotion_id=code.promotion_id,
        batch_id=code.batch_id,
        expire_time=optional_timestamp(code.expires_at),
        revoked=code.revoked,
        reserved_count=code.reserved_count,
        confirmed_count=code.confirmed_count,
        create_time=optional_timestamp(code.created_at),
    )
    if code.max_redemptions is not None:
        message.max_redemptions = code.max_redemptions
    if code.max_per_customer is not None:
        message.max_per_customer = code.max_per_customer
    return message


def batch_to_pb(batch: CodeBatch) -> pb.CodeBatch:
    return pb.CodeBatch(
        id=batch.id,
        promotion_id=batch.promotion_id,
        prefix=batch.prefix,
        code_count=batch.code_count,
        expire_time=optional_timestamp(batch.expires_at),
        revoked=batch.revoked,
        create_time=optional_timestamp(batch.created_at),
    )


def validation_to_pb(v: Validation) -> pb.Validation:
    return pb.Validation(
        eligible=v.eligible,
        promotion_id=v.promotion_id,
        code=v.code,
        ineligibilities=[
            pb.Ineligibility(
                reason=enum_to_pb("INELIGIBILITY_REASON", f.reason, pb.IneligibilityReason), message=f.message
            )
            for f in v.failures
        ],
        discount=money(v.discount_minor, v.currency_code),
        final_amount=money(v.final_minor, v.currency_code),
        duration=duration_to_pb(v.duration),
        duration_periods=v.duration_periods,
        extra_trial_days=v.extra_trial_days,
        stackable=v.stackable,
    )


def redemption_to_pb(r: Redemption) -> pb.Redemption:
    return pb.Redemption(
        id=r.id,
        promotion_id=r.promotion_id,
        code=r.code,
        customer_id=r.customer_id,
        plan_id=r.plan_id,
        product_line=r.product_line,
        storefront_id=r.storefront_id,
        channel=channel_to_pb(r.channel),
        gross=money(r.gross_minor, r.currency_code),
        discount=money(r.discount_minor, r.currency_code),
        duration=duration_to_pb(r.duration),
        duration_periods=r.duration_periods,
        extra_trial_days=r.extra_trial_days,
        state=enum_to_pb("REDEMPTION_STATE", r.state, pb.RedemptionState),
        expire_time=timestamp(r.expires_at),
        charge_id=r.charge_id,
        release_reason=r.release_reason,
        create_time=timestamp(r.created_at),
        confirm_time=optional_timestamp(r.confirmed_at),
        release_time=optional_timestamp(r.released_at),
    )


# ---------------------------------------------------------------------------------------- event payloads


def _snapshot(promotion: Promotion) -> pb.Promotion:
    return promotion_to_pb(PromotionView(promotion, Usage()))


def to_event(tenant_id: str, fact: object) -> Event:
    """The event published for a promotions domain event."""
    if isinstance(fact, PromotionCreated):
        payload: Message = events_pb2.PromotionChanged(promotion=_snapshot(fact.promotion))
        return Event(tenant_id, "promotion.created", payload, about=fact.promotion.id)
    if isinstance(fact, PromotionUpdated):
        payload = events_pb2.PromotionChanged(promotion=_snapshot(fact.promotion), changed_fields=list(fact.changed))
        return Event(tenant_id, "promotion.updated", payload, about=fact.promotion.id)
    if isinstance(fact, PromotionStateChanged):
        payload = events_pb2.PromotionStateChanged(
            promotion=_snapshot(fact.promotion), previous_state=state_to_pb(fact.previous)
        )
        return Event(tenant_id, "promotion.state_changed", payload, about=fact.promotion.id)
    if isinstance(fact, PromotionRedeemed):
        r = fact.redemption
        payload = events_pb2.PromotionRedeemed(
            redemption_id=r.id,
            promotion_id=r.promotion_id,
            code=r.code,
            batch_id=r.batch_id,
            customer_id=r.customer_id,
            plan_id=r.plan_id,
            product_line=r.product_line,
            storefront_id=r.storefront_id,
            channel=channel_to_pb(r.channel),
            gross=money(r.gross_minor, r.currency_code),
            discount=money(r.discount_minor, r.currency_code),
            net=money(r.net_minor, r.currency_code),
            duration=duration_to_pb(r.duration),
            duration_periods=r.duration_periods,
            extra_trial_days=r.extra_trial_days,
            charge_id=r.charge_id,
            redeem_time=optional_timestamp(r.confirmed_at),
        )
        return Event(tenant_id, "promotion.redeemed", payload, about=r.customer_id)
    if isinstance(fact, PromotionExhausted):
        payload = events_pb2.PromotionExhausted(
            promotion_id=fact.promotion_id, max_redemptions=fact.max_redemptions, confirmed_count=fact.confirmed_count
        )
        return Event(tenant_id, "promotion.exhausted", payload, about=fact.promotion_id)
    if isinstance(fact, PromotionBudgetExhausted):
        payload = events_pb2.PromotionBudgetExhausted(
            promotion_id=fact.promotion_id,
            budget=money(fact.budget_minor, fact.currency_code),
            confirmed_discount=money(fact.confirmed_minor, fact.currency_code),
        )
        return Event(tenant_id, "promotion.budget_exhausted", payload, about=fact.promotion_id)
    raise TypeError(f"not a promotions event: {fact!r}")
