"""REST endpoints of usage billing: usage prices, wallets of prepaid credit, limits, upcoming usage charges."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter
from pydantic import Field

from azotte.gateway.v1 import usage_billing_pb2 as ub
from azotte.metering.v1 import wallets_pb2 as wa
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, Int64, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform import convert

router = APIRouter(tags=["usage billing"])
READ = "Needs `read_usage_billing` (viewer and up)."
CREDIT = "Needs `grant_usage_credit` (operator and up)."
MANAGE = "Needs `manage_usage_billing` (manager and up)."
DECIMAL = "A decimal string in minor units (fractions of a cent allowed), e.g. `0.002`."

Percent = Annotated[int, Field(ge=1, le=1000, description="A threshold in percent of the limit's value.")]
PricingModelName = Literal["PER_UNIT", "GRADUATED", "VOLUME", "PACKAGE", "PERCENTAGE"]


class PriceTierBody(Body):
    up_to: str = Field(default="", description="Last unit of the tier; empty on the last tier (no end).")
    unit_price: str = Field(default="", description=DECIMAL)
    flat_fee: str = Field(default="", description="Charged once the tier is reached. " + DECIMAL)


class PercentageBody(Body):
    rate: str = Field(default="", description="Percent of each transaction's amount, e.g. `2.9`.")
    fixed_fee: str = Field(default="", description="Per transaction. " + DECIMAL)
    min_per_transaction: str = Field(default="", description="Empty: no minimum. " + DECIMAL)
    max_per_transaction: str = Field(default="", description="Empty: no maximum. " + DECIMAL)


class UsagePriceBody(Body):
    storefront_id: str = ""
    plan_id: str = ""
    meter_key: str = ""
    dimensions: dict[str, str] = Field(
        default_factory=dict, description="Only usage with these dimension values (e.g. model); empty: all usage."
    )
    currency_code: str = ""
    model: PricingModelName | None = None
    unit_price: str = Field(default="", description="PER_UNIT: per unit; PACKAGE: per package. " + DECIMAL)
    package_size: Int64 = Field(default=0, description="PACKAGE: units per package (a started one counts).")
    tiers: list[PriceTierBody] = Field(default_factory=list, max_length=50)
    percentage: PercentageBody | None = None
    included_units: str = Field(default="", description="Units included in the plan each period (free).")


class SetPriceBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "price": {}}

    price: UsagePriceBody | None = None


class DeletePriceBody(MutatingBody):
    storefront_id: str = ""
    plan_id: str = ""
    meter_key: str = ""
    dimensions: dict[str, str] = Field(default_factory=dict)


class MoneyBody(Body):
    currency_code: str = Field(min_length=3, max_length=3)
    amount_minor: int = Field(gt=0)


class GrantCreditBody(MutatingBody):
    amount: MoneyBody | None = Field(default=None, description="Required: the credit, in its currency.")
    source: Literal["ADMIN", "PROMOTION"] = "ADMIN"
    priority: int = Field(default=0, ge=0, le=1000, description="Lower burns first; then the earliest expiry.")
    expire_time: datetime | None = Field(default=None, description="Unset: never expires.")
    storefront_id: str = ""
    reference: str = Field(default="", description="Kept on the wallet's history, e.g. a ticket.")


class TopUpBody(MutatingBody):
    amount_minor: int = Field(default=0, description="Required: the credit to buy, in the wallet's currency.")
    payment_method_id: str = Field(default="", description="Empty: the customer's default payment method.")
    storefront_id: str = ""


class AutoRechargeBody(Body):
    threshold_minor: int = Field(gt=0, description="Recharge when the balance falls below this.")
    amount_minor: int = Field(gt=0, description="The credit bought each time.")


class SetAutoRechargeBody(MutatingBody):
    auto_recharge: AutoRechargeBody | None = Field(default=None, description="Unset (or null): auto-recharge off.")
    storefront_id: str = ""


class LimitBody(Body):
    limit_id: str = ""
    feature_key: str = Field(default="", description="The feature a SUSPEND limit cuts off.")
    measure: Literal["UNITS", "SPEND", "CREDIT"] | None = None
    value: str = Field(default="", description="Units, or minor units of currency_code (a decimal string).")
    policy: Literal["SUSPEND", "ALLOW_OVERAGE", "DOWNGRADE"] | None = None
    meter_key: str = Field(default="", description="UNITS: the meter counted.")
    currency_code: str = Field(default="", description="SPEND and CREDIT.")
    alert_percents: list[Percent] = Field(default_factory=list, max_length=10)
    downgrade_plan_id: str = Field(default="", description="DOWNGRADE: the plan the subscription moves to.")


class SetLimitBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "limit": {}}

    limit: LimitBody | None = None


@router.post(
    "/v1/usage-prices",
    summary="Create or replace the price of a meter's usage under a plan in a storefront",
    description=MANAGE + " Models: PER_UNIT, GRADUATED, VOLUME (tiers with a flat fee each), PACKAGE, PERCENTAGE "
    "(with per-transaction bounds); `included_units` are free each period.",
    **answers(ub.SetUsagePriceResponse),
)
async def set_usage_price(body: SetPriceBody, who: Who, g: Gw) -> JSON:
    request = ub.SetUsagePriceRequest(request_id=body.request_id)
    if body.price is not None:
        request.price.CopyFrom(_price(body.price))
    return js(await g.usage_billing.set_usage_price(who, request))


@router.get(
    "/v1/storefronts/{storefront_id}/plans/{plan_id}/usage-prices",
    summary="A plan's usage prices in a storefront",
    description=READ,
    **answers(ub.ListUsagePricesResponse),
)
async def list_usage_prices(storefront_id: str, plan_id: str, who: Who, g: Gw) -> JSON:
    request = ub.ListUsagePricesRequest(storefront_id=storefront_id, plan_id=plan_id)
    return js(await g.usage_billing.list_usage_prices(who, request))


@router.post(
    "/v1/usage-prices:delete",
    summary="Remove a usage price",
    description=MANAGE,
    **answers(ub.DeleteUsagePriceResponse),
)
async def delete_usage_price(body: DeletePriceBody, who: Who, g: Gw) -> JSON:
    request = ub.DeleteUsagePriceRequest(
        request_id=body.request_id,
        storefront_id=body.storefront_id,
        plan_id=body.plan_id,
        meter_key=body.meter_key,
        dimensions=body.dimensions,
    )
    return js(await g.usage_billing.delete_usage_price(who, request))


@router.post(
    "/v1/customers/{customer_id}/wallet-credits",
    summary="Put credit in a customer's wallet",
    description=CREDIT,
    **answers(ub.GrantUsageCreditResponse),
)
async def grant_usage_credit(customer_id: str, body: GrantCreditBody, who: Who, g: Gw) -> JSON:
    request = ub.GrantUsageCreditRequest(
        request_id=body.request_id,
        customer_id=customer_id,
        source=wa.CreditSource.Value(f"CREDIT_SOURCE_{body.source}"),
        priority=body.priority,
        storefront_id=body.storefront_id,
        reference=body.reference,
    )
    if body.amount is not None:
        request.amount.CopyFrom(convert.money(body.amount.amount_minor, body.amount.currency_code))
    if body.expire_time is not None:
        request.expire_time.CopyFrom(convert.timestamp(body.expire_time))
    return js(await g.usage_billing.grant_usage_credit(who, request))


@router.post(
    "/v1/customers/{customer_id}/wallets/{currency_code}:top-up",
    summary="Buy credit for a customer (charged once per request id)",
    description=CREDIT,
    **answers(ub.TopUpWalletResponse),
)
async def top_up_wallet(customer_id: str, currency_code: str, body: TopUpBody, who: Who, g: Gw) -> JSON:
    request = ub.TopUpWalletRequest(
        request_id=body.request_id,
        customer_id=customer_id,
        amount=convert.money(body.amount_minor, currency_code),
        payment_method_id=body.payment_method_id,
        storefront_id=body.storefront_id,
    )
    return js(await g.usage_billing.top_up_wallet(who, request))


@router.post(
    "/v1/customers/{customer_id}/wallets/{currency_code}:set-auto-recharge",
    summary="Turn a wallet's auto-recharge on or off",
    description=CREDIT + " Below the threshold, the amount is charged to the default payment method, once per "
    "crossing.",
    **answers(ub.SetAutoRechargeResponse),
)
async def set_auto_recharge(customer_id: str, currency_code: str, body: SetAutoRechargeBody, who: Who, g: Gw) -> JSON:
    request = ub.SetAutoRechargeRequest(
        request_id=body.request_id,
        customer_id=customer_id,
        currency_code=currency_code,
        storefront_id=body.storefront_id,
    )
    if body.auto_recharge is not None:
        request.auto_recharge.CopyFrom(
            wa.AutoRecharge(
                threshold=convert.money(body.auto_recharge.threshold_minor, currency_code),
                amount=convert.money(body.auto_recharge.amount_minor, currency_code),
            )
        )
    return js(await g.usage_billing.set_auto_recharge(who, request))


@router.get(
    "/v1/customers/{customer_id}/wallets",
    summary="Every wallet of a customer, one per currency",
    description=READ,
    **answers(ub.ListWalletsResponse),
)
async def list_wallets(customer_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.usage_billing.list_wallets(who, ub.ListWalletsRequest(customer_id=customer_id)))


@router.get(
    "/v1/customers/{customer_id}/wallets/{currency_code}",
    summary="A customer's wallet: balance, grants, auto-recharge",
    description=READ,
    **answers(ub.GetWalletResponse),
)
async def get_wallet(customer_id: str, currency_code: str, who: Who, g: Gw) -> JSON:
    request = ub.GetWalletRequest(customer_id=customer_id, currency_code=currency_code)
    return js(await g.usage_billing.get_wallet(who, request))


@router.get(
    "/v1/customers/{customer_id}/wallets/{currency_code}/movements",
    summary="A wallet's history, newest first",
    description=READ,
    **answers(ub.ListWalletMovementsResponse),
)
async def list_wallet_movements(
    customer_id: str, currency_code: str, who: Who, g: Gw, page_size: PageSize = 0, page_token: str = ""
) -> JSON:
    request = ub.ListWalletMovementsRequest(
        customer_id=customer_id, currency_code=currency_code, page_size=page_size, page_token=page_token
    )
    return js(await g.usage_billing.list_wallet_movements(who, request))


@router.post(
    "/v1/customers/{customer_id}/usage-limits",
    summary="Create or replace a customer's usage limit",
    description=MANAGE + " UNITS (a meter's quantity), SPEND (money rated) or CREDIT (the wallet's floor); "
    "alerts at `alert_percents` once per period; SUSPEND cuts `feature_key` off (checks answer QUOTA_EXHAUSTED or "
    "SPEND_LIMIT_REACHED) until a new period, a top-up, a raised or removed limit.",
    **answers(ub.SetUsageLimitResponse),
)
async def set_usage_limit(customer_id: str, body: SetLimitBody, who: Who, g: Gw) -> JSON:
    request = ub.SetUsageLimitRequest(request_id=body.request_id)
    if body.limit is not None:
        request.limit.CopyFrom(_limit(customer_id, body.limit))
    return js(await g.usage_billing.set_usage_limit(who, request))


@router.get(
    "/v1/customers/{customer_id}/usage-limits",
    summary="A customer's usage limits and where each stands",
    description=READ,
    **answers(ub.ListUsageLimitsResponse),
)
async def list_usage_limits(customer_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.usage_billing.list_usage_limits(who, ub.ListUsageLimitsRequest(customer_id=customer_id)))


@router.get(
    "/v1/usage-limits/{limit_id}",
    summary="A usage limit and where it stands in the current period",
    description=READ,
    **answers(ub.GetUsageLimitResponse),
)
async def get_usage_limit(limit_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.usage_billing.get_usage_limit(who, ub.GetUsageLimitRequest(limit_id=limit_id)))


@router.post(
    "/v1/usage-limits/{limit_id}:delete",
    summary="Remove a usage limit (a feature it cut off is restored)",
    description=MANAGE,
    **answers(ub.DeleteUsageLimitResponse),
)
async def delete_usage_limit(limit_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = ub.DeleteUsageLimitRequest(request_id=body.request_id, limit_id=limit_id)
    return js(await g.usage_billing.delete_usage_limit(who, request))


@router.get(
    "/v1/customers/{customer_id}/upcoming-usage-charges",
    summary="The usage charges of the current period so far",
    description=READ + " Lines per meter and dimension values, adjustments for late usage of billed periods, the "
    "credit already paid from the wallet, and what is due with the renewal.",
    **answers(ub.PreviewUsageChargesResponse),
)
async def preview_usage_charges(customer_id: str, who: Who, g: Gw) -> JSON:
    request = ub.PreviewUsageChargesRequest(customer_id=customer_id)
    return js(await g.usage_billing.preview_usage_charges(who, request))


def _price(body: UsagePriceBody) -> wa.UsagePrice:
    price = wa.UsagePrice(
        storefront_id=body.storefront_id,
        plan_id=body.plan_id,
        meter_key=body.meter_key,
        dimensions=body.dimensions,
        currency_code=body.currency_code,
        model=wa.PricingModel.Value(f"PRICING_MODEL_{body.model or 'UNSPECIFIED'}"),
        unit_price=body.unit_price,
        package_size=body.package_size,
        tiers=[wa.PriceTier(up_to=t.up_to, unit_price=t.unit_price, flat_fee=t.flat_fee) for t in body.tiers],
        included_units=body.included_units,
    )
    if body.percentage is not None:
        price.percentage.CopyFrom(wa.PercentagePrice(**body.percentage.model_dump()))
    return price


def _limit(customer_id: str, body: LimitBody) -> wa.Limit:
    return wa.Limit(
        limit_id=body.limit_id,
        customer_id=customer_id,
        feature_key=body.feature_key,
        measure=wa.LimitMeasure.Value(f"LIMIT_MEASURE_{body.measure or 'UNSPECIFIED'}"),
        value=body.value,
        policy=wa.LimitPolicy.Value(f"LIMIT_POLICY_{body.policy or 'UNSPECIFIED'}"),
        meter_key=body.meter_key,
        currency_code=body.currency_code,
        alert_percents=body.alert_percents,
        downgrade_plan_id=body.downgrade_plan_id,
    )
