"""Every proto <-> domain translation of promotions: request values, responses, and event payloads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from azotte.common.v1 import channel_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.metering.v1 import events_pb2 as metering_events
from azotte.payments.v1 import events_pb2 as payments_events
from azotte.promotions.v1 import events_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.convert import (
    enum_from_pb,
    enum_to_pb,
    money,
    optional_enum,
    optional_from_timestamp,
    optional_timestamp,
    timestamp,
)
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import Event, ReceivedEvent
from azotte_promotions.domain.campaigns import (
    LIFECYCLE_TRIGGERS,
    Campaign,
    CampaignAction,
    CampaignOffer,
    CampaignState,
    Conditions,
    Moment,
    TrialEnding,
    Trigger,
)
from azotte_promotions.domain.codes import CodeBatch, PromotionCode
from azotte_promotions.domain.eligibility import Checkout, CustomerFacts, Usage, Validation
from azotte_promotions.domain.events import (
    CampaignOfferIssued,
    ExperimentAssigned,
    PromotionBudgetExhausted,
    PromotionCreated,
    PromotionExhausted,
    PromotionRedeemed,
    PromotionStateChanged,
    PromotionUpdated,
    ReferralConverted,
    ReferralRewarded,
    TrialBlocked,
)
from azotte_promotions.domain.experiments import (
    Experiment,
    Variant,
    VariantKind,
    VariantResult,
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
    PromotionText,
    Targets,
)
from azotte_promotions.domain.redemption import Redemption
from azotte_promotions.domain.referrals import (
    REFERRED,
    REFERRER,
    Conversion,
    GivenReward,
    Referral,
    ReferralCode,
    ReferralProgram,
    Reward,
    RewardKind,
    RewardRule,
)
from azotte_promotions.domain.store_offers import StoreOffers
from azotte_promotions.domain.trials import MarkerKind, TrialEligibility
from azotte_promotions.service_layer.documents import Change, DocumentCode, DocumentPromotion
from azotte_promotions.service_layer.experiments import Payment
from azotte_promotions.service_layer.promotions import PromotionView
from azotte_promotions.service_layer.referrals import Attachment, SubscriptionMilestone
from azotte_promotions.service_layer.trials import TrialStarted

# ---------------------------------------------------------------------------------------- values


def channel_to_pb(channel: Channel | None) -> Any:
    return enum_to_pb("CHANNEL", channel, channel_pb2.Channel)


def channel_from_pb(value: int, field: str) -> Channel:
    return enum_from_pb(Channel, "CHANNEL", value, channel_pb2.Channel, field)


def state_to_pb(state: PromotionState) -> Any:
    return enum_to_pb("PROMOTION_STATE", state, pb.PromotionState)


def document_promotion_from_pb(message: pb.DocumentPromotion) -> DocumentPromotion:
    """A document's promotion (violations named by its own fields: `discount.kind`, `codes[0].max_redemptions`)."""
    state = optional_enum(PromotionState, "PROMOTION_STATE", message.state, pb.PromotionState, "state")
    codes = tuple(
        DocumentCode(
            code.code,
            optional_count(code, "max_redemptions", f"codes[{j}].max_redemptions"),
            optional_count(code, "max_per_customer", f"codes[{j}].max_per_customer"),
            optional_from_timestamp(code, "expire_time"),
        )
        for j, code in enumerate(message.codes)
    )
    return DocumentPromotion(message.promotion.id, definition_from_pb(message.promotion), state, codes)


def document_change_to_pb(change: Change) -> pb.DocumentChange:
    return pb.DocumentChange(
        resource_type=change.resource_type,
        resource_id=change.resource_id,
        change_type=enum_to_pb("DOCUMENT_CHANGE_TYPE", change.change_type, pb.DocumentChangeType),
        changed_fields=change.changed_fields,
    )


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
_PARTS_ALL = (*_PARTS, "stackable", "automatic", "texts", "store_offers")
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
        automatic=message.automatic,
        texts=texts_from_pb(message.texts),
        store_offers=store_offers_from_pb(message.store_offers),
    )


def store_offers_from_pb(message: pb.StoreOffers) -> StoreOffers:
    return StoreOffers(message.app_store_offer_id, message.google_play_offer_id, message.google_play_offer_tag)


def texts_from_pb(messages: Sequence[pb.PromotionText]) -> tuple[PromotionText, ...]:
    """A promotion's texts per locale (checked by the definition)."""
    return tuple(PromotionText(t.locale, t.display_name, t.description, t.disclosure) for t in messages)


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
    if top == "texts":
        return texts_from_pb(message.texts)
    if top == "store_offers":
        return store_offers_from_pb(message.store_offers)
    return getattr(message, top)


def discount_to_pb(discount: Discount) -> pb.Discount:
    return pb.Discount(
        kind=enum_to_pb("DISCOUNT_KIND", discount.kind, pb.DiscountKind),
        percent_basis_points=discount.percent_basis_points,
        amounts=_amounts_to_pb(discount.amounts),
        trial_days=discount.trial_days,
        duration=duration_to_pb(discount.duration),
        duration_periods=discount.duration_periods,
    )


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
        discount=discount_to_pb(discount),
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
        automatic=d.automatic,
        texts=[
            pb.PromotionText(
                locale=t.locale, display_name=t.display_name, description=t.description, disclosure=t.disclosure
            )
            for t in d.texts
        ],
        store_offers=pb.StoreOffers(
            app_store_offer_id=d.store_offers.app_store_offer_id,
            google_play_offer_id=d.store_offers.google_play_offer_id,
            google_play_offer_tag=d.store_offers.google_play_offer_tag,
        ),
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
        renewal_percent_basis_points=r.renewal_percent_basis_points,
        renewal_amount_off=money(r.renewal_amount_off_minor, r.currency_code) if r.renewal_amount_off_minor else None,
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


# ---------------------------------------------------------------------------------------- trials


def trial_started(event: ReceivedEvent) -> TrialStarted | None:
    """The trial a lifecycle `trial.started` event reports, or None when it names no subscription."""
    payload = event.payload(lifecycle_events.SubscriptionEvent)
    subscription = payload.subscription
    if not subscription.id or not subscription.customer_id:
        return None
    started = optional_from_timestamp(subscription, "current_period_start_time") or event.time
    return TrialStarted(
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        plan_id=subscription.plan_id,
        channel=channel_from_pb(subscription.channel, "subscription.channel"),
        started_at=started,
    )


_MATCH_KINDS = {
    MarkerKind.CUSTOMER: pb.TRIAL_MATCH_KIND_CUSTOMER,
    MarkerKind.CHANNEL_IDENTITY: pb.TRIAL_MATCH_KIND_CHANNEL_IDENTITY,
    MarkerKind.PAYMENT_METHOD: pb.TRIAL_MATCH_KIND_PAYMENT_METHOD,
}


def trial_eligibility_to_pb(eligibility: TrialEligibility) -> pb.TrialEligibility:
    answer = pb.TrialEligibility(
        eligible=eligibility.eligible, product_line=eligibility.product_line, reason=eligibility.reason
    )
    match = eligibility.match
    if match is not None:
        answer.match.CopyFrom(
            pb.TrialMatch(
                kind=_MATCH_KINDS.get(match.marker.kind, pb.TRIAL_MATCH_KIND_UNSPECIFIED),
                value=match.marker.value,
                plan_id=match.trial.plan_id,
                channel=channel_to_pb(match.trial.channel),
                start_time=timestamp(match.trial.started_at),
            )
        )
    return answer


# ---------------------------------------------------------------------------------------- referrals


def _reward_from_pb(message: pb.Reward, field: str) -> Reward:
    kind = enum_from_pb(RewardKind, "REWARD_KIND", message.kind, pb.RewardKind, f"{field}.kind")
    amounts = tuple((m.currency_code, m.amount_minor) for m in message.amounts)
    return Reward(kind, amounts, message.promotion_id)


def _reward_to_pb(reward: Reward) -> pb.Reward:
    return pb.Reward(
        kind=enum_to_pb("REWARD_KIND", reward.kind, pb.RewardKind),
        amounts=[money(amount, currency) for currency, amount in reward.amounts],
        promotion_id=reward.promotion_id,
    )


def program_from_pb(message: pb.ReferralProgram, tenant_id: str) -> ReferralProgram:
    """The program of an update (its version is the one it is based on); fields named `program.<field>`."""
    rules = []
    for index, rule in enumerate(message.rules):
        field = f"program.rules[{index}]"
        rules.append(
            RewardRule(
                plan_ids=tuple(rule.plan_ids),
                storefront_ids=tuple(rule.storefront_ids),
                channels=tuple(channel_from_pb(c, f"{field}.channels") for c in rule.channels),
                referrer=_reward_from_pb(rule.referrer, f"{field}.referrer") if rule.HasField("referrer") else None,
                referred=_reward_from_pb(rule.referred, f"{field}.referred") if rule.HasField("referred") else None,
            )
        )
    conversion = (
        Conversion.FIRST_PAID_PERIOD
        if message.conversion == pb.REFERRAL_CONVERSION_UNSPECIFIED
        else enum_from_pb(
            Conversion, "REFERRAL_CONVERSION", message.conversion, pb.ReferralConversion, "program.conversion"
        )
    )
    return ReferralProgram(
        tenant_id=tenant_id,
        enabled=message.enabled,
        conversion=conversion,
        max_rewards_per_referrer=(
            message.max_rewards_per_referrer if message.HasField("max_rewards_per_referrer") else None
        ),
        rules=tuple(rules),
        version=message.version,
    )


def program_to_pb(program: ReferralProgram) -> pb.ReferralProgram:
    answer = pb.ReferralProgram(
        enabled=program.enabled,
        conversion=enum_to_pb("REFERRAL_CONVERSION", program.conversion, pb.ReferralConversion),
        max_rewards_per_referrer=program.max_rewards_per_referrer,
        version=program.version,
        update_time=optional_timestamp(program.updated_at),
    )
    for rule in program.rules:
        answer.rules.add(
            plan_ids=rule.plan_ids,
            storefront_ids=rule.storefront_ids,
            channels=[channel_to_pb(c) for c in rule.channels],
            referrer=None if rule.referrer is None else _reward_to_pb(rule.referrer),
            referred=None if rule.referred is None else _reward_to_pb(rule.referred),
        )
    return answer


def referral_code_to_pb(code: ReferralCode) -> pb.ReferralCode:
    return pb.ReferralCode(
        customer_id=code.customer_id,
        code=code.code,
        rewarded_count=code.rewarded_count,
        create_time=timestamp(code.created_at),
    )


def given_to_pb(given: GivenReward) -> pb.GivenReward:
    return pb.GivenReward(
        kind=enum_to_pb("REWARD_KIND", given.kind, pb.RewardKind),
        amount=money(given.amount_minor, given.currency_code) if given.currency_code and given.amount_minor else None,
        promotion_id=given.promotion_id,
        code=given.code,
        skipped=given.skipped,
    )


def referral_to_pb(referral: Referral) -> pb.Referral:
    answer = pb.Referral(
        id=referral.id,
        code=referral.code,
        referrer_customer_id=referral.referrer_customer_id,
        referred_customer_id=referral.referred_customer_id,
        subscription_id=referral.subscription_id,
        plan_id=referral.plan_id,
        storefront_id=referral.storefront_id,
        channel=channel_to_pb(referral.channel),
        state=enum_to_pb("REFERRAL_STATE", referral.state, pb.ReferralState),
        create_time=timestamp(referral.created_at),
        convert_time=optional_timestamp(referral.converted_at),
    )
    if REFERRER in referral.rewards:
        answer.referrer_reward.CopyFrom(given_to_pb(referral.rewards[REFERRER]))
    if REFERRED in referral.rewards:
        answer.referred_reward.CopyFrom(given_to_pb(referral.rewards[REFERRED]))
    return answer


def attachment_from_pb(request: pb.AttachReferralRequest) -> Attachment:
    return Attachment(
        code=request.code,
        referred_customer_id=request.referred_customer_id,
        subscription_id=request.subscription_id,
        plan_id=request.plan_id,
        storefront_id=request.storefront_id,
        channel=channel_from_pb(request.channel, "channel"),
    )


# ---------------------------------------------------------------------------------------- campaigns

_TRIGGERS = {
    pb.CAMPAIGN_TRIGGER_RENEWAL_FAILED: Trigger.RENEWAL_FAILED,
    pb.CAMPAIGN_TRIGGER_ON_HOLD: Trigger.ON_HOLD,
    pb.CAMPAIGN_TRIGGER_CANCEL_SCHEDULED: Trigger.CANCEL_SCHEDULED,
    pb.CAMPAIGN_TRIGGER_DOWNGRADE_SCHEDULED: Trigger.DOWNGRADE_SCHEDULED,
    pb.CAMPAIGN_TRIGGER_TRIAL_EXPIRED: Trigger.TRIAL_EXPIRED,
    pb.CAMPAIGN_TRIGGER_TRIAL_ENDING: Trigger.TRIAL_ENDING,
    pb.CAMPAIGN_TRIGGER_USAGE_THRESHOLD: Trigger.USAGE_THRESHOLD,
}
_ACTIONS = {
    pb.CAMPAIGN_ACTION_UNSPECIFIED: CampaignAction.ISSUE_OFFER,
    pb.CAMPAIGN_ACTION_ISSUE_OFFER: CampaignAction.ISSUE_OFFER,
    pb.CAMPAIGN_ACTION_EXTEND_TRIAL: CampaignAction.EXTEND_TRIAL,
}
_ACTIONS_PB = {
    CampaignAction.ISSUE_OFFER: pb.CAMPAIGN_ACTION_ISSUE_OFFER,
    CampaignAction.EXTEND_TRIAL: pb.CAMPAIGN_ACTION_EXTEND_TRIAL,
}
_TRIGGERS_PB = {trigger: value for value, trigger in _TRIGGERS.items()}
_CAMPAIGN_STATES: dict[int, CampaignState] = {
    pb.CAMPAIGN_STATE_ACTIVE: CampaignState.ACTIVE,
    pb.CAMPAIGN_STATE_PAUSED: CampaignState.PAUSED,
}
_CAMPAIGN_STATES_PB = {CampaignState.ACTIVE: pb.CAMPAIGN_STATE_ACTIVE, CampaignState.PAUSED: pb.CAMPAIGN_STATE_PAUSED}


def campaign_state_from_pb(value: int, field: str) -> CampaignState:
    if value not in _CAMPAIGN_STATES:
        raise InvalidArgument.field(field, "must be CAMPAIGN_STATE_ACTIVE or CAMPAIGN_STATE_PAUSED")
    return _CAMPAIGN_STATES[value]


def campaign_from_pb(message: pb.Campaign, tenant_id: str) -> Campaign:
    """A new campaign; fields named `campaign.<field>`."""
    if message.trigger not in _TRIGGERS:
        raise InvalidArgument.field("campaign.trigger", f"must be one of {', '.join(pb.CampaignTrigger.keys()[1:])}")
    c = message.conditions
    conditions = Conditions(
        plan_ids=tuple(c.plan_ids),
        storefront_ids=tuple(c.storefront_ids),
        channels=tuple(channel_from_pb(ch, "campaign.conditions.channels") for ch in c.channels),
        min_tenure_days=c.min_tenure_days,
        max_tenure_days=c.max_tenure_days if c.HasField("max_tenure_days") else None,
        min_usage_percent=c.min_usage_percent,
    )
    if message.action not in _ACTIONS:
        raise InvalidArgument.field(
            "campaign.action", "must be CAMPAIGN_ACTION_ISSUE_OFFER or CAMPAIGN_ACTION_EXTEND_TRIAL"
        )
    state = CampaignState.ACTIVE if message.state == 0 else campaign_state_from_pb(message.state, "campaign.state")
    return Campaign(
        tenant_id=tenant_id,
        id=message.id,
        display_name=message.display_name,
        trigger=_TRIGGERS[message.trigger],
        promotion_id=message.promotion_id,
        created_at=datetime.min.replace(tzinfo=UTC),  # NOTE: the use case stamps it
        conditions=conditions,
        offer_valid_days=message.offer_valid_days or 14,
        max_offers_per_customer=message.max_offers_per_customer or 1,
        quiet_period_days=message.quiet_period_days,
        state=state,
        action=_ACTIONS[message.action],
        trial_extension_days=message.trial_extension_days,
        days_before_trial_end=message.days_before_trial_end,
    )


def campaign_to_pb(campaign: Campaign) -> pb.Campaign:
    c = campaign.conditions
    return pb.Campaign(
        id=campaign.id,
        display_name=campaign.display_name,
        trigger=_TRIGGERS_PB[campaign.trigger],
        conditions=pb.CampaignConditions(
            plan_ids=c.plan_ids,
            storefront_ids=c.storefront_ids,
            channels=[channel_to_pb(ch) for ch in c.channels],
            min_tenure_days=c.min_tenure_days,
            max_tenure_days=c.max_tenure_days,
            min_usage_percent=c.min_usage_percent,
        ),
        promotion_id=campaign.promotion_id,
        offer_valid_days=campaign.offer_valid_days,
        max_offers_per_customer=campaign.max_offers_per_customer,
        quiet_period_days=campaign.quiet_period_days,
        state=_CAMPAIGN_STATES_PB[campaign.state],
        create_time=timestamp(campaign.created_at),
        update_time=optional_timestamp(campaign.updated_at),
        offers_issued=campaign.offers_issued,
        action=_ACTIONS_PB[campaign.action],
        trial_extension_days=campaign.trial_extension_days,
        days_before_trial_end=campaign.days_before_trial_end,
    )


def campaign_offer_to_pb(offer: CampaignOffer) -> pb.CampaignOffer:
    m = offer.moment
    return pb.CampaignOffer(
        id=offer.id,
        campaign_id=offer.campaign_id,
        customer_id=m.customer_id,
        subscription_id=m.subscription_id,
        trigger_event_id=m.event_id,
        trigger=_TRIGGERS_PB[m.trigger],
        promotion_id=offer.promotion_id,
        code=offer.code,
        expire_time=timestamp(offer.expires_at),
        issue_time=timestamp(m.at),
        plan_id=m.plan_id,
        storefront_id=m.storefront_id,
        channel=channel_to_pb(m.channel),
        trial_extension_days=offer.trial_extension_days,
    )


def moment_of(event: ReceivedEvent, at: datetime) -> Moment | None:
    """The subscriber's moment a lifecycle event reports, judged at `at` (the tenant's now), or None."""
    trigger = next((t for t in LIFECYCLE_TRIGGERS if t.value == event.type), None)
    if trigger is None:
        return None
    subscription = event.payload(lifecycle_events.SubscriptionEvent).subscription
    if not subscription.customer_id:
        return None
    return Moment(
        event_id=event.id,
        trigger=trigger,
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        plan_id=subscription.plan_id,
        storefront_id=subscription.storefront_id,
        channel=channel_from_pb(subscription.channel, "subscription.channel"),
        subscribed_at=optional_from_timestamp(subscription, "create_time") or at,
        at=at,
    )


def usage_moment_of(event: ReceivedEvent, at: datetime) -> Moment | None:
    """The moment metering's `threshold.crossed` reports (a customer, no subscription), or None."""
    crossed = event.payload(metering_events.ThresholdCrossed)
    if not crossed.customer_id:
        return None
    return Moment(
        event_id=event.id,
        trigger=Trigger.USAGE_THRESHOLD,
        customer_id=crossed.customer_id,
        subscription_id="",
        plan_id="",
        storefront_id="",
        channel=None,
        subscribed_at=at,
        at=at,
        usage_percent=crossed.percent,
    )


def subscription_id_of(event: ReceivedEvent) -> str:
    """The id of the subscription a lifecycle event reports."""
    return str(event.payload(lifecycle_events.SubscriptionEvent).subscription.id)


def trial_ending_of(event: ReceivedEvent) -> TrialEnding | None:
    """The trial end a lifecycle `trial.started` or `trial.extended` reports, or None when it names none."""
    subscription = event.payload(lifecycle_events.SubscriptionEvent).subscription
    trial_end = optional_from_timestamp(subscription, "trial_end_time")
    if not subscription.id or not subscription.customer_id or trial_end is None:
        return None
    return TrialEnding(
        tenant_id=event.tenant_id,
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        plan_id=subscription.plan_id,
        storefront_id=subscription.storefront_id,
        channel=channel_from_pb(subscription.channel, "subscription.channel"),
        subscribed_at=optional_from_timestamp(subscription, "current_period_start_time") or event.time,
        trial_end=trial_end,
    )


# ---------------------------------------------------------------------------------------- experiments


def _variant_from_pb(message: pb.ExperimentVariant, field: str) -> Variant:
    kind = enum_from_pb(VariantKind, "VARIANT_KIND", message.kind, pb.VariantKind, f"{field}.kind")
    return Variant(
        message.id, message.weight, kind, message.promotion_id, message.price.amount_minor, message.trial_days
    )


def experiment_from_pb(message: pb.Experiment, tenant_id: str) -> Experiment:
    """A new experiment; fields named `experiment.<field>`."""
    variants = tuple(_variant_from_pb(v, f"experiment.variants[{i}]") for i, v in enumerate(message.variants))
    for index, variant in enumerate(message.variants):
        if variant.HasField("price") and variant.price.currency_code != message.currency_code:
            raise InvalidArgument.field(
                f"experiment.variants[{index}].price.currency_code", "must be the experiment's currency_code"
            )
    return Experiment(
        tenant_id=tenant_id,
        id=message.id,
        display_name=message.display_name,
        variants=variants,
        currency_code=message.currency_code,
        created_at=datetime.min.replace(tzinfo=UTC),  # NOTE: the use case stamps it
    )


def variant_to_pb(variant: Variant, currency_code: str) -> pb.ExperimentVariant:
    return pb.ExperimentVariant(
        id=variant.id,
        weight=variant.weight,
        kind=enum_to_pb("VARIANT_KIND", variant.kind, pb.VariantKind),
        promotion_id=variant.promotion_id,
        price=money(variant.price_minor, currency_code) if variant.kind is VariantKind.PRICE_POINT else None,
        trial_days=variant.trial_days,
    )


def experiment_to_pb(experiment: Experiment) -> pb.Experiment:
    return pb.Experiment(
        id=experiment.id,
        display_name=experiment.display_name,
        variants=[variant_to_pb(v, experiment.currency_code) for v in experiment.variants],
        currency_code=experiment.currency_code,
        state=enum_to_pb("EXPERIMENT_STATE", experiment.state, pb.ExperimentState),
        shipped_variant_id=experiment.shipped_variant_id,
        create_time=timestamp(experiment.created_at),
        update_time=optional_timestamp(experiment.updated_at),
    )


def variant_result_to_pb(result: VariantResult, currency_code: str, control: bool) -> pb.VariantResult:
    answer = pb.VariantResult(
        variant_id=result.variant_id,
        exposed=result.counts.exposed,
        converted=result.counts.converted,
        conversion_rate=result.conversion_rate,
        revenue=money(result.counts.revenue_minor, currency_code),
        revenue_per_customer=money(result.revenue_per_customer_minor, currency_code),
    )
    if not control:
        answer.z_score, answer.p_value, answer.significant = result.z_score, result.p_value, result.significant
    return answer


def payment_of(event: ReceivedEvent) -> Payment | None:
    """The net a payments event moved for its customer: a charge's net, or a refund's share of it (tax excluded)."""
    if event.type == "payment.succeeded":
        charge = event.payload(payments_events.PaymentSucceeded).charge
        return Payment(charge.customer_id, charge.net.currency_code, charge.net.amount_minor)
    if event.type == "payment.refunded":
        refunded = event.payload(payments_events.PaymentRefunded)
        charge, gross = refunded.charge, refunded.charge.gross.amount_minor
        if gross <= 0:
            return None
        # NOTE: a refund gives back gross (tax included); the revenue it takes back is its share of the net.
        net = refunded.refund.amount.amount_minor * charge.net.amount_minor // gross
        return Payment(charge.customer_id, charge.net.currency_code, -net)
    return None


_MILESTONES = {
    "subscription.created": Conversion.SUBSCRIBED,
    "subscription.activated": Conversion.FIRST_PAID_PERIOD,
    "trial.converted": Conversion.FIRST_PAID_PERIOD,
}


def milestone_of(event: ReceivedEvent) -> SubscriptionMilestone | None:
    """The milestone a lifecycle event reports (created; first paid period), or None."""
    reached = _MILESTONES.get(event.type)
    subscription = event.payload(lifecycle_events.SubscriptionEvent).subscription
    if reached is None or not subscription.customer_id:
        return None
    price = subscription.renewal_price
    return SubscriptionMilestone(
        subscription.customer_id, subscription.id, reached, price.currency_code, price.amount_minor
    )


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
    if isinstance(fact, CampaignOfferIssued):
        payload = events_pb2.CampaignOfferIssued(
            offer=campaign_offer_to_pb(fact.offer),
            discount=None if fact.discount is None else discount_to_pb(fact.discount),
        )
        return Event(tenant_id, "campaign.offer_issued", payload, about=fact.offer.moment.customer_id)
    if isinstance(fact, ExperimentAssigned):
        a = fact.assignment
        payload = events_pb2.ExperimentAssigned(
            experiment_id=a.experiment_id,
            customer_id=a.customer_id,
            variant=variant_to_pb(fact.variant, fact.currency_code),
            assign_time=timestamp(a.assigned_at),
        )
        return Event(tenant_id, "experiment.assigned", payload, about=a.customer_id)
    if isinstance(fact, ReferralConverted):
        payload = events_pb2.ReferralConverted(
            referral=referral_to_pb(fact.referral),
            subscription_price=money(fact.amount_minor, fact.currency_code),
        )
        return Event(tenant_id, "referral.converted", payload, about=fact.referral.referred_customer_id)
    if isinstance(fact, ReferralRewarded):
        referral = fact.referral
        payload = events_pb2.ReferralRewarded(
            referral_id=referral.id,
            side=fact.side,
            customer_id=fact.customer_id,
            reward=given_to_pb(fact.reward),
            referred_customer_id=referral.referred_customer_id,
            plan_id=referral.plan_id,
            storefront_id=referral.storefront_id,
            channel=channel_to_pb(referral.channel),
        )
        return Event(tenant_id, "referral.rewarded", payload, about=fact.customer_id)
    if isinstance(fact, PromotionExhausted):
        payload = events_pb2.PromotionExhausted(
            promotion_id=fact.promotion_id, max_redemptions=fact.max_redemptions, confirmed_count=fact.confirmed_count
        )
        return Event(tenant_id, "promotion.exhausted", payload, about=fact.promotion_id)
    if isinstance(fact, TrialBlocked):
        match = fact.eligibility.match
        blocked = events_pb2.TrialBlocked(
            customer_id=fact.customer_id,
            plan_id=fact.plan_id,
            product_line=fact.eligibility.product_line,
            match_kind=_MATCH_KINDS.get(match.marker.kind, pb.TRIAL_MATCH_KIND_UNSPECIFIED)
            if match
            else pb.TRIAL_MATCH_KIND_UNSPECIFIED,
            trial_plan_id=match.trial.plan_id if match else "",
            request_id=fact.request_id,
        )
        return Event(tenant_id, "trial.blocked", blocked, about=fact.customer_id)
    if isinstance(fact, PromotionBudgetExhausted):
        payload = events_pb2.PromotionBudgetExhausted(
            promotion_id=fact.promotion_id,
            budget=money(fact.budget_minor, fact.currency_code),
            confirmed_discount=money(fact.confirmed_minor, fact.currency_code),
        )
        return Event(tenant_id, "promotion.budget_exhausted", payload, about=fact.promotion_id)
    raise TypeError(f"not a promotions event: {fact!r}")
