"""REST endpoints of the tenant's own PSP accounts, and the webhooks the PSPs post for them."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from azotte.gateway.v1 import psp_accounts_pb2 as pa
from azotte.payments.v1 import disputes_pb2 as disputes_pb
from azotte.payments.v1 import psp_accounts_pb2 as pay
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, MutatingBody, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers

router = APIRouter(tags=["psp accounts"])

Kind = Literal["STRIPE", "ADYEN", "STRIPE_LIKE", "ADYEN_LIKE", "CARRIER"]
Mode = Literal["SANDBOX", "LIVE"]
DisputeAccess = Literal["KEEP", "SUSPEND", "REVOKE"]


class PspAccountBody(Body):
    account_id: str = Field(default="", description="1 to 63 of a-z, 0-9, '-', starting with a letter.")
    kind: Kind
    mode: Mode
    display_name: str = ""


class CreatePspAccountBody(MutatingBody):
    account: PspAccountBody
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="STRIPE: secret_key, webhook_secret. ADYEN: api_key, merchant_account, hmac_key (hex), and "
        "live_url_prefix when LIVE. STRIPE_LIKE: api_key. ADYEN_LIKE: api_key, merchant_account. CARRIER: carrier "
        "(a carrier the operator configured), api_key, notification_secret, flow (one_step or two_step). Never "
        "answered.",
    )


@router.post(
    "/v1/psp-accounts",
    summary="Connect one of the tenant's own payment provider accounts",
    description="Admins only. The credentials are sealed at rest and never answered: the account shows a hint per "
    "credential. Storefront routing rules name the account by `account_id`.",
    **answers(pa.CreatePspAccountResponse),
)
async def create_psp_account(body: CreatePspAccountBody, who: Who, g: Gw) -> JSON:
    given = body.account
    account = pay.PspAccount(
        account_id=given.account_id,
        kind=pay.PspKind.Value(f"PSP_KIND_{given.kind}"),
        mode=pay.PspMode.Value(f"PSP_MODE_{given.mode}"),
        display_name=given.display_name,
    )
    request = pa.CreatePspAccountRequest(request_id=body.request_id, account=account, credentials=body.credentials)
    return js(await g.psp_accounts.create_psp_account(who, request))


@router.get(
    "/v1/psp-accounts/{account_id}", summary="One PSP account (hints only)", **answers(pa.GetPspAccountResponse)
)
async def get_psp_account(account_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.psp_accounts.get_psp_account(who, pa.GetPspAccountRequest(account_id=account_id)))


@router.get("/v1/psp-accounts", summary="The tenant's PSP accounts", **answers(pa.ListPspAccountsResponse))
async def list_psp_accounts(who: Who, g: Gw) -> JSON:
    return js(await g.psp_accounts.list_psp_accounts(who, pa.ListPspAccountsRequest()))


@router.post(
    "/v1/psp-accounts:rewrap",
    summary="Wrap every account's data key with the active key-encryption key",
    **answers(pa.RewrapPspAccountsResponse),
)
async def rewrap_psp_accounts(body: MutatingBody, who: Who, g: Gw) -> JSON:
    return js(await g.psp_accounts.rewrap_psp_accounts(who, pa.RewrapPspAccountsRequest(request_id=body.request_id)))


class DisputePolicyBody(Body):
    on_dispute_opened: DisputeAccess = Field(
        description="KEEP access, SUSPEND it until the dispute is won, or REVOKE it for good."
    )


class UpdateDisputePolicyBody(MutatingBody):
    policy: DisputePolicyBody


@router.get(
    "/v1/dispute-policy",
    summary="What a dispute (chargeback) does to its subscription's access",
    description="Admins only. KEEP when the tenant never set a policy.",
    **answers(pa.GetDisputePolicyResponse),
)
async def get_dispute_policy(who: Who, g: Gw) -> JSON:
    return js(await g.psp_accounts.get_dispute_policy(who, pa.GetDisputePolicyRequest()))


@router.put(
    "/v1/dispute-policy",
    summary="Set what a dispute opened from now on does to its subscription's access",
    description="Admins only. A dispute already open keeps what it did; SUSPEND is lifted when the dispute is won.",
    **answers(pa.UpdateDisputePolicyResponse),
)
async def update_dispute_policy(body: UpdateDisputePolicyBody, who: Who, g: Gw) -> JSON:
    access = disputes_pb.DisputeAccess.Value(f"DISPUTE_ACCESS_{body.policy.on_dispute_opened}")
    request = pa.UpdateDisputePolicyRequest(
        request_id=body.request_id, policy=disputes_pb.DisputePolicy(on_dispute_opened=access)
    )
    return js(await g.psp_accounts.update_dispute_policy(who, request))


class PspWebhookReceipt(BaseModel):
    """What Stripe is answered: the event, and whether it was seen before."""

    model_config = ConfigDict(extra="forbid")

    event_id: str
    event_type: str
    duplicate: bool = Field(description="The event was received before: nothing was applied again.")


@router.post(
    "/v1/psp-webhooks/stripe/{tenant_id}/{account_id}",
    summary="Stripe's webhooks for one of the tenant's Stripe accounts",
    description="Stripe posts here (enter this URL in the account's webhook endpoint); no API key: "
    "`Stripe-Signature`, checked with the account's signing secret within 300 s of its timestamp, is the only "
    "proof (401 otherwise, nothing applied). An event is applied once, whatever the redeliveries.",
    response_model=PspWebhookReceipt,
    openapi_extra={"security": []},
)
async def receive_stripe_webhook(tenant_id: str, account_id: str, request: Request, g: Gw) -> PspWebhookReceipt:
    answer = await g.psp_accounts.receive_psp_webhook(
        tenant_id, account_id, await request.body(), request.headers.get("stripe-signature", "")
    )
    return PspWebhookReceipt(event_id=answer.event_id, event_type=answer.event_type, duplicate=answer.duplicate)


@router.post(
    "/v1/psp-webhooks/adyen/{tenant_id}/{account_id}",
    summary="Adyen's standard notifications for one of the tenant's Adyen accounts",
    description="Adyen posts here (the account's Standard webhook URL, JSON, HMAC enabled); no API key: each "
    "notification item's HMAC signature, checked with the account's HMAC key, is the only proof (401 otherwise, "
    "nothing applied). Answers `[accepted]`; a notification (pspReference and eventCode) is applied once.",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"example": "[accepted]"}}}},
    openapi_extra={"security": []},
)
async def receive_adyen_notification(tenant_id: str, account_id: str, request: Request, g: Gw) -> PlainTextResponse:
    await g.psp_accounts.receive_psp_webhook(tenant_id, account_id, await request.body(), "")
    return PlainTextResponse("[accepted]")


@router.post(
    "/v1/psp-webhooks/carrier/{tenant_id}/{account_id}",
    summary="A telecom carrier's payment notifications for one of the tenant's carrier accounts",
    description="The carrier posts its CAMARA Carrier Billing CloudEvents here (the account's notification URL); no "
    "API key: `X-Carrier-Signature` (`t=…,v1=…`, HMAC-SHA256 with the account's notification secret, within 300 s) "
    "is the only proof (401 otherwise, nothing applied). Answers 204; payments then reads the payment back from the "
    "carrier and settles the charge waiting for it.",
    status_code=204,
    response_class=Response,
    openapi_extra={"security": []},
)
async def receive_carrier_notification(tenant_id: str, account_id: str, request: Request, g: Gw) -> Response:
    signature = request.headers.get("x-carrier-signature", "")
    await g.psp_accounts.receive_psp_webhook(tenant_id, account_id, await request.body(), signature)
    return Response(status_code=204)
