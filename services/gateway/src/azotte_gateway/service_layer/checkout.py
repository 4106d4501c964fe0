"""Customers and checkout: price, discount, tax and charge, subscribe, then wait briefly for the entitlements.

A promotion code is reserved before the charge (its request id derived from the checkout's), confirmed
once the checkout paid, and released when the charge fails or the checkout is rolled back. A checkout without a
code that charges at once gets the tenant's best automatic promotion for it, if any, the same way.

A checkout runs once per (tenant, request id); a failure after the charge gives the money back.
Before anything is written or charged, lifecycle checks the subscription it will make (the customer,
the plan, one live subscription per plan family); the subscription's id is chosen up front, derived
from the request id, so that the charge carries it (`ListCharges` by subscription finds it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import payments_pb2 as pay
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.adapters import proto
from azotte_gateway.domain.checkout import charge_idempotency_key, trial_end
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.errors import (
    ChannelNotEnabled,
    CheckoutCompensated,
    PaymentPending,
    PaymentRequiresAction,
    PlanNotActive,
    PlanNotInStorefront,
    PromotionCodeNotEligible,
)
from azotte_gateway.ports import GatewayUnitOfWork, Peers
from azotte_gateway.service_layer import promotions, referrals, trials
from azotte_gateway.service_layer.access import AccessReader
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.catalog_reads import CatalogReads
from azotte_gateway.service_layer.localization import (
    FeatureTexts,
    Priced,
    checkout_offer,
    language,
    name_entitlements,
)
from azotte_gateway.service_layer.validation import PAYMENT_METHOD_FIELDS, require, require_mutation
from azotte_platform import convert
from azotte_platform.clock import Clock
from azotte_platform.errors import (
    Aborted,
    AlreadyExists,
    AzotteError,
    InvalidArgument,
    NotFound,
    PaymentDeclined,
)
from azotte_platform.request_ids import derive_request_id
from azotte_platform.service_kit import Units
from azotte_platform.validation import field_names

log = logging.getLogger(__name__)
# NOTE: the name the checkout's request ids are stored under since the first release.
OPERATION = "checkout"
IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
"""payments' refusal of a charge's idempotency key already used with another amount."""
COMPENSATION_REASON = "checkout could not create the subscription"

A = TypeVar("A")


def derived_request_id(request_id: str, step: str) -> str:
    """The request id a checkout step sends to a service, so that each step is retried safely."""
    return derive_request_id("checkout", request_id, step)


def checkout_subscription_id(tenant_id: str, request_id: str) -> str:
    """The id of the subscription a checkout makes, stable across its retries: the charge names it before it exists."""
    digest = hashlib.sha256(f"{OPERATION}\0{tenant_id}\0{request_id}".encode()).hexdigest()
    return f"sub_{digest[:32]}"


def _answer(answer: A | BaseException) -> A:
    """A call's answer out of `asyncio.gather(..., return_exceptions=True)`: its failure raised."""
    if isinstance(answer, BaseException):
        raise answer
    return answer


def _not_eligible(message: str, reason: str) -> InvalidArgument:
    refusal = PromotionCodeNotEligible.field("promotion_code", message)
    refusal.metadata["reasons"] = reason
    return refusal


@dataclass(frozen=True)
class Checkout:
    """CreateCustomer, GetCustomer, Checkout."""

    units: Units[GatewayUnitOfWork]
    peers: Peers
    clock: Clock
    access: AccessReader
    texts: FeatureTexts
    catalog_reads: CatalogReads
    automatic: promotions.AutomaticPromotions
    entitlement_wait_seconds: float
    poll_interval_seconds: float = 0.05

    async def create_customer(self, caller: Caller, request: gw.CreateCustomerRequest) -> gw.CreateCustomerResponse:
        authorize(caller.principal, Permission.CREATE_CUSTOMER)
        require_mutation(request)
        answer = await self.peers.lifecycle.CreateCustomer(
            lc.CreateCustomerRequest(
                request_id=request.request_id,
                external_id=request.external_id,
                email=request.email,
                country_code=request.country_code,
            )
        )
        return gw.CreateCustomerResponse(customer=proto.customer(answer.customer))

    async def get_customer(self, caller: Caller, request: gw.GetCustomerRequest) -> gw.GetCustomerResponse:
        authorize(caller.principal, Permission.READ_CUSTOMERS, customer_id=request.customer_id)
        require(request, "customer_id")
        answer = await self.peers.lifecycle.GetCustomer(lc.GetCustomerRequest(customer_id=request.customer_id))
        return gw.GetCustomerResponse(customer=proto.customer(answer.customer))

    async def checkout(self, caller: Caller, request: gw.CheckoutRequest) -> gw.CheckoutResponse:
        """Run the checkout once per (tenant, request id); repeats get the first answer."""
        authorize(caller.principal, Permission.START_CHECKOUT, customer_id=request.customer_id)
        require_mutation(request, "customer_id", "storefront_id", "plan_id")
        if request.channel == 0:
            raise InvalidArgument.field("channel", "is required")
        preference = language(request.locale, request.storefront_id)
        priced: list[Priced] = []

        async def work(_: GatewayUnitOfWork, tenant_id: str) -> gw.CheckoutResponse:
            return await self._run(tenant_id, request, preference, priced)

        # NOTE: the language is not part of the checkout: a retry in another language gets the same checkout,
        # its texts in the retry's language.
        identity = gw.CheckoutRequest()
        identity.CopyFrom(request)
        identity.ClearField("locale")
        # NOTE: the request id row is held for the whole checkout, so concurrent retries wait for the
        # first one and then read its answer: one charge, one subscription.
        answer = await self.units.mutate(identity, gw.CheckoutResponse, work, operation=OPERATION)
        # NOTE: the buyer's app checks access next: it must not be answered from before the purchase.
        self.access.wrote(caller, request.customer_id, answer.consistency_token)
        # NOTE: a checkout that ran now shows what it charged; a repeat asks the catalog in its own language.
        offer, texts = await asyncio.gather(
            checkout_offer(self.peers, request, answer, *priced[-1:]), self.texts(preference)
        )
        answer.offer.CopyFrom(offer)
        name_entitlements(answer.granted_entitlements, texts)
        return answer

    async def _run(
        self, tenant_id: str, request: gw.CheckoutRequest, preference: cat.TextPreference, priced: list[Priced]
    ) -> gw.CheckoutResponse:
        """The checkout itself; what the catalog answered for it is appended to `priced`."""
        now = self.clock.now()
        storefront, plan, price = await self._plan_and_price(request, preference, convert.timestamp(now))
        priced.append(Priced(storefront, plan, price))
        redemption = await self._promotion(request, storefront, plan, price)
        try:
            ends = trial_end(now, self._trial_days(request, plan, redemption))
            create = self._subscription_request(tenant_id, request, convert.optional_timestamp(ends))
            await self._check_subscribable(create)
            method_id = await self._payment_method(request)
            if ends is not None:
                # NOTE: after the card is stored, so that promotions matches its fingerprint too.
                await trials.require_trial_eligibility(
                    self.peers,
                    request.customer_id,
                    plan.id,
                    create.subscription_id,
                    derived_request_id(request.request_id, "trial_eligibility"),
                )
            if request.HasField("referral_code"):
                await referrals.attach(
                    self.peers,
                    code=request.referral_code,
                    customer_id=request.customer_id,
                    subscription_id=create.subscription_id,
                    plan=plan,
                    storefront_id=storefront.id,
                    channel=request.channel,
                    checkout_request_id=request.request_id,
                )
        except AzotteError:
            await self._release(request, redemption, "checkout_refused")
            raise
        charge = None
        if ends is None:
            charge, redemption = await self._charge_first_period(
                tenant_id, request, (storefront, plan, price), method_id, redemption
            )
        if redemption is not None and (discount := promotions.renewal_discount(redemption)) is not None:
            create.discount.CopyFrom(discount)
        try:
            subscribed = await self._subscribe(create, charge)
        except AzotteError:
            if charge is not None:
                # NOTE: no subscription without its money and no money without its subscription.
                await self._compensate(request, charge)
            await self._release(request, redemption, "checkout_compensated")
            raise
        if redemption is not None:
            # NOTE: extra trial days are redeemed by the subscription itself: no charge pays them.
            await self._confirm(request, redemption, charge.id if charge is not None else "")
        subscription, token = subscribed.subscription, subscribed.consistency_token
        granted = await self._granted(request.customer_id, subscription.id, len(plan.feature_grants), token)
        response = gw.CheckoutResponse(
            subscription=proto.subscription(subscription), granted_entitlements=granted, consistency_token=token
        )
        if charge is not None:
            response.charge.CopyFrom(proto.charge(charge))
        if redemption is not None:
            response.promotion.CopyFrom(
                gw.AppliedPromotion(
                    promotion_id=redemption.promotion_id,
                    code=redemption.code,
                    redemption_id=redemption.id,
                    list_price=redemption.gross,
                    discount=redemption.discount,
                    extra_trial_days=redemption.extra_trial_days,
                )
            )
        return response

    async def _promotion(
        self, request: gw.CheckoutRequest, storefront: cat.Storefront, plan: cat.Plan, price: cat.ResolvePriceResponse
    ) -> pr.Redemption | None:
        """The checkout's promotion, reserved: its code's; without a code, when it charges at once (no trial),
        the tenant's automatic promotion taking the most off, if it suits any."""
        if not request.promotion_code and (self._trial_days(request, plan, None) or not await self.automatic.any()):
            return None
        checkout = await self._promotion_checkout(request, storefront, plan, price)
        if request.promotion_code:
            return await promotions.reserve(self.peers, request.promotion_code, checkout, request.request_id)
        return await self.automatic.reserve(checkout, request.request_id)

    async def _promotion_checkout(
        self, request: gw.CheckoutRequest, storefront: cat.Storefront, plan: cat.Plan, price: cat.ResolvePriceResponse
    ) -> pr.Checkout:
        """The checkout as promotions judges it."""
        return await promotions.checkout_of(
            self.peers,
            customer_id=request.customer_id,
            plan=plan,
            storefront=storefront,
            channel=request.channel,
            amount=price.amount,
        )

    async def _release(self, request: gw.CheckoutRequest, redemption: pr.Redemption | None, reason: str) -> None:
        """Give the reservation back when the checkout did not pay; the sweep releases it if this fails."""
        if redemption is None:
            return
        try:
            await promotions.release(self.peers, redemption.id, reason, request.request_id)
        except AzotteError:
            log.warning("releasing redemption %s failed; it expires by itself", redemption.id, exc_info=True)

    async def _confirm(self, request: gw.CheckoutRequest, redemption: pr.Redemption, charge_id: str) -> None:
        """The checkout paid (or, for extra trial days, subscribed): the redemption counts; a checkout that went
        through is never failed by its confirmation."""
        try:
            await promotions.confirm(self.peers, redemption.id, charge_id, request.request_id)
        except AzotteError:
            # NOTE: e.g. REDEMPTION_EXPIRED after a checkout slower than the reservation's TTL: the customer
            # keeps what they paid for; the discount given is in the charge.
            log.warning("confirming redemption %s of charge %r failed", redemption.id, charge_id, exc_info=True)

    @staticmethod
    def _trial_days(request: gw.CheckoutRequest, plan: cat.Plan, redemption: pr.Redemption | None) -> int:
        """The checkout's trial: the plan's, lengthened by a code's extra trial days.

        A code taking money off applies to the charge made at checkout, so it is refused on a checkout that starts
        with a trial (the first charge is made at conversion); a code giving extra trial days is refused on a
        checkout that skips the trial.
        """
        trial_days = 0 if request.skip_trial else plan.trial_days
        if redemption is None:
            return trial_days
        if redemption.extra_trial_days and request.skip_trial:
            raise _not_eligible("gives extra trial days; the checkout skips the trial", "checkout_skips_trial")
        if not redemption.extra_trial_days and trial_days:
            raise _not_eligible(
                f"applies to the charge at checkout; plan {plan.id!r} starts with a free trial", "plan_has_trial"
            )
        return trial_days + redemption.extra_trial_days

    async def _plan_and_price(
        self, request: gw.CheckoutRequest, preference: cat.TextPreference, at: Timestamp
    ) -> tuple[cat.Storefront, cat.Plan, cat.ResolvePriceResponse]:
        # NOTE: asked at once; the answers are judged in this order, whichever came first. The plan's texts are
        # in the caller's language, for the offer.
        storefront_answer, plan_answer, price_answer = await asyncio.gather(
            self.catalog_reads.storefront(request.storefront_id),
            self.catalog_reads.plan(request.plan_id, preference),
            self.catalog_reads.price(
                cat.ResolvePriceRequest(
                    plan_id=request.plan_id, storefront_id=request.storefront_id, channel=request.channel, at_time=at
                )
            ),
            return_exceptions=True,
        )
        storefront = _answer(storefront_answer).storefront
        if request.channel not in storefront.channels:
            raise ChannelNotEnabled.field("channel", f"is not enabled in storefront {request.storefront_id!r}")
        try:
            plan = _answer(plan_answer).plan
            price = _answer(price_answer)
        except NotFound as error:
            raise PlanNotInStorefront.field(
                "plan_id", f"plan {request.plan_id!r} is not sold in storefront {request.storefront_id!r}"
            ) from error
        if plan.state != cat.PLAN_STATE_ACTIVE:
            raise PlanNotActive.field("plan_id", f"plan {request.plan_id!r} is not for sale")
        return storefront, plan, price

    async def _payment_method(self, request: gw.CheckoutRequest) -> str:
        if not request.payment_method_token:
            return ""
        with field_names(PAYMENT_METHOD_FIELDS):
            created = await self.peers.payments.CreatePaymentMethod(
                pay.CreatePaymentMethodRequest(
                    request_id=derived_request_id(request.request_id, "payment-method"),
                    customer_id=request.customer_id,
                    type=pay.PAYMENT_METHOD_TYPE_CARD,
                    token=request.payment_method_token,
                    make_default=True,
                )
            )
        return created.payment_method.id

    async def _check_subscribable(self, create: lc.CreateSubscriptionRequest) -> None:
        """Refuse before anything is charged what lifecycle would refuse (e.g. ALREADY_SUBSCRIBED)."""
        check = lc.CreateSubscriptionRequest()
        check.CopyFrom(create)
        check.validate_only = True
        try:
            await self.peers.lifecycle.CreateSubscription(check)
        except AlreadyExists as error:
            # NOTE: the live subscription is this checkout's own when an earlier attempt crashed after making
            # it: the retry goes on, and the charge and the create answer what they answered then.
            if error.metadata.get("subscription_id") != create.subscription_id:
                raise

    async def _charge_first_period(
        self,
        tenant_id: str,
        request: gw.CheckoutRequest,
        priced: tuple[cat.Storefront, cat.Plan, cat.ResolvePriceResponse],
        method_id: str,
        redemption: pr.Redemption | None,
    ) -> tuple[pay.Charge, pr.Redemption | None]:
        """The checkout's charge and the promotion it paid with; a declined or compensated charge releases the
        reservation.

        NOTE: an earlier attempt of this checkout that charged, then crashed before answering, may have judged
        the tenant's automatic promotions otherwise (one was activated or ended since, or this process had not
        heard of it yet): payments then refuses the charge's key with another amount, and the checkout goes on
        on the earlier attempt's terms — without the automatic promotion reserved now, or with the one it
        reserved then (its reservation is found by the same request id).
        """
        storefront, plan, price = priced
        try:
            try:
                return await self._charge(tenant_id, request, price, method_id, redemption), redemption
            except Aborted as error:
                if error.reason != IDEMPOTENCY_KEY_REUSED or request.promotion_code:
                    raise
            if redemption is not None:
                await self._release(request, redemption, "checkout_retried")
                redemption = None
            else:
                checkout = await self._promotion_checkout(request, storefront, plan, price)
                redemption = await self.automatic.reserve(checkout, request.request_id)
            return await self._charge(tenant_id, request, price, method_id, redemption), redemption
        except (PaymentDeclined, CheckoutCompensated):
            await self._release(request, redemption, "charge_failed")
            raise

    async def _charge(
        self,
        tenant_id: str,
        request: gw.CheckoutRequest,
        price: cat.ResolvePriceResponse,
        method_id: str,
        redemption: pr.Redemption | None,
    ) -> pay.Charge:
        """Charge the first period: the price less the promotion's discount, before tax (payments adds it)."""
        amount = price.amount
        discount = None
        if redemption is not None and redemption.discount.amount_minor > 0:
            discount = redemption.discount
            amount = convert.money(amount.amount_minor - discount.amount_minor, amount.currency_code)
        answer = await self.peers.payments.CreateCharge(
            pay.CreateChargeRequest(
                request_id=derived_request_id(request.request_id, "charge"),
                idempotency_key=charge_idempotency_key(tenant_id, request.request_id),
                customer_id=request.customer_id,
                storefront_id=request.storefront_id,
                channel=request.channel,
                plan_id=request.plan_id,
                amount=amount,
                discount=discount,
                use_storefront_tax=True,
                payment_method_id=method_id,
                description=f"{request.plan_id}: first period",
                subscription_id=checkout_subscription_id(tenant_id, request.request_id),
            )
        )
        charge = answer.charge
        secret = charge.attempts[-1].client_secret if charge.attempts else ""
        if charge.status == pay.CHARGE_STATUS_FAILED and secret:
            # NOTE: 3-D Secure: the customer authenticates with the secret (Stripe.js), the PSP captures, and the
            # same request id then finds the charge succeeded and makes the subscription.
            raise PaymentRequiresAction(
                "the card's issuer asks the customer to authenticate; retry with the same request_id once done",
                metadata={"client_secret": secret, "charge_id": charge.id},
            )
        if charge.status == pay.CHARGE_STATUS_FAILED:
            reason = charge.decline.reason or "UNKNOWN_DECLINE"
            raise PaymentDeclined(
                f"the payment was declined: {reason}", metadata={"decline_reason": reason, "charge_id": charge.id}
            )
        if charge.status == pay.CHARGE_STATUS_VOIDED:
            raise CheckoutCompensated(
                f"checkout {request.request_id!r} was already rolled back; start a new checkout with a new request_id"
            )
        if charge.status != pay.CHARGE_STATUS_SUCCEEDED:
            raise PaymentPending("the payment outcome is not known yet; retry with the same request_id")
        return charge

    async def _compensate(self, request: gw.CheckoutRequest, charge: pay.Charge) -> None:
        """Give the money back when the subscription could not be made after a successful charge."""
        try:
            await self.peers.payments.VoidCharge(
                pay.VoidChargeRequest(
                    request_id=derived_request_id(request.request_id, "void"),
                    charge_id=charge.id,
                    reason=COMPENSATION_REASON,
                )
            )
        except AzotteError:
            log.warning("voiding charge %s failed; refunding it", charge.id, exc_info=True)
            await self.peers.payments.RefundCharge(
                pay.RefundChargeRequest(
                    request_id=derived_request_id(request.request_id, "refund"),
                    charge_id=charge.id,
                    reason=COMPENSATION_REASON,
                )
            )

    @staticmethod
    def _subscription_request(
        tenant_id: str, request: gw.CheckoutRequest, trial_end_time: Timestamp | None
    ) -> lc.CreateSubscriptionRequest:
        create = lc.CreateSubscriptionRequest(
            request_id=derived_request_id(request.request_id, "subscription"),
            customer_id=request.customer_id,
            plan_id=request.plan_id,
            storefront_id=request.storefront_id,
            channel=request.channel,
            billing_origin=lc.BILLING_ORIGIN_AZOTTE_BILLED,
            subscription_id=checkout_subscription_id(tenant_id, request.request_id),
        )
        if trial_end_time is not None:
            create.trial_end_time.CopyFrom(trial_end_time)
        return create

    async def _subscribe(
        self, create: lc.CreateSubscriptionRequest, charge: pay.Charge | None
    ) -> lc.CreateSubscriptionResponse:
        made = lc.CreateSubscriptionRequest()
        made.CopyFrom(create)
        # NOTE: the charge paid the first period; an immediate cancel with refund pays back from it.
        made.initial_charge_id = charge.id if charge is not None else ""
        return await self.peers.lifecycle.CreateSubscription(made)

    async def _granted(self, customer_id: str, subscription_id: str, expected: int, token: str) -> list[gw.Entitlement]:
        """The entitlements the subscription grants, polled until all are there or the wait is over."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.entitlement_wait_seconds
        granted: list[gw.Entitlement] = []
        while True:
            try:
                listed = await self.peers.entitlement.ListEntitlements(
                    ent.ListEntitlementsRequest(customer_id=customer_id, consistency_token=token)
                )
                granted = [
                    proto.entitlement(e)
                    for e in listed.entitlements
                    if e.access.allowed and any(s.source_ref == subscription_id for s in e.access.sources)
                ]
            except AzotteError:
                log.warning("entitlements of %s not readable yet", customer_id, exc_info=True)
            if len(granted) >= expected or loop.time() >= deadline:
                return granted
            await asyncio.sleep(self.poll_interval_seconds)
