"""BillingService through the gateway, REST and gRPC: payment methods, credit, voids, the revenue report and
the ledger, ListCharges' filter and order, and who may call each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from azotte.common.v1 import money_pb2
from azotte.gateway.v1 import billing_pb2 as bl
from azotte.gateway.v1 import billing_pb2_grpc, gateway_pb2_grpc
from azotte.gateway.v1 import gateway_pb2 as gw
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually


def rid() -> str:
    return uuid.uuid4().hex


def bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


class Grpc:
    """The gateway's BillingService and GatewayService with one tenant's admin key."""

    def __init__(self, channel: grpc.aio.Channel, key: str):
        self.billing = billing_pb2_grpc.BillingServiceStub(channel)
        self.gateway = gateway_pb2_grpc.GatewayServiceStub(channel)
        self.metadata = bearer(key)

    async def call(self, method: str, request: Any, *, key: str | None = None) -> Any:
        stub = self.billing if hasattr(self.billing, method) else self.gateway
        return await getattr(stub, method)(request, metadata=bearer(key) if key else self.metadata)

    async def refused(self, method: str, request: Any) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await self.call(method, request)
        return error.value


@pytest.fixture
async def rpc(suite: RunningSuite, tenant: TenantApi) -> AsyncIterator[Grpc]:
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        yield Grpc(channel, tenant.key)


async def checkout(tenant: TenantApi, customer: str, plan: str = "basic_monthly", storefront: str = "us") -> Any:
    answer = await tenant.checkout(customer, plan=plan, storefront=storefront)
    assert answer.status_code == 200, answer.text
    return answer.json()


def reason_of(error: Any) -> str:
    return str(next(d["reason"] for d in error["details"] if "reason" in d))


# --- payment methods -------------------------------------------------------------------------------


async def test_payment_methods_are_listed_made_default_and_deleted(tenant: TenantApi, rpc: Grpc) -> None:
    customer = await tenant.customer()
    await checkout(tenant, customer)  # the checkout's card is the first method
    path = f"/v1/customers/{customer}/payment-methods"
    second = await tenant.ok("POST", path, json={"request_id": rid(), "payment_method_token": "tok_success"})
    first, second_id = None, second["payment_method"]["id"]

    listed = (await tenant.ok("GET", path))["payment_methods"]
    assert [m["is_default"] for m in listed] == [False, True] and listed[1]["id"] == second_id
    first = listed[0]["id"]
    made = await tenant.ok("POST", f"{path}/{first}:set-default", json={"request_id": rid()})
    assert made["payment_method"] == {**listed[0], "is_default": True}
    by_grpc = await rpc.call("ListPaymentMethods", bl.ListPaymentMethodsRequest(customer_id=customer))
    assert [(m.id, m.is_default) for m in by_grpc.payment_methods] == [(first, True), (second_id, False)]
    made = await rpc.call(
        "SetDefaultPaymentMethod",
        bl.SetDefaultPaymentMethodRequest(request_id=rid(), customer_id=customer, payment_method_id=second_id),
    )
    assert made.payment_method.is_default

    # NOTE: deleting one of two methods is fine; the last one of a live subscription needs saying so.
    deleted = await tenant.ok("DELETE", f"{path}/{second_id}", params={"request_id": rid()})
    assert deleted["default_payment_method"]["id"] == first
    kept = await tenant.call("DELETE", f"{path}/{first}", params={"request_id": rid()})
    assert kept.status_code == 409 and reason_of(kept.json()["error"]) == "LAST_PAYMENT_METHOD_OF_LIVE_SUBSCRIPTION"
    refused = await rpc.refused(
        "DeletePaymentMethod",
        bl.DeletePaymentMethodRequest(request_id=rid(), customer_id=customer, payment_method_id=first),
    )
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "allow_without_default" in (refused.details() or "")
    request = bl.DeletePaymentMethodRequest(
        request_id=rid(), customer_id=customer, payment_method_id=first, allow_without_default=True
    )
    gone = await rpc.call("DeletePaymentMethod", request)
    assert not gone.HasField("default_payment_method")
    assert await rpc.call("DeletePaymentMethod", request) == gone  # a retry answers the first answer
    assert (await tenant.ok("GET", path))["payment_methods"] == []


async def test_a_customer_without_a_live_subscription_may_lose_its_last_method(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    path = f"/v1/customers/{customer}/payment-methods"
    added = await tenant.ok("POST", path, json={"request_id": rid(), "payment_method_token": "tok_success"})
    deleted = await tenant.ok("DELETE", f"{path}/{added['payment_method']['id']}", params={"request_id": rid()})
    assert "default_payment_method" not in deleted


# --- credit ----------------------------------------------------------------------------------------


async def test_granted_credit_is_spent_by_the_next_checkout(tenant: TenantApi, rpc: Grpc) -> None:
    customer = await tenant.customer()
    body = {"request_id": rid(), "amount": {"currency_code": "USD", "amount_minor": 300}, "reason": "outage"}
    granted = await tenant.ok("POST", f"/v1/customers/{customer}/credits:grant", json=body)
    assert granted["balance"]["balance"] == {"currency_code": "USD", "amount_minor": "300"}
    assert await tenant.ok("POST", f"/v1/customers/{customer}/credits:grant", json=body) == granted
    request = bl.GrantCreditRequest(
        request_id=rid(), customer_id=customer, amount=money_pb2.Money(currency_code="USD", amount_minor=200)
    )
    assert (await rpc.call("GrantCredit", request)).balance.balance.amount_minor == 500

    charge = (await checkout(tenant, customer))["charge"]  # basic_monthly: 6.99 USD and more
    assert int(charge["gross"]["amount_minor"]) > 500

    balances = (await tenant.ok("GET", f"/v1/customers/{customer}/credits"))["balances"]
    assert balances == [{"customer_id": customer, "balance": {"currency_code": "USD", "amount_minor": "0"}}]
    movements = (await tenant.ok("GET", f"/v1/customers/{customer}/credit-movements"))["movements"]
    assert [(m["kind"], m["amount"]["amount_minor"], m["balance_after"]["amount_minor"]) for m in movements] == [
        ("CREDIT_MOVEMENT_KIND_SPEND", "-500", "0"),
        ("CREDIT_MOVEMENT_KIND_GRANT", "200", "500"),
        ("CREDIT_MOVEMENT_KIND_GRANT", "300", "300"),
    ]
    assert movements[0]["charge_id"] == charge["id"] and movements[2]["reason"] == "outage"
    grants = await rpc.call(
        "ListCreditMovements",
        bl.ListCreditMovementsRequest(customer_id=customer, filter="kind = GRANT AND currency_code = USD", page_size=1),
    )
    following = await rpc.call(
        "ListCreditMovements",
        bl.ListCreditMovementsRequest(
            customer_id=customer, filter="kind = GRANT AND currency_code = USD", page_token=grants.next_page_token
        ),
    )
    assert [m.amount.amount_minor for m in (*grants.movements, *following.movements)] == [200, 300]
    assert (await rpc.call("ListCreditBalances", bl.ListCreditBalancesRequest(customer_id=customer))).balances[
        0
    ].balance.amount_minor == 0
    bad = await tenant.call("GET", f"/v1/customers/{customer}/credit-movements", params={"filter": "kind = BONUS"})
    assert bad.status_code == 400 and bad.json()["error"]["details"][1]["field_violations"][0]["field"] == "filter"


async def test_credit_granted_after_the_checkout_pays_the_renewal_first(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()  # a clock of its own
    customer = await tenant.customer()
    await checkout(tenant, customer)
    body = {"request_id": rid(), "amount": {"currency_code": "USD", "amount_minor": 250}}
    await tenant.ok("POST", f"/v1/customers/{customer}/credits:grant", json=body)
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_days": 31})

    async def renewal_spent() -> list[Any]:
        listed = await tenant.ok("GET", f"/v1/customers/{customer}/credit-movements", params={"filter": "kind = SPEND"})
        return list(listed["movements"])

    [spent] = await eventually(renewal_spent)
    charges = (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"]
    assert len(charges) == 2 and spent["charge_id"] == charges[0]["id"]  # the renewal, newest first
    assert (spent["amount"]["amount_minor"], spent["balance_after"]["amount_minor"]) == ("-250", "0")


# --- voids and charges ------------------------------------------------------------------------------


async def test_a_charge_is_voided_once_through_rest_or_grpc(tenant: TenantApi, rpc: Grpc) -> None:
    first = (await checkout(tenant, await tenant.customer()))["charge"]
    second = (await checkout(tenant, await tenant.customer()))["charge"]
    body = {"request_id": rid(), "reason": "duplicate order"}
    voided = await tenant.ok("POST", f"/v1/charges/{first['id']}:void", json=body)
    assert voided["charge"]["state"] == "CHARGE_STATE_VOIDED"
    assert await tenant.ok("POST", f"/v1/charges/{first['id']}:void", json=body) == voided
    again = await tenant.call("POST", f"/v1/charges/{first['id']}:void", json={"request_id": rid()})
    assert again.status_code == 409
    by_grpc = await rpc.call("VoidCharge", bl.VoidChargeRequest(request_id=rid(), charge_id=second["id"]))
    assert by_grpc.charge.state == gw.CHARGE_STATE_VOIDED


async def test_an_operator_voids_only_within_the_refund_limit(tenant: TenantApi) -> None:
    operator = await tenant.new_key("operator")
    annual = (await checkout(tenant, await tenant.customer(), plan="premium_annual"))["charge"]  # 179.00 USD
    refused = await tenant.call("POST", f"/v1/charges/{annual['id']}:void", json={"request_id": rid()}, key=operator)
    assert refused.status_code == 403 and reason_of(refused.json()["error"]) == "REFUND_LIMIT_EXCEEDED"
    small = (await checkout(tenant, await tenant.customer()))["charge"]
    voided = await tenant.call("POST", f"/v1/charges/{small['id']}:void", json={"request_id": rid()}, key=operator)
    assert voided.status_code == 200, voided.text


async def test_charges_are_listed_by_filter_and_order(tenant: TenantApi, rpc: Grpc) -> None:
    customer = await tenant.customer()
    bought = await checkout(tenant, customer)
    first, subscription = bought["charge"]["id"], bought["subscription"]["id"]
    await tenant.ok("POST", f"/v1/charges/{first}:refund", json={"request_id": rid()})
    cancel = {"request_id": rid(), "timing": "immediately"}
    await tenant.ok("POST", f"/v1/subscriptions/{subscription}:cancel", json=cancel)
    second = (await checkout(tenant, customer, plan="family_monthly"))["charge"]["id"]

    async def ids(**params: str) -> list[str]:
        listed = await tenant.ok("GET", f"/v1/customers/{customer}/charges", params=params)
        return [c["id"] for c in listed["charges"]]

    assert await ids() == [second, first]
    assert await ids(order_by="create_time") == [first, second]
    assert await ids(filter="state = SUCCEEDED") == [second]
    assert await ids(filter=f'subscription_id = "{subscription}" AND state = REFUNDED') == [first]
    assert await ids(subscription_id=subscription) == [first]  # the deprecated parameter still works
    answer = await rpc.call(
        "ListCharges", gw.ListChargesRequest(customer_id=customer, filter="state = CHARGE_STATE_REFUNDED")
    )
    assert [c.id for c in answer.charges] == [first]
    paged = await rpc.call(
        "ListCharges", gw.ListChargesRequest(customer_id=customer, order_by="create_time", page_size=1)
    )
    refused = await rpc.refused(
        "ListCharges", gw.ListChargesRequest(customer_id=customer, page_token=paged.next_page_token)
    )
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad = await tenant.call("GET", f"/v1/customers/{customer}/charges", params={"order_by": "gross"})
    assert bad.status_code == 400 and bad.json()["error"]["details"][1]["field_violations"][0]["field"] == "order_by"


# --- revenue report and ledger ----------------------------------------------------------------------


async def test_the_revenue_report_and_the_ledger(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()  # books of its own
    us = (await checkout(tenant, await tenant.customer()))["charge"]
    de = (await checkout(tenant, await tenant.customer("DE"), storefront="de"))["charge"]
    month = us["create_time"][:7]
    params: dict[str, Any] = {"period_from": month, "period_to": month, "group_by": ["storefront"]}
    rows = (await tenant.ok("GET", "/v1/revenue-report", params=params))["rows"]
    by_storefront = {r["storefront_id"]: r for r in rows}
    assert set(by_storefront) == {"us", "de"}
    assert by_storefront["us"]["gross_sales"] == us["net"] and by_storefront["de"]["gross_sales"] == de["net"]
    only_eur = (await tenant.ok("GET", "/v1/revenue-report", params={**params, "currency_code": "EUR"}))["rows"]
    assert [r["storefront_id"] for r in only_eur] == ["de"]
    bad = await tenant.call("GET", "/v1/revenue-report", params={"period_from": "2026-13", "period_to": month})
    assert bad.status_code == 400 and "period_from" in bad.text

    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        rpc = Grpc(channel, tenant.key)
        report = await rpc.call(
            "GetRevenueReport", bl.GetRevenueReportRequest(period_from=month, period_to=month, storefront_id="us")
        )
        assert [(r.storefront_id, r.gross_sales.currency_code) for r in report.rows] == [("us", "USD")]
        ledger = await rpc.call("GetLedgerBalance", bl.GetLedgerBalanceRequest())
    assert {c.currency_code: c.total_minor for c in ledger.currencies} == {"EUR": 0, "USD": 0}
    usd = (await tenant.ok("GET", "/v1/ledger/balance", params={"currency_code": "USD"}))["currencies"]
    accounts = {a["account"]: int(a["balance"]["amount_minor"]) for a in usd[0]["accounts"]}
    assert accounts["psp_clearing"] == int(us["gross"]["amount_minor"])


# --- who may ----------------------------------------------------------------------------------------

ROLES = ("viewer", "operator", "manager", "admin")


@pytest.fixture(scope="module")
async def keys(tenant: TenantApi) -> dict[str, str]:
    return {role: await tenant.new_key(role) for role in (*ROLES, "publishable")}


@pytest.mark.parametrize(
    ("operation", "lowest"),
    [
        ("list_methods", "viewer"),
        ("set_default", "operator"),
        ("delete_method", "operator"),
        ("grant", "admin"),
        ("balances", "viewer"),
        ("movements", "viewer"),
        ("void", "operator"),
        ("revenue", "admin"),
        ("ledger", "admin"),
    ],
)
async def test_who_may_call_each_billing_operation(
    suite: RunningSuite, tenant: TenantApi, keys: dict[str, str], operation: str, lowest: str
) -> None:
    customer = await tenant.customer()
    charge = (await checkout(tenant, customer))["charge"]["id"]
    method = (await tenant.ok("GET", f"/v1/customers/{customer}/payment-methods"))["payment_methods"][0]["id"]
    calls: dict[str, tuple[str, str, dict[str, dict[str, Any]]]] = {
        "list_methods": ("GET", f"/v1/customers/{customer}/payment-methods", {}),
        "set_default": ("POST", f"/v1/customers/{customer}/payment-methods/{method}:set-default", {"json": {}}),
        "delete_method": ("DELETE", f"/v1/customers/{customer}/payment-methods/pm_missing", {"params": {}}),
        "grant": (
            "POST",
            f"/v1/customers/{customer}/credits:grant",
            {"json": {"amount": {"currency_code": "USD", "amount_minor": 1}}},
        ),
        "balances": ("GET", f"/v1/customers/{customer}/credits", {}),
        "movements": ("GET", f"/v1/customers/{customer}/credit-movements", {}),
        "void": ("POST", f"/v1/charges/{charge}:void", {"json": {}}),
        "revenue": ("GET", "/v1/revenue-report", {"params": {"period_from": "2026-01", "period_to": "2026-12"}}),
        "ledger": ("GET", "/v1/ledger/balance", {}),
    }
    method_name, path, kwargs = calls[operation]

    async def status(key: str) -> int:
        fresh = {
            k: ({**v, "request_id": rid()} if k in ("json", "params") and method_name != "GET" else v)
            for k, v in kwargs.items()
        }
        return (await tenant.call(method_name, path, key=key, **fresh)).status_code

    allowed = ROLES[ROLES.index(lowest) :]
    for role in ROLES:
        answered = await status(keys[role])
        assert (answered != 403) == (role in allowed), f"{role}: {answered}"
        assert answered < 500
    assert await status(keys["publishable"]) == 403
    if operation not in ("revenue", "ledger"):
        other = await suite.new_tenant(with_catalog=False)
        assert await status(other.key) == 404  # another tenant's customer or charge is unknown
