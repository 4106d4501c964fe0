"""REST endpoints of promotions: promotions, codes and batches, goodwill codes, a code's validation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Query
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from pydantic import Field, WithJsonSchema

from azotte.gateway.v1 import promotions_pb2 as gp
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.entrypoints.rest.checkout import CHANNELS
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, Int64, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers, response_model
from azotte_platform import convert
from azotte_platform.errors import InvalidArgument

router = APIRouter(tags=["promotions"])
MANAGE = "Needs `manage_promotions` (manager and up)."
READ = "Needs `read_promotions` (viewer and up)."
PromotionJson = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "allOf": [{"$ref": f"#/components/schemas/{response_model(pr.Promotion).__name__}"}],
            "description": "A promotion; state, version (except to update) and usage are ignored.",
        }
    ),
]
PromotionFilter = Annotated[
    str,
    Query(
        description="AIP-160 filter: `field op value` joined by `AND`; fields `state` (e.g. "
        "PROMOTION_STATE_ACTIVE), `stackable`, `discount_kind` with `=`, and `create_time` (RFC 3339) with `=`, "
        "`!=`, `<`, `<=`, `>`, `>=`.",
        max_length=2048,
    ),
]
PromotionOrder = Annotated[
    str,
    Query(
        description="AIP-132 order: `create_time` (the default), `update_time` or `display_name`, optionally `desc`."
    ),
]


def _promotion(data: dict[str, Any]) -> pr.Promotion:
    """The body's promotion, or INVALID_ARGUMENT naming `promotion`."""
    try:
        return json_format.ParseDict(data, pr.Promotion())
    except (json_format.ParseError, TypeError, ValueError) as error:
        raise InvalidArgument.field("promotion", str(error)) from None


class PromotionBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "promotion": {}}

    promotion: PromotionJson | None = None


class PromotionPatch(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "promotion": {}}

    promotion: PromotionJson | None = Field(default=None, description="Its `version` must be the current one.")
    update_mask: str = Field(
        default="",
        description="Required: comma-separated fields to change, e.g. `display_name,limits.max_redemptions`.",
    )


class CodeBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "code": {"minLength": 1}}

    code: str = Field(default="", description="3-64 letters, digits, hyphens or underscores; any case.")
    max_redemptions: Int64 | None = Field(default=None, description="Redemptions of this code in all.")
    max_per_customer: Int64 | None = Field(default=None, description="Redemptions of this code per customer.")
    expire_time: datetime | None = Field(default=None, description="Unset: never expires.")


class BatchBody(MutatingBody):
    code_count: int = Field(default=0, ge=0, le=100_000, description="1..100,000 single-use codes.")
    prefix: str = Field(default="", max_length=12, description="Optional letters or digits before each code.")
    expire_time: datetime | None = Field(default=None, description="Unset: never expire.")


class GoodwillBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {
        **MutatingBody.use_case_rules,
        "promotion_id": {"minLength": 1},
    }

    promotion_id: str = Field(default="", description="Required: the promotion whose discount the code gives.")
    expire_time: datetime | None = Field(default=None, description="Unset: never expires.")


class SubscriptionKeyBody(MutatingBody):
    key_id: str = Field(default="", description="The In-App Purchase key's id in App Store Connect.")
    bundle_id: str = Field(default="", description="The app's bundle id.")
    private_key_pem: str = Field(default="", description="PKCS#8 PEM of the key's P-256 private key; never answered.")


class SignOfferBody(Body):
    product_id: str = Field(min_length=1, description="The App Store product bought.")
    app_account_token: str = Field(min_length=1, description="The UUID the app passes as appAccountToken.")


class ValidateBody(Body):
    storefront_id: str = Field(min_length=1)
    plan_id: str = Field(min_length=1)
    channel: Literal["web", "app_store", "google_play", "telecom", "partner"] = "web"
    customer_id: str = Field(
        default="", description="The buyer, so that the rules about the customer are judged; optional."
    )


class ValidateAutomaticBody(ValidateBody):
    skip_trial: bool = Field(
        default=False, description="The checkout would skip the plan's free trial (charged at once)."
    )


@router.post(
    "/v1/promotions", summary="Create a promotion (a draft)", description=MANAGE, **answers(gp.CreatePromotionResponse)
)
async def create_promotion(body: PromotionBody, who: Who, g: Gw) -> JSON:
    request = gp.CreatePromotionRequest(request_id=body.request_id)
    if body.promotion is not None:
        request.promotion.CopyFrom(_promotion(body.promotion))
    return js(await g.promotions.create_promotion(who, request))


@router.get("/v1/promotions", summary="List promotions", description=READ, **answers(gp.ListPromotionsResponse))
async def list_promotions(
    who: Who,
    g: Gw,
    page_size: PageSize = 0,
    page_token: str = "",
    filter: PromotionFilter = "",
    order_by: PromotionOrder = "",
) -> JSON:
    request = gp.ListPromotionsRequest(page_size=page_size, page_token=page_token, filter=filter, order_by=order_by)
    return js(await g.promotions.list_promotions(who, request))


@router.get(
    "/v1/promotions/{promotion_id}",
    summary="Get a promotion with its usage",
    description=READ,
    **answers(gp.GetPromotionResponse),
)
async def get_promotion(promotion_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.promotions.get_promotion(who, gp.GetPromotionRequest(promotion_id=promotion_id)))


@router.patch(
    "/v1/promotions/{promotion_id}",
    summary="Change a promotion that has not ended",
    description=MANAGE + " A stale `promotion.version` answers 409 `PROMOTION_VERSION_MISMATCH`.",
    **answers(gp.UpdatePromotionResponse),
)
async def update_promotion(promotion_id: str, body: PromotionPatch, who: Who, g: Gw) -> JSON:
    request = gp.UpdatePromotionRequest(
        request_id=body.request_id,
        update_mask=FieldMask(paths=[p.strip() for p in body.update_mask.split(",") if p.strip()]),
    )
    if body.promotion is not None:
        request.promotion.CopyFrom(_promotion(body.promotion))
    request.promotion.id = promotion_id
    return js(await g.promotions.update_promotion(who, request))


@router.post(
    "/v1/promotions/{promotion_id}:activate",
    summary="Activate a draft or paused promotion",
    description=MANAGE,
    **answers(gp.ActivatePromotionResponse),
)
async def activate_promotion(promotion_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gp.ActivatePromotionRequest(request_id=body.request_id, promotion_id=promotion_id)
    return js(await g.promotions.activate_promotion(who, request))


@router.post(
    "/v1/promotions/{promotion_id}:pause",
    summary="Pause an active promotion",
    description=MANAGE,
    **answers(gp.PausePromotionResponse),
)
async def pause_promotion(promotion_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gp.PausePromotionRequest(request_id=body.request_id, promotion_id=promotion_id)
    return js(await g.promotions.pause_promotion(who, request))


@router.post(
    "/v1/promotions/{promotion_id}:end",
    summary="End a promotion for good",
    description=MANAGE,
    **answers(gp.EndPromotionResponse),
)
async def end_promotion(promotion_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gp.EndPromotionRequest(request_id=body.request_id, promotion_id=promotion_id)
    return js(await g.promotions.end_promotion(who, request))


@router.post(
    "/v1/promotions/{promotion_id}/codes",
    summary="Create a shared code of a promotion",
    description=MANAGE + " A code taken answers 409 `PROMOTION_CODE_EXISTS`.",
    **answers(gp.CreatePromotionCodeResponse),
)
async def create_promotion_code(promotion_id: str, body: CodeBody, who: Who, g: Gw) -> JSON:
    request = gp.CreatePromotionCodeRequest(
        request_id=body.request_id,
        promotion_id=promotion_id,
        code=body.code,
        max_redemptions=body.max_redemptions,
        max_per_customer=body.max_per_customer,
        expire_time=convert.optional_timestamp(body.expire_time),
    )
    return js(await g.promotions.create_promotion_code(who, request))


@router.get(
    "/v1/promotions/{promotion_id}/codes",
    summary="List the shared codes of a promotion",
    description=MANAGE + " (the codes are the discount). With their limits and their reserved and confirmed "
    "redemptions, in code order; a batch's codes are exported from the batch.",
    **answers(gp.ListPromotionCodesResponse),
)
async def list_promotion_codes(
    promotion_id: str, who: Who, g: Gw, page_size: PageSize = 0, page_token: str = ""
) -> JSON:
    request = gp.ListPromotionCodesRequest(promotion_id=promotion_id, page_size=page_size, page_token=page_token)
    return js(await g.promotions.list_promotion_codes(who, request))


@router.get(
    "/v1/promotion-codes/{code}",
    summary="Get a code with its redemptions",
    description=READ + " Any case, with or without hyphens; a code of a batch too.",
    **answers(gp.GetPromotionCodeResponse),
)
async def get_promotion_code(code: str, who: Who, g: Gw) -> JSON:
    return js(await g.promotions.get_promotion_code(who, gp.GetPromotionCodeRequest(code=code)))


@router.post(
    "/v1/promotion-codes/{code}:revoke",
    summary="Revoke a code",
    description=MANAGE,
    **answers(gp.RevokePromotionCodeResponse),
)
async def revoke_promotion_code(code: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gp.RevokePromotionCodeRequest(request_id=body.request_id, code=code)
    return js(await g.promotions.revoke_promotion_code(who, request))


@router.post(
    "/v1/promotions/{promotion_id}/code-batches",
    summary="Generate a batch of unique single-use codes",
    description=MANAGE,
    **answers(gp.CreateCodeBatchResponse),
)
async def create_code_batch(promotion_id: str, body: BatchBody, who: Who, g: Gw) -> JSON:
    request = gp.CreateCodeBatchRequest(
        request_id=body.request_id,
        promotion_id=promotion_id,
        code_count=body.code_count,
        prefix=body.prefix,
        expire_time=convert.optional_timestamp(body.expire_time),
    )
    return js(await g.promotions.create_code_batch(who, request))


@router.get(
    "/v1/code-batches/{batch_id}/codes",
    summary="Export the codes of a batch",
    description=MANAGE + " Pages of up to 10,000 codes (default 1,000), in code order.",
    **answers(gp.ExportCodeBatchResponse),
)
async def export_code_batch(
    batch_id: str,
    who: Who,
    g: Gw,
    page_size: Annotated[int, Query(ge=0, le=10_000)] = 0,
    page_token: str = "",
) -> JSON:
    request = gp.ExportCodeBatchRequest(batch_id=batch_id, page_size=page_size, page_token=page_token)
    return js(await g.promotions.export_code_batch(who, request))


@router.get(
    "/v1/code-batches/{batch_id}",
    summary="Get a batch of codes (not its codes)",
    description=READ,
    **answers(gp.GetCodeBatchResponse),
)
async def get_code_batch(batch_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.promotions.get_code_batch(who, gp.GetCodeBatchRequest(batch_id=batch_id)))


@router.get(
    "/v1/redemptions/{redemption_id}",
    summary="Get a redemption",
    description=READ + " The id is a checkout's `promotion.redemption_id`.",
    **answers(gp.GetRedemptionResponse),
)
async def get_redemption(redemption_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.promotions.get_redemption(who, gp.GetRedemptionRequest(redemption_id=redemption_id)))


@router.post(
    "/v1/code-batches/{batch_id}:revoke",
    summary="Revoke every code of a batch",
    description=MANAGE,
    **answers(gp.RevokeCodeBatchResponse),
)
async def revoke_code_batch(batch_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gp.RevokeCodeBatchRequest(request_id=body.request_id, batch_id=batch_id)
    return js(await g.promotions.revoke_code_batch(who, request))


@router.post(
    "/v1/customers/{customer_id}/goodwill-codes",
    summary="Issue a single-use goodwill code to a customer",
    description="Needs `issue_goodwill_codes` (operator and up). One unguessable single-use code of the promotion.",
    **answers(gp.IssueGoodwillCodeResponse),
)
async def issue_goodwill_code(customer_id: str, body: GoodwillBody, who: Who, g: Gw) -> JSON:
    request = gp.IssueGoodwillCodeRequest(
        request_id=body.request_id,
        promotion_id=body.promotion_id,
        customer_id=customer_id,
        expire_time=convert.optional_timestamp(body.expire_time),
    )
    return js(await g.promotions.issue_goodwill_code(who, request))


@router.post(
    "/v1/promotion-codes/{code}:validate",
    summary="The discount a code gives a checkout, or why not",
    description="Needs `validate_promotion_codes` (every role, publishable keys included). Reads only: "
    "`validation.eligible` with the discount and the price to pay, or every failed rule in `ineligibilities`.",
    **answers(gp.ValidatePromotionCodeResponse),
)
async def validate_promotion_code(code: str, body: ValidateBody, who: Who, g: Gw) -> JSON:
    request = gp.ValidatePromotionCodeRequest(
        code=code,
        storefront_id=body.storefront_id,
        plan_id=body.plan_id,
        channel=CHANNELS[body.channel],
        customer_id=body.customer_id,
    )
    return js(await g.promotions.validate_promotion_code(who, request))


@router.post(
    "/v1/automatic-promotions:validate",
    summary="The discount a checkout without a code would get",
    description="Needs `validate_promotion_codes` (every role, publishable keys included). Reads only: the "
    "active automatic promotion taking the most off the plan's price, as the checkout picks it, in `validation` "
    "with the discount and the price to pay; `{}` when none applies (none suits the checkout, or the plan "
    "starts with a free trial the checkout would not skip).",
    **answers(gp.ValidateAutomaticPromotionResponse),
)
async def validate_automatic_promotion(body: ValidateAutomaticBody, who: Who, g: Gw) -> JSON:
    request = gp.ValidateAutomaticPromotionRequest(
        storefront_id=body.storefront_id,
        plan_id=body.plan_id,
        channel=CHANNELS[body.channel],
        customer_id=body.customer_id,
        skip_trial=body.skip_trial,
    )
    return js(await g.promotions.validate_automatic_promotion(who, request))


@router.put(
    "/v1/app-store-subscription-key",
    summary="Set the App Store subscription key that signs promotional offers",
    description="Needs `manage_store_offer_keys` (admin). The private key is kept by promotions and never answered.",
    **answers(gp.SetAppStoreSubscriptionKeyResponse),
)
async def set_app_store_subscription_key(body: SubscriptionKeyBody, who: Who, g: Gw) -> JSON:
    request = gp.SetAppStoreSubscriptionKeyRequest(
        request_id=body.request_id,
        key_id=body.key_id,
        bundle_id=body.bundle_id,
        private_key_pem=body.private_key_pem,
    )
    return js(await g.promotions.set_app_store_subscription_key(who, request))


@router.post(
    "/v1/promotions/{promotion_id}/app-store-offer:sign",
    summary="Sign the promotion's App Store promotional offer for one purchase",
    description="Needs `sign_store_offers` (publishable keys, operator and up). Answers what the app passes to "
    "StoreKit: offer id, key id, nonce, timestamp (ms) and the base64 ECDSA P-256 signature.",
    **answers(gp.SignAppStoreOfferResponse),
)
async def sign_app_store_offer(promotion_id: str, body: SignOfferBody, who: Who, g: Gw) -> JSON:
    request = gp.SignAppStoreOfferRequest(
        promotion_id=promotion_id, product_id=body.product_id, app_account_token=body.app_account_token
    )
    return js(await g.promotions.sign_app_store_offer(who, request))
