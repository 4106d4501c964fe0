"""Promotions and their codes, and the discount a code gives a checkout (promotions does the work).

NOTE: promotions, codes, batches and validations are answered as promotions sends them (the re-export
policy in the README): the tenant declares them. The customer facts a promotion's rules ask for (an
earlier paid subscription, plans held, country) are the gateway's to gather, from lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import money_pb2
from azotte.gateway.v1 import promotions_pb2 as gp
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.errors import (
    ChannelNotEnabled,
    PlanNotInStorefront,
    PromotionCodeNotEligible,
    PromotionCodeUnknown,
    PromotionLimitReached,
)
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from azotte_platform.request_ids import derive_request_id
from azotte_platform.tenant_cache import TenantCache
from azotte_platform.validation import field_names

# A customer's subscriptions read to judge "new customers only" and the plans held.
MAX_HISTORY_PAGES = 10
NOT_ELIGIBLE = "PROMOTION_NOT_ELIGIBLE"
CODE_NOT_FOUND = "code_not_found"
CODE_NOT_FOUND_ERROR = "PROMOTION_CODE_NOT_FOUND"
NO_AUTOMATIC_PROMOTION = "NO_AUTOMATIC_PROMOTION"
PROMOTION_CHANGES = ("promotion.created", "promotion.updated", "promotion.state_changed")
"""The promotions events that may start or stop a tenant's automatic promotions."""


async def customer_facts(peers: Peers, customer_id: str) -> pr.CustomerFacts:
    """What lifecycle knows of the customer: an earlier paid subscription (any channel) and the plans held.

    A subscription was paid unless it is still in (or ended in) its first period's trial.
    """
    facts = pr.CustomerFacts()
    held: dict[str, None] = {}
    token = ""
    for _ in range(MAX_HISTORY_PAGES):
        page = await peers.lifecycle.ListSubscriptions(
            lc.ListSubscriptionsRequest(customer_id=customer_id, page_size=500, page_token=token)
        )
        for subscription in page.subscriptions:
            held[subscription.plan_id] = None
            if not subscription.HasField("trial_end_time") or subscription.period_index > 0:
                facts.has_paid_subscription = True
        token = page.next_page_token
        if not token:
            break
    facts.held_plan_ids.extend(held)
    return facts


async def checkout_of(
    peers: Peers,
    *,
    customer_id: str,
    plan: cat.Plan,
    storefront: cat.Storefront,
    channel: int,
    amount: money_pb2.Money,
) -> pr.Checkout:
    """The checkout a promotion is judged against; the customer's country, else the storefront's."""
    checkout = pr.Checkout(
        customer_id=customer_id,
        plan_id=plan.id,
        product_line=plan.family,
        storefront_id=storefront.id,
        country_code=storefront.country_code,
        channel=channel,  # type: ignore[arg-type]
        amount=amount,
    )
    if customer_id:
        customer = (await peers.lifecycle.GetCustomer(lc.GetCustomerRequest(customer_id=customer_id))).customer
        checkout.country_code = customer.country_code or storefront.country_code
        checkout.customer.CopyFrom(await customer_facts(peers, customer_id))
    return checkout


def reservation_request_id(checkout_request_id: str, step: str) -> str:
    """The request id of a checkout's redemption step (reserve, confirm, release), stable across its retries."""
    return derive_request_id("checkout", checkout_request_id, f"promotion-{step}")


async def reserve(peers: Peers, code: str, checkout: pr.Checkout, checkout_request_id: str) -> pr.Redemption:
    """Reserve the code's redemption for the checkout, or the refusal in the checkout's own terms.

    Not eligible: INVALID_ARGUMENT naming `promotion_code` with every reason (`PROMOTION_CODE_UNKNOWN` when
    no promotion has the code); a limit reached: `PROMOTION_LIMIT_REACHED` (409) naming it.
    """
    try:
        with field_names({"code": "promotion_code"}):
            answer = await peers.promotions.ReserveRedemption(
                pr.ReserveRedemptionRequest(
                    request_id=reservation_request_id(checkout_request_id, "reserve"), code=code, checkout=checkout
                )
            )
    except NotFound as error:
        if error.reason != CODE_NOT_FOUND_ERROR:
            raise
        raise PromotionCodeUnknown.field("promotion_code", "is not a known promotion code") from None
    except ResourceExhausted as error:
        limit = error.metadata.get("reason", error.reason.lower())
        raise PromotionLimitReached(
            f"promotion_code: {error.message}", metadata={"limit": limit, "reasons": limit}
        ) from None
    except FailedPrecondition as error:
        if error.reason != NOT_ELIGIBLE:
            raise
        reasons = error.metadata.get("reasons", "")
        if reasons == CODE_NOT_FOUND:
            raise PromotionCodeUnknown.field("promotion_code", "is not a known promotion code") from None
        refusal = PromotionCodeNotEligible.field("promotion_code", error.message)
        refusal.metadata["reasons"] = reasons
        raise refusal from None
    return answer.redemption


class AutomaticPromotions:
    """Whether the caller's tenant has active automatic promotions (a checkout without a code then asks for the
    best), kept per tenant until promotions announces a change to one of its promotions (`follow_changes` with
    `PROMOTION_CHANGES`), a NATS reconnection, or `ttl_seconds`."""

    def __init__(self, peers: Peers, ttl_seconds: float):
        self._peers = peers
        self.cache: TenantCache[str, bool] = TenantCache(ttl_seconds)

    async def any(self) -> bool:
        async def load() -> bool:
            request = pr.ListPromotionsRequest(
                filter="automatic = true AND state = PROMOTION_STATE_ACTIVE", page_size=1
            )
            return bool((await self._peers.promotions.ListPromotions(request)).promotions)

        return await self.cache.get("automatic", load)

    async def reserve(self, checkout: pr.Checkout, checkout_request_id: str) -> pr.Redemption | None:
        """Reserve the automatic promotion taking the most off the checkout; None when it suits none."""
        try:
            answer = await self._peers.promotions.ReserveRedemption(
                pr.ReserveRedemptionRequest(
                    request_id=reservation_request_id(checkout_request_id, "reserve"), automatic=True, checkout=checkout
                )
            )
        except NotFound as error:
            if error.reason != NO_AUTOMATIC_PROMOTION:
                raise
            return None
        return answer.redemption


async def confirm(peers: Peers, redemption_id: str, charge_id: str, checkout_request_id: str) -> None:
    """The charge paid the redemption: it counts for good (and `promotion.redeemed` is published)."""
    await peers.promotions.ConfirmRedemption(
        pr.ConfirmRedemptionRequest(
            request_id=reservation_request_id(checkout_request_id, "confirm"),
            redemption_id=redemption_id,
            charge_id=charge_id,
        )
    )


async def release(peers: Peers, redemption_id: str, reason: str, checkout_request_id: str) -> None:
    """The checkout did not pay: the redemption's counts and budget are given back."""
    await peers.promotions.ReleaseRedemption(
        pr.ReleaseRedemptionRequest(
            request_id=reservation_request_id(checkout_request_id, "release"),
            redemption_id=redemption_id,
            reason=reason,
        )
    )


def renewal_discount(redemption: pr.Redemption) -> lc.RecurringDiscount | None:
    """What the subscription's renewals take off after a checkout redeemed `redemption` (None: a once discount).

    NOTE: a repeating discount's N periods count the first, which the checkout's charge paid: N - 1 renewals.
    """
    if redemption.duration == pr.DISCOUNT_DURATION_FOREVER:
        renewals_left = None
    elif redemption.duration == pr.DISCOUNT_DURATION_REPEATING and redemption.duration_periods > 1:
        renewals_left = redemption.duration_periods - 1
    else:
        return None
    discount = lc.RecurringDiscount(
        promotion_id=redemption.promotion_id,
        redemption_id=redemption.id,
        percent_basis_points=redemption.renewal_percent_basis_points,
        renewals_left=renewals_left,
    )
    if redemption.HasField("renewal_amount_off"):
        discount.amount_off.CopyFrom(redemption.renewal_amount_off)
    return discount


@dataclass(frozen=True)
class Promotions:
    """PromotionsService: promotions, codes and batches, goodwill codes, and a code's validation."""

    peers: Peers
    customers: KnownCustomers

    async def create_promotion(self, caller: Caller, request: gp.CreatePromotionRequest) -> gp.CreatePromotionResponse:
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require_mutation(request, "promotion")
        answer = await self.peers.promotions.CreatePromotion(
            pr.CreatePromotionRequest(request_id=request.request_id, promotion=request.promotion)
        )
        return gp.CreatePromotionResponse(promotion=answer.promotion)

    async def get_promotion(self, caller: Caller, request: gp.GetPromotionRequest) -> gp.GetPromotionResponse:
        authorize(caller.principal, Permission.READ_PROMOTIONS)
        require(request, "promotion_id")
        answer = await self.peers.promotions.GetPromotion(pr.GetPromotionRequest(promotion_id=request.promotion_id))
        return gp.GetPromotionResponse(promotion=answer.promotion)

    async def list_promotions(self, caller: Caller, request: gp.ListPromotionsRequest) -> gp.ListPromotionsResponse:
        authorize(caller.principal, Permission.READ_PROMOTIONS)
        answer = await self.peers.promotions.ListPromotions(
            pr.ListPromotionsRequest(
                page_size=request.page_size,
                page_token=request.page_token,
                filter=request.filter,
                order_by=request.order_by,
            )
        )
        return gp.ListPromotionsResponse(promotions=answer.promotions, next_page_token=answer.next_page_token)

    async def update_promotion(self, caller: Caller, request: gp.UpdatePromotionRequest) -> gp.UpdatePromotionResponse:
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require_mutation(request, "promotion")
        if not request.promotion.id:
            raise InvalidArgument.field("promotion.id", "is required")
        answer = await self.peers.promotions.UpdatePromotion(
            pr.UpdatePromotionRequest(
                request_id=request.request_id, promotion=request.promotion, update_mask=request.update_mask
            )
        )
        return gp.UpdatePromotionResponse(promotion=answer.promotion)

    async def activate_promotion(
        self, caller: Caller, request: gp.ActivatePromotionRequest
    ) -> gp.ActivatePromotionResponse:
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require_mutation(request, "promotion_id")
        answer = await self.peers.promotions.ActivatePromotion(
            pr.ActivatePromotionRequest(request_id=request.request_id, promotion_id=request.promotion_id)
        )
        return gp.ActivatePromotionResponse(promotion=answer.promotion)

    async def pause_promotion(self, caller: Caller, request: gp.PausePromotionRequest) -> gp.PausePromotionResponse:
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require_mutation(request, "promotion_id")
        answer = await self.peers.promotions.PausePromotion(
            pr.PausePromotionRequest(request_id=request.request_id, promotion_id=request.promotion_id)
        )
        return gp.PausePromotionResponse(promotion=answer.promotion)

    async def end_promotion(self, caller: Caller, request: gp.EndPromotionRequest) -> gp.EndPromotionResponse:
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require_mutation(request, "promotion_id")
        answer = await self.peers.promotions.EndPromotion(
            pr.EndPromotionRequest(request_id=request.request_id, promotion_id=request.promotion_id)
        )
        return gp.EndPromotionResponse(promotion=answer.promotion)

    async def create_promotion_code(
        self, caller: Caller, request: gp.CreatePromotionCodeRequest
    ) -> gp.CreatePromotionCodeResponse:
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require_mutation(request, "promotion_id", "code")
        create = pr.CreatePromotionCodeRequest(
            request_id=request.request_id, promotion_id=request.promotion_id, code=request.code
        )
        if request.HasField("max_redemptions"):
            create.max_redemptions = request.max_redemptions
        if request.HasField("max_per_customer"):
            create.max_per_customer = request.max_per_customer
        if request.HasField("expire_time"):
            create.expire_time.CopyFrom(request.expire_time)
        answer = await self.peers.promotions.CreatePromotionCode(create)
        return gp.CreatePromotionCodeResponse(code=answer.code)

    async def revoke_promotion_code(
        self, caller: Caller, request: gp.RevokePromotionCodeRequest
    ) -> gp.RevokePromotionCodeResponse:
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require_mutation(request, "code")
        answer = await self.peers.promotions.RevokePromotionCode(
            pr.RevokePromotionCodeRequest(request_id=request.request_id, code=request.code)
        )
        return gp.RevokePromotionCodeResponse(code=answer.code)

    async def get_promotion_code(
        self, caller: Caller, request: gp.GetPromotionCodeRequest
    ) -> gp.GetPromotionCodeResponse:
        # NOTE: the caller names the code, so reading it reveals none.
        authorize(caller.principal, Permission.READ_PROMOTIONS)
        require(request, "code")
        answer = await self.peers.promotions.GetPromotionCode(pr.GetPromotionCodeRequest(code=request.code))
        return gp.GetPromotionCodeResponse(code=answer.code)

    async def list_promotion_codes(
        self, caller: Caller, request: gp.ListPromotionCodesRequest
    ) -> gp.ListPromotionCodesResponse:
        # NOTE: the codes themselves are the discount: listing them is configuring, not viewing.
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require(request, "promotion_id")
        answer = await self.peers.promotions.ListPromotionCodes(
            pr.ListPromotionCodesRequest(
                promotion_id=request.promotion_id, page_size=request.page_size, page_token=request.page_token
            )
        )
        return gp.ListPromotionCodesResponse(codes=answer.codes, next_page_token=answer.next_page_token)

    async def get_code_batch(self, caller: Caller, request: gp.GetCodeBatchRequest) -> gp.GetCodeBatchResponse:
        authorize(caller.principal, Permission.READ_PROMOTIONS)
        require(request, "batch_id")
        answer = await self.peers.promotions.GetCodeBatch(pr.GetCodeBatchRequest(batch_id=request.batch_id))
        return gp.GetCodeBatchResponse(batch=answer.batch)

    async def get_redemption(self, caller: Caller, request: gp.GetRedemptionRequest) -> gp.GetRedemptionResponse:
        authorize(caller.principal, Permission.READ_PROMOTIONS)
        require(request, "redemption_id")
        answer = await self.peers.promotions.GetRedemption(pr.GetRedemptionRequest(redemption_id=request.redemption_id))
        return gp.GetRedemptionResponse(redemption=answer.redemption)

    async def create_code_batch(self, caller: Caller, request: gp.CreateCodeBatchRequest) -> gp.CreateCodeBatchResponse:
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require_mutation(request, "promotion_id")
        create = pr.CreateCodeBatchRequest(
            request_id=request.request_id,
            promotion_id=request.promotion_id,
            code_count=request.code_count,
            prefix=request.prefix,
        )
        if request.HasField("expire_time"):
            create.expire_time.CopyFrom(request.expire_time)
        answer = await self.peers.promotions.CreateCodeBatch(create)
        return gp.CreateCodeBatchResponse(batch=answer.batch)

    async def export_code_batch(self, caller: Caller, request: gp.ExportCodeBatchRequest) -> gp.ExportCodeBatchResponse:
        # NOTE: the codes themselves are the discount: reading them is configuring, not viewing.
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require(request, "batch_id")
        answer = await self.peers.promotions.ExportCodeBatch(
            pr.ExportCodeBatchRequest(
                batch_id=request.batch_id, page_size=request.page_size, page_token=request.page_token
            )
        )
        return gp.ExportCodeBatchResponse(codes=answer.codes, next_page_token=answer.next_page_token)

    async def revoke_code_batch(self, caller: Caller, request: gp.RevokeCodeBatchRequest) -> gp.RevokeCodeBatchResponse:
        authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
        require_mutation(request, "batch_id")
        answer = await self.peers.promotions.RevokeCodeBatch(
            pr.RevokeCodeBatchRequest(request_id=request.request_id, batch_id=request.batch_id)
        )
        return gp.RevokeCodeBatchResponse(batch=answer.batch)

    async def issue_goodwill_code(
        self, caller: Caller, request: gp.IssueGoodwillCodeRequest
    ) -> gp.IssueGoodwillCodeResponse:
        authorize(caller.principal, Permission.ISSUE_GOODWILL_CODES)
        require_mutation(request, "promotion_id", "customer_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        # NOTE: a batch of one: promotions draws an unguessable single-use code, idempotently by request id.
        create = pr.CreateCodeBatchRequest(
            request_id=derive_request_id("goodwill", request.request_id, "batch"),
            promotion_id=request.promotion_id,
            code_count=1,
        )
        if request.HasField("expire_time"):
            create.expire_time.CopyFrom(request.expire_time)
        batch = (await self.peers.promotions.CreateCodeBatch(create)).batch
        exported = await self.peers.promotions.ExportCodeBatch(pr.ExportCodeBatchRequest(batch_id=batch.id))
        return gp.IssueGoodwillCodeResponse(code=exported.codes[0], batch_id=batch.id)

    async def set_app_store_subscription_key(
        self, caller: Caller, request: gp.SetAppStoreSubscriptionKeyRequest
    ) -> gp.SetAppStoreSubscriptionKeyResponse:
        authorize(caller.principal, Permission.MANAGE_STORE_OFFER_KEYS)
        require_mutation(request, "key_id", "bundle_id", "private_key_pem")
        kept = await self.peers.promotions.SetAppStoreSubscriptionKey(
            pr.SetAppStoreSubscriptionKeyRequest(
                request_id=request.request_id,
                key_id=request.key_id,
                bundle_id=request.bundle_id,
                private_key_pem=request.private_key_pem,
            )
        )
        return gp.SetAppStoreSubscriptionKeyResponse(key_id=kept.key_id, bundle_id=kept.bundle_id)

    async def sign_app_store_offer(
        self, caller: Caller, request: gp.SignAppStoreOfferRequest
    ) -> gp.SignAppStoreOfferResponse:
        """The offer signed by promotions, which holds the tenant's subscription key (it never leaves it)."""
        authorize(caller.principal, Permission.SIGN_STORE_OFFERS)
        require(request, "promotion_id", "product_id", "app_account_token")
        signed = await self.peers.promotions.SignAppStoreOffer(
            pr.SignAppStoreOfferRequest(
                promotion_id=request.promotion_id,
                product_id=request.product_id,
                app_account_token=request.app_account_token,
            )
        )
        return gp.SignAppStoreOfferResponse(offer=signed.offer)

    async def validate_promotion_code(
        self, caller: Caller, request: gp.ValidatePromotionCodeRequest
    ) -> gp.ValidatePromotionCodeResponse:
        checkout, _ = await self._paywall_checkout(caller, request, "code")
        answer = await self.peers.promotions.ValidateCode(pr.ValidateCodeRequest(code=request.code, checkout=checkout))
        return gp.ValidatePromotionCodeResponse(validation=answer.validation)

    async def validate_automatic_promotion(
        self, caller: Caller, request: gp.ValidateAutomaticPromotionRequest
    ) -> gp.ValidateAutomaticPromotionResponse:
        """What Checkout would take off without a code: nothing when the plan starts with a free trial."""
        checkout, plan = await self._paywall_checkout(caller, request)
        if plan.trial_days and not request.skip_trial:
            return gp.ValidateAutomaticPromotionResponse()
        try:
            answer = await self.peers.promotions.ValidatePromotion(
                pr.ValidatePromotionRequest(automatic=True, checkout=checkout)
            )
        except NotFound as error:
            if error.reason != NO_AUTOMATIC_PROMOTION:
                raise
            return gp.ValidateAutomaticPromotionResponse()
        return gp.ValidateAutomaticPromotionResponse(validation=answer.validation)

    async def _paywall_checkout(
        self,
        caller: Caller,
        request: gp.ValidatePromotionCodeRequest | gp.ValidateAutomaticPromotionRequest,
        *required: str,
    ) -> tuple[pr.Checkout, cat.Plan]:
        """The checkout a paywall asks about, authorized (a key bound to a customer asks for that customer) and
        with the `required` fields and the storefront and plan named, with its plan: the plan's price in the
        storefront on the channel."""
        customer_id = request.customer_id or None
        if caller.principal.customer_id is not None:
            # NOTE: a key bound to a customer asks for that customer (the unbound default is no customer).
            customer_id = request.customer_id or caller.principal.customer_id
        authorize(caller.principal, Permission.VALIDATE_PROMOTION_CODES, customer_id=customer_id)
        require(request, *required, "storefront_id", "plan_id")
        if request.channel == 0:
            raise InvalidArgument.field("channel", "is required")
        catalog = self.peers.catalog
        storefront = (await catalog.GetStorefront(cat.GetStorefrontRequest(id=request.storefront_id))).storefront
        if request.channel not in storefront.channels:
            raise ChannelNotEnabled.field("channel", f"is not enabled in storefront {request.storefront_id!r}")
        try:
            plan = (await catalog.GetPlan(cat.GetPlanRequest(id=request.plan_id))).plan
            price = await catalog.ResolvePrice(
                cat.ResolvePriceRequest(
                    plan_id=request.plan_id, storefront_id=request.storefront_id, channel=request.channel
                )
            )
        except NotFound as error:
            raise PlanNotInStorefront.field(
                "plan_id", f"plan {request.plan_id!r} is not sold in storefront {request.storefront_id!r}"
            ) from error
        checkout = await checkout_of(
            self.peers,
            customer_id=customer_id or "",
            plan=plan,
            storefront=storefront,
            channel=request.channel,
            amount=price.amount,
        )
        return checkout, plan
