"""REST endpoints of payment methods, charges, refunds and voids, customer credit and the books."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from azotte.gateway.v1 import billing_pb2 as bl
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, Listing, MutatingBody, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform import convert

router = APIRouter(tags=["billing"])


class PaymentMethodBody(MutatingBody):
    payment_method_token: str = Field(min_length=1, description="A payment provider token, e.g. tok_success.")
    type: Literal["CARD", "SEPA_DEBIT", "PAYPAL", "WALLET", "CARRIER_BILLING"] = Field(
        default="CARD", description="CARRIER_BILLING: the token names a mobile line, e.g. tel:+34600000000."
    )


class MoneyBody(Body):
    currency_code: str = Field(min_length=3, max_length=3)
    amount_minor: int = Field(gt=0)


class RefundBody(MutatingBody):
    amount: MoneyBody | None = Field(default=None, description="Unset refunds what remains of the charge.")
    reason: str = ""


@router.post(
    "/v1/customers/{customer_id}/payment-methods",
    summary="Add a default payment method",
    **answers(gw.CreatePaymentMethodResponse),
)
async def create_payment_method(customer_id: str, body: PaymentMethodBody, who: Who, g: Gw) -> JSON:
    request = gw.CreatePaymentMethodRequest(
        request_id=body.request_id,
        customer_id=customer_id,
        payment_method_token=body.payment_method_token,
        type=gw.PaymentMethodType.Value(f"PAYMENT_METHOD_TYPE_{body.type}"),
    )
    return js(await g.billing.create_payment_method(who, request))


@router.get(
    "/v1/customers/{customer_id}/charges",
    summary="List a customer's charges, newest first",
    description="`filter` (AIP-160): `subscription_id` and `state` (PENDING, SUCCEEDED (nothing refunded), "
    "PARTIALLY_REFUNDED, REFUNDED, FAILED, VOIDED), `=` only, joined by AND, e.g. "
    '`subscription_id = "sub_1" AND state = SUCCEEDED`. `order_by` (AIP-132): `create_time desc` (the default) or '
    "`create_time`. The `subscription_id` parameter is deprecated: use the filter.",
    **answers(gw.ListChargesResponse),
)
async def list_charges(
    customer_id: str,
    who: Who,
    g: Gw,
    listing: Listing,
    subscription_id: Annotated[str, Query(deprecated=True)] = "",
) -> JSON:
    request = gw.ListChargesRequest(
        customer_id=customer_id,
        subscription_id=subscription_id,
        **listing.fields(),
    )
    return js(await g.billing.list_charges(who, request))


@router.post(
    "/v1/charges/{charge_id}:refund", summary="Refund a charge fully or partly", **answers(gw.RefundChargeResponse)
)
async def refund_charge(charge_id: str, body: RefundBody, who: Who, g: Gw) -> JSON:
    request = gw.RefundChargeRequest(request_id=body.request_id, charge_id=charge_id, reason=body.reason)
    if body.amount is not None:
        request.amount.CopyFrom(convert.money(body.amount.amount_minor, body.amount.currency_code))
    return js(await g.billing.refund_charge(who, request))


# --- BillingService ---------------------------------------------------------------------------------

REVENUE_DIMENSIONS = {
    "period": bl.REVENUE_DIMENSION_PERIOD,
    "storefront": bl.REVENUE_DIMENSION_STOREFRONT,
    "channel": bl.REVENUE_DIMENSION_CHANNEL,
    "plan": bl.REVENUE_DIMENSION_PLAN,
}


class GrantCreditBody(MutatingBody):
    use_case_rules = {**MutatingBody.use_case_rules, "amount": {}}

    amount: MoneyBody | None = Field(default=None, description="Required: the credit to add, in its currency.")
    reason: str = Field(default="", description="Why, e.g. a support case; shown on the movement.")


class VoidBody(MutatingBody):
    reason: str = ""


@router.get(
    "/v1/customers/{customer_id}/payment-methods",
    summary="List a customer's payment methods, oldest first",
    description="`filter` (AIP-160): `type` (CARD, SEPA_DEBIT, PAYPAL, WALLET) and `is_default` (true, false), `=` "
    "only, joined by AND, e.g. `type = CARD AND is_default = false`. `order_by` (AIP-132): `create_time` (the "
    "default), optionally `desc`.",
    **answers(bl.ListPaymentMethodsResponse),
)
async def list_payment_methods(customer_id: str, who: Who, g: Gw, listing: Listing) -> JSON:
    request = bl.ListPaymentMethodsRequest(customer_id=customer_id, **listing.fields())
    return js(await g.billing.list_payment_methods(who, request))


@router.post(
    "/v1/customers/{customer_id}/payment-methods/{payment_method_id}:set-default",
    summary="Make a payment method the default that renewals charge",
    **answers(bl.SetDefaultPaymentMethodResponse),
)
async def set_default_payment_method(
    customer_id: str, payment_method_id: str, body: MutatingBody, who: Who, g: Gw
) -> JSON:
    request = bl.SetDefaultPaymentMethodRequest(
        request_id=body.request_id, customer_id=customer_id, payment_method_id=payment_method_id
    )
    return js(await g.billing.set_default_payment_method(who, request))


@router.delete(
    "/v1/customers/{customer_id}/payment-methods/{payment_method_id}",
    summary="Delete a payment method",
    description="The newest remaining method becomes the default. The last method of a customer with a live "
    "subscription (any state but expired) is kept (409 `LAST_PAYMENT_METHOD_OF_LIVE_SUBSCRIPTION`) unless "
    "`allow_without_default=true`. `request_id` (required) names the call, as in a body.",
    **answers(bl.DeletePaymentMethodResponse),
)
async def delete_payment_method(
    customer_id: str,
    payment_method_id: str,
    who: Who,
    g: Gw,
    request_id: Annotated[str, Query(max_length=128, description="Required: names the call, as in a body.")] = "",
    allow_without_default: bool = False,
) -> JSON:
    request = bl.DeletePaymentMethodRequest(
        request_id=request_id,
        customer_id=customer_id,
        payment_method_id=payment_method_id,
        allow_without_default=allow_without_default,
    )
    return js(await g.billing.delete_payment_method(who, request))


@router.post(
    "/v1/customers/{customer_id}/credits:grant",
    summary="Grant a customer credit",
    description="The next charges in the amount's currency (checkout, renewal, plan change) spend it first.",
    **answers(bl.GrantCreditResponse),
)
async def grant_credit(customer_id: str, body: GrantCreditBody, who: Who, g: Gw) -> JSON:
    request = bl.GrantCreditRequest(request_id=body.request_id, customer_id=customer_id, reason=body.reason)
    if body.amount is not None:
        request.amount.CopyFrom(convert.money(body.amount.amount_minor, body.amount.currency_code))
    return js(await g.billing.grant_credit(who, request))


@router.get(
    "/v1/customers/{customer_id}/credits",
    summary="A customer's credit balance per currency",
    description="`filter` (AIP-160): `currency_code` (=), e.g. `currency_code = EUR`. `order_by` (AIP-132): "
    "`currency_code` (the default), optionally `desc`.",
    **answers(bl.ListCreditBalancesResponse),
)
async def list_credit_balances(customer_id: str, who: Who, g: Gw, listing: Listing) -> JSON:
    request = bl.ListCreditBalancesRequest(customer_id=customer_id, **listing.fields())
    return js(await g.billing.list_credit_balances(who, request))


@router.get(
    "/v1/customers/{customer_id}/credit-movements",
    summary="What moved a customer's credit, newest first",
    description="`filter` (AIP-160): `currency_code` and `kind` (GRANT, REFUND, SPEND, RELEASE), `=` only, joined "
    "by AND, e.g. `currency_code = EUR AND kind = SPEND`. `order_by` (AIP-132): `create_time desc` only.",
    **answers(bl.ListCreditMovementsResponse),
)
async def list_credit_movements(
    customer_id: str,
    who: Who,
    g: Gw,
    listing: Listing,
) -> JSON:
    request = bl.ListCreditMovementsRequest(customer_id=customer_id, **listing.fields())
    return js(await g.billing.list_credit_movements(who, request))


@router.post(
    "/v1/charges/{charge_id}:void",
    summary="Void a charge before settlement",
    description="A succeeded charge nothing was refunded of; authorized like a full refund (refund limit applies).",
    **answers(bl.VoidChargeResponse),
)
async def void_charge(charge_id: str, body: VoidBody, who: Who, g: Gw) -> JSON:
    request = bl.VoidChargeRequest(request_id=body.request_id, charge_id=charge_id, reason=body.reason)
    return js(await g.billing.void_charge(who, request))


@router.get(
    "/v1/revenue-report",
    summary="Revenue per currency by accounting month, storefront, channel and plan",
    description="`period_from` and `period_to` are accounting months `YYYY-MM`, inclusive; `group_by` may repeat.",
    **answers(bl.GetRevenueReportResponse),
)
async def get_revenue_report(
    who: Who,
    g: Gw,
    period_from: str = "",
    period_to: str = "",
    group_by: Annotated[list[Literal["period", "storefront", "channel", "plan"]], Query()] = [],  # noqa: B006
    currency_code: str = "",
    storefront_id: str = "",
) -> JSON:
    request = bl.GetRevenueReportRequest(
        period_from=period_from,
        period_to=period_to,
        group_by=[REVENUE_DIMENSIONS[d] for d in group_by],
        currency_code=currency_code,
        storefront_id=storefront_id,
    )
    return js(await g.billing.get_revenue_report(who, request))


@router.get(
    "/v1/ledger/balance",
    summary="The ledger's trial balance per currency",
    **answers(bl.GetLedgerBalanceResponse),
)
async def get_ledger_balance(who: Who, g: Gw, currency_code: str = "") -> JSON:
    return js(await g.billing.get_ledger_balance(who, bl.GetLedgerBalanceRequest(currency_code=currency_code)))
