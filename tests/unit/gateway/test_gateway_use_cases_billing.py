"""BillingService and ListCharges over fakes: who may, what reaches payments, and the last-method guard."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from azotte.common.v1 import money_pb2, subscription_state_pb2
from azotte.gateway.v1 import billing_pb2 as bl
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.errors import (
    CustomerScopeViolation,
    LastPaymentMethodOfLiveSubscription,
    RefundLimitExceeded,
    RolePermissionMissing,
)
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform import convert
from azotte_platform.context import require_tenant
from azotte_platform.errors import InvalidArgument, LastPaymentMethod, NotFound
from tests.unit.gateway.fakes import TENANT, FakeLifecycle, FakePayments, FakeSuite, caller

OTHER = Tenant("other-co", "Other", TenantMode.SANDBOX)
CUSTOMER = "cus_own"


class BillingPayments(FakePayments):
    """Payment methods per customer, and the last request of each BillingService call."""

    def __init__(self) -> None:
        super().__init__(itertools.count(100))
        self.methods: dict[tuple[str, str], list[pay.PaymentMethod]] = {}
        self.asked: dict[str, Any] = {}

    def _of(self, customer_id: str) -> list[pay.PaymentMethod]:
        return self.methods.setdefault((require_tenant(), customer_id), [])

    async def ListPaymentMethods(self, request: pay.ListPaymentMethodsRequest) -> pay.ListPaymentMethodsResponse:
        self.asked["ListPaymentMethods"] = request
        methods = self._of(request.customer_id)
        size = request.page_size or 50
        return pay.ListPaymentMethodsResponse(
            payment_methods=methods[:size], next_page_token="more" if len(methods) > size else ""
        )

    async def SetDefaultPaymentMethod(
        self, request: pay.SetDefaultPaymentMethodRequest
    ) -> pay.SetDefaultPaymentMethodResponse:
        chosen = next(m for m in self._of(request.customer_id) if m.id == request.payment_method_id)
        for method in self._of(request.customer_id):
            method.is_default = method is chosen
        return pay.SetDefaultPaymentMethodResponse(payment_method=chosen)

    async def DeletePaymentMethod(self, request: pay.DeletePaymentMethodRequest) -> pay.DeletePaymentMethodResponse:
        methods = self._of(request.customer_id)
        if request.keep_last and [m.id for m in methods] == [request.payment_method_id]:
            raise LastPaymentMethod("the last method")
        methods[:] = [m for m in methods if m.id != request.payment_method_id]
        return pay.DeletePaymentMethodResponse(default_payment_method=methods[-1] if methods else None)

    async def GrantCredit(self, request: pay.GrantCreditRequest) -> pay.GrantCreditResponse:
        self.asked["GrantCredit"] = request
        return pay.GrantCreditResponse(
            balance=pay.CreditBalance(customer_id=request.customer_id, balance=request.amount)
        )

    async def ListCreditBalances(self, request: pay.ListCreditBalancesRequest) -> pay.ListCreditBalancesResponse:
        return pay.ListCreditBalancesResponse(
            balances=[
                pay.CreditBalance(customer_id=request.customer_id, balance=convert.money(amount, currency))
                for currency, amount in (("CHF", 100), ("EUR", 200), ("USD", 0))
            ]
        )

    async def ListCreditMovements(self, request: pay.ListCreditMovementsRequest) -> pay.ListCreditMovementsResponse:
        self.asked["ListCreditMovements"] = request
        return pay.ListCreditMovementsResponse()

    async def ListCharges(self, request: pay.ListChargesRequest) -> pay.ListChargesResponse:
        self.asked["ListCharges"] = request
        return pay.ListChargesResponse()

    async def GetCharge(self, request: pay.GetChargeRequest) -> pay.GetChargeResponse:
        return pay.GetChargeResponse(charge=self._find(request.charge_id))

    async def GetRevenueReport(self, request: pay.GetRevenueReportRequest) -> pay.GetRevenueReportResponse:
        self.asked["GetRevenueReport"] = request
        return pay.GetRevenueReportResponse(
            rows=[
                pay.RevenueRow(storefront_id="us", gross_sales=convert.money(900, "USD")),
                pay.RevenueRow(storefront_id="de", gross_sales=convert.money(800, "EUR")),
                pay.RevenueRow(storefront_id="us2", gross_sales=convert.money(700, "USD")),
            ]
        )


class BillingLifecycle(FakeLifecycle):
    """Lists the subscriptions the fake lifecycle holds."""

    async def ListSubscriptions(self, request: lc.ListSubscriptionsRequest) -> lc.ListSubscriptionsResponse:
        tenant = require_tenant()
        return lc.ListSubscriptionsResponse(
            subscriptions=[
                s for (t, _), s in self.subscriptions.items() if t == tenant and s.customer_id == request.customer_id
            ]
        )


@pytest.fixture
def suite() -> FakeSuite:
    suite = FakeSuite()
    suite.payments = BillingPayments()
    suite.lifecycle = BillingLifecycle(itertools.count(1))
    suite.lifecycle.add_customer(CUSTOMER)
    suite.lifecycle.add_customer("cus_theirs", OTHER.id)
    return suite


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


def payments(suite: FakeSuite) -> BillingPayments:
    assert isinstance(suite.payments, BillingPayments)
    return suite.payments


def give_methods(suite: FakeSuite, *ids: str) -> None:
    payments(suite).methods[(TENANT.id, CUSTOMER)] = [
        pay.PaymentMethod(id=i, customer_id=CUSTOMER, is_default=n == 0) for n, i in enumerate(ids)
    ]


def subscribe(suite: FakeSuite, state: subscription_state_pb2.SubscriptionState.ValueType) -> None:
    suite.lifecycle.subscriptions[(TENANT.id, "sub_1")] = lc.Subscription(id="sub_1", customer_id=CUSTOMER, state=state)


def delete(method: str, *, allow: bool = False) -> bl.DeletePaymentMethodRequest:
    return bl.DeletePaymentMethodRequest(
        request_id="r1", customer_id=CUSTOMER, payment_method_id=method, allow_without_default=allow
    )


async def test_the_last_method_of_a_live_subscription_is_kept_unless_the_caller_says_so(
    suite: FakeSuite, gateway: Gateway
) -> None:
    give_methods(suite, "pm_1")
    subscribe(suite, subscription_state_pb2.SUBSCRIPTION_STATE_PAST_DUE)
    who = caller(Role.OPERATOR)
    with who.scope():
        with pytest.raises(LastPaymentMethodOfLiveSubscription) as refused:
            await gateway.billing.delete_payment_method(who, delete("pm_1"))
        assert refused.value.metadata["subscription_id"] == "sub_1"
        assert [m.id for m in payments(suite).methods[(TENANT.id, CUSTOMER)]] == ["pm_1"]
        answer = await gateway.billing.delete_payment_method(who, delete("pm_1", allow=True))
    assert not answer.HasField("default_payment_method")
    assert payments(suite).methods[(TENANT.id, CUSTOMER)] == []


@pytest.mark.parametrize(
    ("methods", "state"),
    [
        (("pm_1",), subscription_state_pb2.SUBSCRIPTION_STATE_EXPIRED),
        (("pm_1", "pm_2"), subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE),
    ],
)
async def test_a_method_is_deleted_when_nothing_live_depends_on_it_alone(
    suite: FakeSuite, gateway: Gateway, methods: tuple[str, ...], state: Any
) -> None:
    give_methods(suite, *methods)
    subscribe(suite, state)
    who = caller(Role.OPERATOR)
    with who.scope():
        await gateway.billing.delete_payment_method(who, delete("pm_1"))
    assert [m.id for m in payments(suite).methods[(TENANT.id, CUSTOMER)]] == list(methods[1:])


async def test_payment_methods_by_role_and_tenant(suite: FakeSuite, gateway: Gateway) -> None:
    give_methods(suite, "pm_1", "pm_2")
    listing = bl.ListPaymentMethodsRequest(customer_id=CUSTOMER)
    default = bl.SetDefaultPaymentMethodRequest(request_id="r", customer_id=CUSTOMER, payment_method_id="pm_2")
    viewer, operator = caller(Role.VIEWER), caller(Role.OPERATOR)
    with viewer.scope():
        assert len((await gateway.billing.list_payment_methods(viewer, listing)).payment_methods) == 2
        with pytest.raises(RolePermissionMissing):
            await gateway.billing.set_default_payment_method(viewer, default)
    with operator.scope():
        assert (await gateway.billing.set_default_payment_method(operator, default)).payment_method.is_default
    publishable = caller(Role.PUBLISHABLE)
    with publishable.scope(), pytest.raises(RolePermissionMissing):
        await gateway.billing.list_payment_methods(publishable, listing)
    bound = caller(Role.VIEWER)
    bound = type(bound)(bound.principal.acting_for("cus_else"), bound.tenant)
    with bound.scope(), pytest.raises(CustomerScopeViolation):
        await gateway.billing.list_payment_methods(bound, listing)
    foreign = caller(Role.ADMIN, OTHER)
    with foreign.scope(), pytest.raises(NotFound):
        await gateway.billing.list_payment_methods(foreign, listing)


async def test_list_charges_translates_the_filter_and_order(suite: FakeSuite, gateway: Gateway) -> None:
    who = caller(Role.VIEWER)
    request = gw.ListChargesRequest(
        customer_id=CUSTOMER, filter='subscription_id = "sub_1" AND state = REFUNDED', order_by="create_time"
    )
    with who.scope():
        await gateway.billing.list_charges(who, request)
    asked = payments(suite).asked["ListCharges"]
    assert (asked.subscription_id, list(asked.statuses), asked.refunded, asked.oldest_first) == (
        "sub_1",
        [pay.CHARGE_STATUS_SUCCEEDED],
        pay.REFUNDED_FILTER_FULLY,
        True,
    )
    with who.scope():
        await gateway.billing.list_charges(who, gw.ListChargesRequest(customer_id=CUSTOMER, subscription_id="sub_2"))
    assert payments(suite).asked["ListCharges"].subscription_id == "sub_2"
    assert not payments(suite).asked["ListCharges"].oldest_first


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"filter": "state = SETTLED"}, "filter"),
        ({"filter": "amount = 5"}, "filter"),
        ({"filter": "subscription_id = a", "subscription_id": "b"}, "filter"),
        ({"order_by": "gross"}, "order_by"),
    ],
)
async def test_a_bad_charge_filter_or_order_names_its_field(
    gateway: Gateway, fields: dict[str, Any], field: str
) -> None:
    who = caller(Role.VIEWER)
    with who.scope(), pytest.raises(InvalidArgument) as refused:
        await gateway.billing.list_charges(who, gw.ListChargesRequest(customer_id=CUSTOMER, **fields))
    assert refused.value.violations[0].field == field


async def test_a_void_is_authorized_as_a_full_refund_of_the_charge(suite: FakeSuite, gateway: Gateway) -> None:
    admin = caller(Role.ADMIN)
    with admin.scope():
        big = (await suite.payments.CreateCharge(_charge("big", 50_000))).charge
        small = (await suite.payments.CreateCharge(_charge("small", 500))).charge
    operator = caller(Role.OPERATOR)
    with operator.scope():
        with pytest.raises(RefundLimitExceeded):
            await gateway.billing.void_charge(operator, bl.VoidChargeRequest(request_id="v1", charge_id=big.id))
        voided = await gateway.billing.void_charge(operator, bl.VoidChargeRequest(request_id="v2", charge_id=small.id))
    assert voided.charge.state == gw.CHARGE_STATE_VOIDED
    with admin.scope():
        voided = await gateway.billing.void_charge(admin, bl.VoidChargeRequest(request_id="v3", charge_id=big.id))
    assert voided.charge.state == gw.CHARGE_STATE_VOIDED
    viewer, foreign = caller(Role.VIEWER), caller(Role.ADMIN, OTHER)
    with viewer.scope(), pytest.raises(RolePermissionMissing):
        await gateway.billing.void_charge(viewer, bl.VoidChargeRequest(request_id="v4", charge_id=small.id))
    with foreign.scope(), pytest.raises(NotFound):
        await gateway.billing.void_charge(foreign, bl.VoidChargeRequest(request_id="v5", charge_id=small.id))


def _charge(key: str, amount: int) -> pay.CreateChargeRequest:
    return pay.CreateChargeRequest(
        request_id=key, idempotency_key=key, customer_id=CUSTOMER, amount=convert.money(amount, "USD")
    )


async def test_credit_is_granted_by_admins_only_with_a_positive_amount(suite: FakeSuite, gateway: Gateway) -> None:
    amount = money_pb2.Money(currency_code="EUR", amount_minor=500)
    request = bl.GrantCreditRequest(request_id="g1", customer_id=CUSTOMER, amount=amount, reason="outage")
    manager, admin = caller(Role.MANAGER), caller(Role.ADMIN)
    with manager.scope(), pytest.raises(RolePermissionMissing):
        await gateway.billing.grant_credit(manager, request)
    with admin.scope():
        answer = await gateway.billing.grant_credit(admin, request)
        assert answer.balance.balance.amount_minor == 500
        assert payments(suite).asked["GrantCredit"].reason == "outage"
        for bad, field in ((-1, "amount.amount_minor"), (0, "amount.amount_minor")):
            negative = bl.GrantCreditRequest(request_id="g2", customer_id=CUSTOMER, amount=convert.money(bad, "EUR"))
            with pytest.raises(InvalidArgument) as refused:
                await gateway.billing.grant_credit(admin, negative)
            assert refused.value.violations[0].field == field


async def test_credit_movements_filter_by_kind_and_currency(suite: FakeSuite, gateway: Gateway) -> None:
    who = caller(Role.VIEWER)
    with who.scope():
        request = bl.ListCreditMovementsRequest(customer_id=CUSTOMER, filter="kind = SPEND AND currency_code = EUR")
        await gateway.billing.list_credit_movements(who, request)
        asked = payments(suite).asked["ListCreditMovements"]
        assert (asked.kind, asked.currency_code) == (pay.CREDIT_MOVEMENT_KIND_SPEND, "EUR")
        bad: list[dict[str, Any]] = [
            {"filter": "kind = BONUS"},
            {"filter": "currency_code = euro"},
            {"order_by": "create_time"},
        ]
        for fields in bad:
            with pytest.raises(InvalidArgument) as refused:
                await gateway.billing.list_credit_movements(
                    who, bl.ListCreditMovementsRequest(customer_id=CUSTOMER, **fields)
                )
            assert refused.value.violations[0].field in fields


async def test_the_revenue_report_is_for_admins_and_keeps_the_currency_and_storefront_asked(
    suite: FakeSuite, gateway: Gateway
) -> None:
    request = bl.GetRevenueReportRequest(
        period_from="2026-01", period_to="2026-03", currency_code="USD", storefront_id="us"
    )
    manager, admin = caller(Role.MANAGER), caller(Role.ADMIN)
    with manager.scope(), pytest.raises(RolePermissionMissing):
        await gateway.billing.get_revenue_report(manager, request)
    with admin.scope():
        answer = await gateway.billing.get_revenue_report(admin, request)
        assert [row.storefront_id for row in answer.rows] == ["us"]
        assert list(payments(suite).asked["GetRevenueReport"].group_by) == [pay.REVENUE_DIMENSION_STOREFRONT]
        with pytest.raises(InvalidArgument) as refused:
            await gateway.billing.get_revenue_report(
                admin, bl.GetRevenueReportRequest(group_by=[bl.RevenueDimension.ValueType(99)])
            )
        assert refused.value.violations[0].field == "group_by"


async def test_payment_methods_filter_by_type_and_default_and_list_newest_first(
    suite: FakeSuite, gateway: Gateway
) -> None:
    who = caller(Role.VIEWER)
    request = bl.ListPaymentMethodsRequest(
        customer_id=CUSTOMER, filter="type = CARD AND is_default = false", order_by="create_time desc"
    )
    with who.scope():
        await gateway.billing.list_payment_methods(who, request)
        asked = payments(suite).asked["ListPaymentMethods"]
        assert (asked.type, asked.HasField("is_default"), asked.is_default, asked.newest_first) == (
            pay.PAYMENT_METHOD_TYPE_CARD,
            True,
            False,
            True,
        )
        await gateway.billing.list_payment_methods(who, bl.ListPaymentMethodsRequest(customer_id=CUSTOMER))
        asked = payments(suite).asked["ListPaymentMethods"]
        assert (asked.type, asked.HasField("is_default"), asked.newest_first) == (
            pay.PAYMENT_METHOD_TYPE_UNSPECIFIED,
            False,
            False,
        )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"filter": "type = CASH"}, "filter"),
        ({"filter": "is_default = yes"}, "filter"),
        ({"filter": "brand = visa"}, "filter"),
        ({"order_by": "last4"}, "order_by"),
    ],
)
async def test_a_bad_payment_method_filter_or_order_names_its_field(
    gateway: Gateway, fields: dict[str, Any], field: str
) -> None:
    who = caller(Role.VIEWER)
    with who.scope(), pytest.raises(InvalidArgument) as refused:
        await gateway.billing.list_payment_methods(who, bl.ListPaymentMethodsRequest(customer_id=CUSTOMER, **fields))
    assert refused.value.violations[0].field == field


async def test_credit_balances_filter_order_and_pages_bound_to_the_query(gateway: Gateway) -> None:
    who = caller(Role.VIEWER)

    async def listed(**fields: Any) -> tuple[list[str], str]:
        answer = await gateway.billing.list_credit_balances(
            who, bl.ListCreditBalancesRequest(customer_id=CUSTOMER, **fields)
        )
        return [b.balance.currency_code for b in answer.balances], answer.next_page_token

    with who.scope():
        assert await listed() == (["CHF", "EUR", "USD"], "")
        assert await listed(filter="currency_code = EUR") == (["EUR"], "")
        first, token = await listed(order_by="currency_code desc", page_size=2)
        assert first == ["USD", "EUR"]
        assert await listed(order_by="currency_code desc", page_size=2, page_token=token) == (["CHF"], "")
        bad: list[dict[str, Any]] = [
            {"filter": "currency_code = euro"},
            {"filter": "amount = 5"},
            {"order_by": "balance"},
            {"filter": "currency_code = USD", "order_by": "currency_code desc", "page_token": token},
        ]
        for fields in bad:
            with pytest.raises(InvalidArgument) as refused:
                await listed(**fields)
            named = refused.value.violations[0].field
            assert named == ("page_token" if "page_token" in fields else next(iter(fields)))
