"""REST endpoints of customers and checkout."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import Field

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, MutatingBody, Who, js
from azotte_gateway.entrypoints.rest.language import AcceptLanguage, accept_language, answer_language
from azotte_gateway.entrypoints.rest.schemas import answers

router = APIRouter(tags=["checkout"])
CHANNELS: dict[str, channel_pb2.Channel.ValueType] = {
    "web": channel_pb2.CHANNEL_WEB,
    "app_store": channel_pb2.CHANNEL_APP_STORE,
    "google_play": channel_pb2.CHANNEL_GOOGLE_PLAY,
    "telecom": channel_pb2.CHANNEL_TELECOM,
    "partner": channel_pb2.CHANNEL_PARTNER,
    "direct": channel_pb2.CHANNEL_DIRECT,
}


class CustomerBody(MutatingBody):
    use_case_rules = {
        **MutatingBody.use_case_rules,
        "external_id": {"minLength": 1},
        "country_code": {"pattern": "^[A-Z]{2}$", "description": "An ISO 3166-1 alpha-2 code such as FR."},
    }
    external_id: str = ""
    email: str = ""
    country_code: str = Field(default="", max_length=2)


class CheckoutBody(Body):
    request_id: str = Field(min_length=1, max_length=128, description="Makes the whole checkout idempotent.")
    customer_id: str = Field(min_length=1)
    storefront_id: str = Field(min_length=1)
    plan_id: str = Field(min_length=1)
    channel: Literal["web", "app_store", "google_play", "telecom", "partner"] = "web"
    payment_method_token: str = Field(default="", description="A payment provider token, e.g. tok_success.")
    promotion_code: str | None = None
    skip_trial: bool = Field(
        default=False,
        description="Start a plan with a free trial without it, charged now (when the customer's trial of the "
        "product line is used: otherwise the checkout answers 409 `TRIAL_ALREADY_USED`).",
    )
    referral_code: str | None = Field(
        default=None, description="Another customer's referral code: both are rewarded when this subscription converts."
    )


@router.post("/v1/customers", summary="Register a customer", **answers(gw.CreateCustomerResponse))
async def create_customer(body: CustomerBody, who: Who, g: Gw) -> JSON:
    return js(await g.checkout.create_customer(who, gw.CreateCustomerRequest(**body.model_dump())))


@router.get("/v1/customers/{customer_id}", summary="Get a customer", **answers(gw.GetCustomerResponse))
async def get_customer(customer_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.checkout.get_customer(who, gw.GetCustomerRequest(customer_id=customer_id)))


@router.post(
    "/v1/checkout",
    summary="Price, tax, charge and subscribe in one idempotent call",
    description="A declined card answers HTTP 402 with the normalized decline reason in the error details.",
    **answers(gw.CheckoutResponse),
)
async def checkout(
    body: CheckoutBody, who: Who, g: Gw, response: Response, accept_language_: AcceptLanguage = ""
) -> JSON:
    request = gw.CheckoutRequest(
        request_id=body.request_id,
        customer_id=body.customer_id,
        storefront_id=body.storefront_id,
        plan_id=body.plan_id,
        channel=CHANNELS[body.channel],
        payment_method_token=body.payment_method_token,
        skip_trial=body.skip_trial,
        locale=accept_language_,
    )
    if body.promotion_code is not None:
        request.promotion_code = body.promotion_code
    if body.referral_code is not None:
        request.referral_code = body.referral_code
    with accept_language():
        answer = await g.checkout.checkout(who, request)
    answer_language(response, answer.offer.locale)
    return js(answer)
