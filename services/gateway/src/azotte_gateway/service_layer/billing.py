"""Billing: payment methods, charges, refunds and voids, customer credit and the books (payments does the work)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from azotte.common.v1 import subscription_state_pb2
from azotte.gateway.v1 import billing_pb2 as bl
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.adapters import proto
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.errors import LastPaymentMethodOfLiveSubscription
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import PAYMENT_METHOD_FIELDS, require_mutation
from azotte_platform.errors import InvalidArgument, LastPaymentMethod
from azotte_platform.listing import EQUALITY, Filter, Ordering, page_in_order
from azotte_platform.paging import MAX_PAGE_SIZE, PageRequest, page_size
from azotte_platform.validation import field_names

# NOTE: a public charge state is a payments status and what was refunded of the charge (ChargeState).
_CHARGE_STATES: dict[str, tuple[list[pay.ChargeStatus.ValueType], pay.RefundedFilter.ValueType]] = {
    "PENDING": ([pay.CHARGE_STATUS_PENDING, pay.CHARGE_STATUS_UNKNOWN], pay.REFUNDED_FILTER_UNSPECIFIED),
    "SUCCEEDED": ([pay.CHARGE_STATUS_SUCCEEDED], pay.REFUNDED_FILTER_NONE),
    "PARTIALLY_REFUNDED": ([pay.CHARGE_STATUS_SUCCEEDED], pay.REFUNDED_FILTER_PARTLY),
    "REFUNDED": ([pay.CHARGE_STATUS_SUCCEEDED], pay.REFUNDED_FILTER_FULLY),
    "FAILED": ([pay.CHARGE_STATUS_FAILED], pay.REFUNDED_FILTER_UNSPECIFIED),
    "VOIDED": ([pay.CHARGE_STATUS_VOIDED], pay.REFUNDED_FILTER_UNSPECIFIED),
}
_CHARGE_FILTER = {"subscription_id": EQUALITY, "state": EQUALITY}
_MOVEMENT_FILTER = {"currency_code": EQUALITY, "kind": EQUALITY}
_METHOD_FILTER = {"type": EQUALITY, "is_default": EQUALITY}
_BALANCE_KEYS: dict[str, Callable[[pay.CreditBalance], str]] = {"currency_code": lambda b: b.balance.currency_code}
_NEWEST_FIRST = "create_time desc"


def _enum_value(filtered: str, value: str, prefix: str, names: list[str]) -> str:
    """A filter's enum value, bare (`SUCCEEDED`) or full (`CHARGE_STATE_SUCCEEDED`)."""
    bare = value.removeprefix(prefix)
    if bare not in names:
        raise InvalidArgument.field("filter", f"{filtered} must be one of {', '.join(names)}")
    return bare


def _currency_code(field: str, value: str) -> str:
    """An optional ISO 4217 code ('' for every currency)."""
    if value and not (len(value) == 3 and value.isalpha() and value.isupper()):
        raise InvalidArgument.field(field, "must be an ISO 4217 code like 'EUR'")
    return value


@dataclass(frozen=True)
class Billing:
    """CreatePaymentMethod, ListCharges, RefundCharge (GatewayService) and BillingService."""

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
        with field_names(PAYMENT_METHOD_FIELDS):
            answer = await self.peers.payments.CreatePaymentMethod(
                pay.CreatePaymentMethodRequest(
                    request_id=request.request_id,
                    customer_id=request.customer_id,
                    type=pay.PaymentMethodType.Value(
                        gw.PaymentMethodType.Name(request.type or gw.PAYMENT_METHOD_TYPE_CARD)
                    ),
                    token=request.payment_method_token,
                    make_default=True,
                )
            )
        return gw.CreatePaymentMethodResponse(payment_method=proto.payment_method(answer.payment_method))

    async def list_charges(self, caller: Caller, request: gw.ListChargesRequest) -> gw.ListChargesResponse:
        authorize(caller.principal, Permission.READ_CHARGES)
        wanted = Filter.parse(request.filter, _CHARGE_FILTER)
        order = Ordering.parse(request.order_by, ["create_time"], _NEWEST_FIRST)
        subscription_id = wanted.value("subscription_id") or request.subscription_id
        if request.subscription_id and subscription_id != request.subscription_id:
            raise InvalidArgument.field("filter", "names another subscription_id than the request's field")
        statuses: list[pay.ChargeStatus.ValueType] = []
        refunded = pay.REFUNDED_FILTER_UNSPECIFIED
        state = wanted.value("state")
        if state is not None:
            statuses, refunded = _CHARGE_STATES[_enum_value("state", state, "CHARGE_STATE_", list(_CHARGE_STATES))]
        if request.customer_id:
            await self.customers.require(caller.principal.tenant_id, request.customer_id)
        # NOTE: payments binds the page token to this same query (customer, subscription, states, order).
        answer = await self.peers.payments.ListCharges(
            pay.ListChargesRequest(
                customer_id=request.customer_id,
                subscription_id=subscription_id,
                statuses=statuses,
                refunded=refunded,
                oldest_first=not order.keys[0][1],
                page_size=page_size(request.page_size),
                page_token=request.page_token,
            )
        )
        return gw.ListChargesResponse(
            charges=[proto.charge(c) for c in answer.charges], next_page_token=answer.next_page_token
        )

    async def list_payment_methods(
        self, caller: Caller, request: bl.ListPaymentMethodsRequest
    ) -> bl.ListPaymentMethodsResponse:
        authorize(caller.principal, Permission.READ_PAYMENT_METHODS, customer_id=request.customer_id)
        wanted = Filter.parse(request.filter, _METHOD_FILTER)
        order = Ordering.parse(request.order_by, ["create_time"], "create_time")
        listed = pay.ListPaymentMethodsRequest(
            customer_id=request.customer_id,
            page_size=page_size(request.page_size),
            page_token=request.page_token,
            newest_first=order.keys[0][1],
        )
        if (named := wanted.value("type")) is not None:
            names = [n.removeprefix("PAYMENT_METHOD_TYPE_") for n in gw.PaymentMethodType.keys()[1:]]
            bare = _enum_value("type", named, "PAYMENT_METHOD_TYPE_", names)
            listed.type = pay.PaymentMethodType.Value(f"PAYMENT_METHOD_TYPE_{bare}")
        if (is_default := wanted.value("is_default")) is not None:
            if is_default not in ("true", "false"):
                raise InvalidArgument.field("filter", "is_default is true or false")
            listed.is_default = is_default == "true"
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        # NOTE: payments binds the page token to this same query (customer, type, default, order).
        answer = await self.peers.payments.ListPaymentMethods(listed)
        return bl.ListPaymentMethodsResponse(
            payment_methods=[proto.payment_method(m) for m in answer.payment_methods],
            next_page_token=answer.next_page_token,
        )

    async def set_default_payment_method(
        self, caller: Caller, request: bl.SetDefaultPaymentMethodRequest
    ) -> bl.SetDefaultPaymentMethodResponse:
        authorize(caller.principal, Permission.MANAGE_PAYMENT_METHODS, customer_id=request.customer_id)
        require_mutation(request, "customer_id", "payment_method_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.payments.SetDefaultPaymentMethod(
            pay.SetDefaultPaymentMethodRequest(
                request_id=request.request_id,
                customer_id=request.customer_id,
                payment_method_id=request.payment_method_id,
            )
        )
        return bl.SetDefaultPaymentMethodResponse(payment_method=proto.payment_method(answer.payment_method))

    async def delete_payment_method(
        self, caller: Caller, request: bl.DeletePaymentMethodRequest
    ) -> bl.DeletePaymentMethodResponse:
        authorize(caller.principal, Permission.MANAGE_PAYMENT_METHODS, customer_id=request.customer_id)
        require_mutation(request, "customer_id", "payment_method_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        # NOTE: without a method, a live subscription's next renewal cannot be charged and falls into dunning;
        # payments refuses to delete the last one under the customer's lock, so two deletes at once cannot both.
        live = None if request.allow_without_default else await self._live_subscription(request.customer_id)
        try:
            answer = await self.peers.payments.DeletePaymentMethod(
                pay.DeletePaymentMethodRequest(
                    request_id=request.request_id,
                    customer_id=request.customer_id,
                    payment_method_id=request.payment_method_id,
                    keep_last=live is not None,
                )
            )
        except LastPaymentMethod as error:
            raise LastPaymentMethodOfLiveSubscription(
                f"payment method {request.payment_method_id!r} is the last of customer {request.customer_id!r}, "
                f"whose subscription {live!r} is live; set allow_without_default to delete it anyway",
                metadata={"subscription_id": str(live)},
            ) from error
        response = bl.DeletePaymentMethodResponse()
        if answer.HasField("default_payment_method"):
            response.default_payment_method.CopyFrom(proto.payment_method(answer.default_payment_method))
        return response

    async def _live_subscription(self, customer_id: str) -> str | None:
        """The id of one of the customer's subscriptions that is not expired, if any."""
        token = ""
        while True:
            answer = await self.peers.lifecycle.ListSubscriptions(
                lc.ListSubscriptionsRequest(customer_id=customer_id, page_size=MAX_PAGE_SIZE, page_token=token)
            )
            for subscription in answer.subscriptions:
                if subscription.state != subscription_state_pb2.SUBSCRIPTION_STATE_EXPIRED:
                    return subscription.id
            token = answer.next_page_token
            if not token:
                return None

    async def grant_credit(self, caller: Caller, request: bl.GrantCreditRequest) -> bl.GrantCreditResponse:
        authorize(caller.principal, Permission.ISSUE_CREDITS)
        require_mutation(request, "customer_id", "amount")
        if request.amount.amount_minor <= 0:
            raise InvalidArgument.field("amount.amount_minor", "must be positive")
        if not request.amount.currency_code:
            raise InvalidArgument.field("amount.currency_code", "is required")
        _currency_code("amount.currency_code", request.amount.currency_code)
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.payments.GrantCredit(
            pay.GrantCreditRequest(
                request_id=request.request_id,
                customer_id=request.customer_id,
                amount=request.amount,
                reason=request.reason,
            )
        )
        return bl.GrantCreditResponse(balance=proto.credit_balance(answer.balance))

    async def list_credit_balances(
        self, caller: Caller, request: bl.ListCreditBalancesRequest
    ) -> bl.ListCreditBalancesResponse:
        authorize(caller.principal, Permission.READ_CREDITS, customer_id=request.customer_id)
        wanted = Filter.parse(request.filter, {"currency_code": EQUALITY})
        currency = _currency_code("filter", wanted.value("currency_code") or "")
        order = Ordering.parse(request.order_by, ["currency_code"], "currency_code")
        paging = PageRequest.of(request, "credit_balances", request.customer_id, wanted.canonical(), order.text)
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        # NOTE: a customer has a balance per currency it had credit in: few, paged here.
        answer = await self.peers.payments.ListCreditBalances(
            pay.ListCreditBalancesRequest(customer_id=request.customer_id)
        )
        balances = [b for b in answer.balances if currency in ("", b.balance.currency_code)]
        page = page_in_order(balances, order, _BALANCE_KEYS, lambda b: b.balance.currency_code, paging)
        return bl.ListCreditBalancesResponse(
            balances=[proto.credit_balance(b) for b in page.items], next_page_token=page.next_page_token
        )

    async def list_credit_movements(
        self, caller: Caller, request: bl.ListCreditMovementsRequest
    ) -> bl.ListCreditMovementsResponse:
        authorize(caller.principal, Permission.READ_CREDITS, customer_id=request.customer_id)
        wanted = Filter.parse(request.filter, _MOVEMENT_FILTER)
        if Ordering.parse(request.order_by, ["create_time"], _NEWEST_FIRST).text != _NEWEST_FIRST:
            raise InvalidArgument.field("order_by", f"movements are listed {_NEWEST_FIRST!r} only")
        kind = pay.CREDIT_MOVEMENT_KIND_UNSPECIFIED
        if (named := wanted.value("kind")) is not None:
            names = [n.removeprefix("CREDIT_MOVEMENT_KIND_") for n in bl.CreditMovementKind.keys()[1:]]
            bare = _enum_value("kind", named, "CREDIT_MOVEMENT_KIND_", names)
            kind = proto.credit_movement_kind(bl.CreditMovementKind.Value(f"CREDIT_MOVEMENT_KIND_{bare}"))
        currency = _currency_code("filter", wanted.value("currency_code") or "")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.payments.ListCreditMovements(
            pay.ListCreditMovementsRequest(
                customer_id=request.customer_id,
                currency_code=currency,
                kind=kind,
                page_size=page_size(request.page_size),
                page_token=request.page_token,
            )
        )
        return bl.ListCreditMovementsResponse(
            movements=[proto.credit_movement(m) for m in answer.movements], next_page_token=answer.next_page_token
        )

    async def void_charge(self, caller: Caller, request: bl.VoidChargeRequest) -> bl.VoidChargeResponse:
        authorize(caller.principal, Permission.REFUND_CHARGE, amount_minor=0)
        require_mutation(request, "charge_id")
        charge = (await self.peers.payments.GetCharge(pay.GetChargeRequest(charge_id=request.charge_id))).charge
        # NOTE: a void gives the whole charge back, so it is authorized as a full refund: operators and
        # managers within the tenant's refund limit, above it admins.
        authorize(
            caller.principal,
            Permission.REFUND_CHARGE,
            amount_minor=charge.gross.amount_minor - charge.refunded.amount_minor,
            operator_refund_limit_minor=caller.tenant.operator_refund_limit_minor,
        )
        answer = await self.peers.payments.VoidCharge(
            pay.VoidChargeRequest(request_id=request.request_id, charge_id=request.charge_id, reason=request.reason)
        )
        return bl.VoidChargeResponse(charge=proto.charge(answer.charge))

    async def get_revenue_report(
        self, caller: Caller, request: bl.GetRevenueReportRequest
    ) -> bl.GetRevenueReportResponse:
        authorize(caller.principal, Permission.READ_REVENUE_REPORTS)
        currency = _currency_code("currency_code", request.currency_code)
        group_by = [proto.revenue_dimension(d) for d in request.group_by]
        if request.storefront_id and pay.REVENUE_DIMENSION_STOREFRONT not in group_by:
            group_by.append(pay.REVENUE_DIMENSION_STOREFRONT)
        answer = await self.peers.payments.GetRevenueReport(
            pay.GetRevenueReportRequest(period_from=request.period_from, period_to=request.period_to, group_by=group_by)
        )
        rows = [
            row
            for row in answer.rows
            if (not currency or row.gross_sales.currency_code == currency)
            and (not request.storefront_id or row.storefront_id == request.storefront_id)
        ]
        return bl.GetRevenueReportResponse(rows=[proto.revenue_row(row) for row in rows])

    async def get_ledger_balance(
        self, caller: Caller, request: bl.GetLedgerBalanceRequest
    ) -> bl.GetLedgerBalanceResponse:
        authorize(caller.principal, Permission.READ_REVENUE_REPORTS)
        currency = _currency_code("currency_code", request.currency_code)
        answer = await self.peers.payments.GetLedgerBalance(pay.GetLedgerBalanceRequest(currency_code=currency))
        return bl.GetLedgerBalanceResponse(currencies=[proto.ledger_currency_balance(c) for c in answer.currencies])

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
