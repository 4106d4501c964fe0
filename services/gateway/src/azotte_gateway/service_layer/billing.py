"""Billing: payment methods, charges and refunds (payments does the work)."""

from __future__ import annotations

from dataclasses import dataclass

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.adapters import proto
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require_mutation
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import page_size


@dataclass(frozen=True)
class Billing:
    """CreatePaymentMethod, ListCharges, RefundCharge."""

    peers: Peers
    customers: KnownCustomers

    async def create_payment_method(
        self, caller: Caller, request: gw.CreatePaymentMethodRequest
    ) -> gw.CreatePaymentMethodResponse:
        # NOTE: the new card becomes the default that renewals charge, so a publishable key may not
        # store one; it attaches a card only inside its own checkout.
        authorize(caller.principal, Permission.MANAGE_PAYMENT_METHODS, customer_id=request.customer_id)
        require_mutation(request, "customer_id", "payment_method_token")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.payments.CreatePaymentMethod(
            pay.CreatePaymentMethodRequest(
                request_id=request.request_id,
                customer_id=request.customer_id,
                type=pay.PAYMENT_METHOD_TYPE_CARD,
                token=request.payment_method_token,
                make_default=True,
            )
        )
        return gw.CreatePaymentMethodResponse(payment_method=proto.payment_method(answer.payment_method))

    async def list_charges(self, caller: Caller, request: gw.ListChargesRequest) -> gw.ListChargesResponse:
        authorize(caller.principal, Permission.READ_CHARGES)
        if request.customer_id:
            await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.payments.ListCharges(
            pay.ListChargesRequest(
                customer_id=request.customer_id,
                subscription_id=request.subscription_id,
                page_size=page_size(request.page_size),
                page_token=request.page_token,
            )
        )
        return gw.ListChargesResponse(
            charges=[proto.charge(c) for c in answer.charges], next_page_token=answer.next_page_token
        )

    async def refund_charge(self, caller: Caller, request: gw.RefundChargeRequest) -> gw.RefundChargeResponse:
        authorize(caller.principal, Permission.REFUND_CHARGE, amount_minor=0)
        require_mutation(request, "charge_id")
        if request.HasField("amount"):
            amount = request.amount.amount_minor
            if amount <= 0:
                raise InvalidArgument.field("amount", "must be positive")
        else:
            # NOTE: a full refund is authorized on what is left of the charge, so operators may
            # fully refund small charges.
            charge = (await self.peers.payments.GetCharge(pay.GetChargeRequest(charge_id=request.charge_id))).charge
            amount = charge.gross.amount_minor - charge.refunded.amount_minor
        authorize(
            caller.principal,
            Permission.REFUND_CHARGE,
            amount_minor=amount,
            operator_refund_limit_minor=caller.tenant.operator_refund_limit_minor,
        )
        refund = pay.RefundChargeRequest(
            request_id=request.request_id, charge_id=request.charge_id, reason=request.reason
        )
        if request.HasField("amount"):
            refund.amount.CopyFrom(request.amount)
        answer = await self.peers.payments.RefundCharge(refund)
        return gw.RefundChargeResponse(refund=proto.refund(answer.refund), charge=proto.charge(answer.charge))
