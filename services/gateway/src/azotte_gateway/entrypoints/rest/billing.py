"""REST endpoints of payment methods, charges and refunds."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform import convert

router = APIRouter(tags=["billing"])


class PaymentMethodBody(MutatingBody):
    payment_method_token: str = Field(min_length=1, description="A payment provider token, e.g. tok_success.")


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
        request_id=body.request_id, customer_id=customer_id, payment_method_token=body.payment_method_token
    )
    return js(await g.billing.create_payment_method(who, request))


@router.get(
    "/v1/customers/{customer_id}/charges",
    summary="List a customer's charges, newest first",
    **answers(gw.ListChargesResponse),
)
async def list_charges(
    customer_id: str, who: Who, g: Gw, subscription_id: str = "", page_size: PageSize = 0, page_token: str = ""
) -> JSON:
    request = gw.ListChargesRequest(
        customer_id=customer_id, subscription_id=subscription_id, page_size=page_size, page_token=page_token
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
