"""Checkout: price, tax and charge, subscribe, then wait briefly for the entitlements; idempotent by request id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.adapters.peers import Peers
from azotte_gateway.domain.checkout import PaymentDeclined, charge_idempotency_key, derived_request_id, trial_end
from azotte_gateway.service_layer import translate
from azotte_gateway.service_layer.unit_of_work import GatewayUnitOfWork
from azotte_platform.clock import Clock
from azotte_platform.errors import Aborted, AzotteError, InvalidArgument, NotFound, Unavailable
from azotte_platform.idempotency import require_request_id, run_once

log = logging.getLogger(__name__)
OPERATION = "checkout"


@dataclass(frozen=True)
class CheckoutDeps:
    """What a checkout talks to."""

    uow_factory: Callable[[], GatewayUnitOfWork]
    peers: Peers
    clock: Clock
    entitlement_wait_seconds: float
    poll_interval_seconds: float = 0.05


def _validate(request: gw.CheckoutRequest) -> None:
    require_request_id(request.request_id)
    for field in ("customer_id", "storefront_id", "plan_id"):
        if not getattr(request, field):
            raise InvalidArgument.field(field, "is required")
    if request.channel == 0:
        raise InvalidArgument.field("channel", "is required")


async def checkout(deps: CheckoutDeps, tenant_id: str, request: gw.CheckoutRequest) -> gw.CheckoutResponse:
    """Run the checkout once per (tenant, request id); repeats get the first answer."""
    _validate(request)
    # NOTE: the request id row is held for the whole checkout, so concurrent retries wait for the
    # first one and then read its answer: one charge, one subscription.
    async with deps.uow_factory() as uow:
        return await run_once(
            uow, tenant_id, OPERATION, request, gw.CheckoutResponse, lambda: _run(deps, tenant_id, request)
        )


async def _storefront_and_price(
    peers: Peers, request: gw.CheckoutRequest, at: Timestamp
) -> tuple[cat.Plan, cat.ResolvePriceResponse]:
    storefront = (await peers.catalog.GetStorefront(cat.GetStorefrontRequest(id=request.storefront_id))).storefront
    if request.channel not in storefront.channels:
        raise InvalidArgument.field(
            "channel", f"is not enabled in storefront {request.storefront_id!r}", reason="CHANNEL_NOT_ENABLED"
        )
    try:
        plan = (await peers.catalog.GetPlan(cat.GetPlanRequest(id=request.plan_id))).plan
        price = await peers.catalog.ResolvePrice(
            cat.ResolvePriceRequest(
                plan_id=request.plan_id, storefront_id=request.storefront_id, channel=request.channel, at_time=at
            )
        )
    except NotFound as error:
        raise InvalidArgument.field(
            "plan_id",
            f"plan {request.plan_id!r} is not sold in storefront {request.storefront_id!r}",
            reason="PLAN_NOT_IN_STOREFRONT",
        ) from error
    if plan.state != cat.PLAN_STATE_ACTIVE:
        raise InvalidArgument.field("plan_id", f"plan {request.plan_id!r} is not for sale", reason="PLAN_NOT_ACTIVE")
    return plan, price


async def _payment_method(peers: Peers, request: gw.CheckoutRequest) -> str:
    if not request.payment_method_token:
        return ""
    created = await peers.payments.CreatePaymentMethod(
        pay.CreatePaymentMethodRequest(
            request_id=derived_request_id(request.request_id, "payment-method"),
            customer_id=request.customer_id,
            type=pay.PAYMENT_METHOD_TYPE_CARD,
            token=request.payment_method_token,
            make_default=True,
        )
    )
    return created.payment_method.id


async def _charge(
    peers: Peers, tenant_id: str, request: gw.CheckoutRequest, price: cat.ResolvePriceResponse, method_id: str
) -> pay.Charge:
    answer = await peers.payments.CreateCharge(
        pay.CreateChargeRequest(
            request_id=derived_request_id(request.request_id, "charge"),
            idempotency_key=charge_idempotency_key(tenant_id, request.request_id),
            customer_id=request.customer_id,
            storefront_id=request.storefront_id,
            channel=request.channel,
            plan_id=request.plan_id,
            amount=price.amount,
            use_storefront_tax=True,
            payment_method_id=method_id,
            description=f"{request.plan_id}: first period",
        )
    )
    charge = answer.charge
    if charge.status == pay.CHARGE_STATUS_FAILED:
        reason = charge.decline.reason or "UNKNOWN_DECLINE"
        raise PaymentDeclined(
            f"the payment was declined: {reason}", metadata={"decline_reason": reason, "charge_id": charge.id}
        )
    if charge.status == pay.CHARGE_STATUS_VOIDED:
        raise Aborted(
            f"checkout {request.request_id!r} was already rolled back; start a new checkout with a new request_id",
            reason="CHECKOUT_COMPENSATED",
        )
    if charge.status != pay.CHARGE_STATUS_SUCCEEDED:
        raise Unavailable(
            "the payment outcome is not known yet; retry with the same request_id", reason="PAYMENT_PENDING"
        )
    return charge


async def _compensate(peers: Peers, request: gw.CheckoutRequest, charge: pay.Charge) -> None:
    """Give the money back when the subscription could not be made after a successful charge."""
    try:
        await peers.payments.VoidCharge(
            pay.VoidChargeRequest(
                request_id=derived_request_id(request.request_id, "void"),
                charge_id=charge.id,
                reason="checkout could not create the subscription",
            )
        )
    except AzotteError:
        log.warning("voiding charge %s failed; refunding it", charge.id, exc_info=True)
        await peers.payments.RefundCharge(
            pay.RefundChargeRequest(
                request_id=derived_request_id(request.request_id, "refund"),
                charge_id=charge.id,
                reason="checkout could not create the subscription",
            )
        )


async def _subscribe(
    peers: Peers, request: gw.CheckoutRequest, trial_end_time: Timestamp | None, charge: pay.Charge | None
) -> lc.Subscription:
    create = lc.CreateSubscriptionRequest(
        request_id=derived_request_id(request.request_id, "subscription"),
        customer_id=request.customer_id,
        plan_id=request.plan_id,
        storefront_id=request.storefront_id,
        channel=request.channel,
        billing_origin=lc.BILLING_ORIGIN_AZOTTE_BILLED,
        # NOTE: the charge paid the first period; an immediate cancel with refund pays back from it.
        initial_charge_id=charge.id if charge is not None else "",
    )
    if trial_end_time is not None:
        create.trial_end_time.CopyFrom(trial_end_time)
    return (await peers.lifecycle.CreateSubscription(create)).subscription


async def _granted(deps: CheckoutDeps, customer_id: str, subscription_id: str, expected: int) -> list[gw.Entitlement]:
    """The entitlements the subscription grants, polled until all are there or the wait is over."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deps.entitlement_wait_seconds
    granted: list[gw.Entitlement] = []
    while True:
        try:
            listed = await deps.peers.entitlement.ListEntitlements(ent.ListEntitlementsRequest(customer_id=customer_id))
            granted = [
                translate.entitlement(e)
                for e in listed.entitlements
                if e.access.allowed and any(s.source_ref == subscription_id for s in e.access.sources)
            ]
        except AzotteError:
            log.warning("entitlements of %s not readable yet", customer_id, exc_info=True)
        if len(granted) >= expected or loop.time() >= deadline:
            return granted
        await asyncio.sleep(deps.poll_interval_seconds)


async def _run(deps: CheckoutDeps, tenant_id: str, request: gw.CheckoutRequest) -> gw.CheckoutResponse:
    now = deps.clock.now()
    at = Timestamp()
    at.FromDatetime(now)
    plan, price = await _storefront_and_price(deps.peers, request, at)
    method_id = await _payment_method(deps.peers, request)
    ends = trial_end(now, plan.trial_days)
    trial_end_time: Timestamp | None = None
    charge: pay.Charge | None = None
    if ends is None:
        charge = await _charge(deps.peers, tenant_id, request, price, method_id)
    else:
        trial_end_time = Timestamp()
        trial_end_time.FromDatetime(ends)
    try:
        subscription = await _subscribe(deps.peers, request, trial_end_time, charge)
    except AzotteError:
        if charge is not None:
            # NOTE: no subscription without its money and no money without its subscription.
            await _compensate(deps.peers, request, charge)
        raise
    granted = await _granted(deps, request.customer_id, subscription.id, len(plan.feature_grants))
    response = gw.CheckoutResponse(subscription=translate.subscription(subscription), granted_entitlements=granted)
    if charge is not None:
        response.charge.CopyFrom(translate.charge(charge))
    return response
