"""Telecom carrier billing end to end in payments: a tenant's carrier account (sealed credentials) routed to by
payment method type, charged through the sandbox carrier in one or two steps, its signed notifications settling
what the carrier decided later, a denial following dunning, and forged notifications refused."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from azotte.catalog.v1 import catalog_pb2
from azotte.payments.v1 import payments_pb2 as P
from azotte.payments.v1 import psp_accounts_pb2 as A
from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.policy import LifecyclePolicy
from azotte_lifecycle.ports import RenewalChargeRequest
from azotte_payments.adapters.psp.carrier_notifications import sign
from azotte_payments.sandbox_psp import carrier_api
from azotte_platform.context import tenant_scope
from azotte_platform.enums import SubscriptionState
from azotte_platform.grpc.client import connect
from tests.helpers import eventually
from tests.integration.payments.payments_harness import (
    START,
    Payments,
    charge_request,
    lifecycle_subscription,
    payments_service,
    serving,
    storefront,
)

KEKS = f"k1:{base64.b64encode(b'c' * 32).decode()}"
ACCOUNT = "carrier-es"


@dataclass
class Notifications:
    """Stands in for the gateway's carrier route: forwards what the carrier posts to ReceivePspWebhook."""

    payments: Payments | None = None
    answers: list[int] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        assert self.payments is not None
        try:
            await self.payments.call(
                request.path_params["tenant"],
                "ReceivePspWebhook",
                A.ReceivePspWebhookRequest(
                    account_id=request.path_params["account"],
                    payload=await request.body(),
                    signature=request.headers.get("x-carrier-signature", ""),
                ),
            )
        except grpc.aio.AioRpcError:
            self.answers.append(401)
            return Response(status_code=401)
        self.answers.append(204)
        return Response(status_code=204)


@dataclass
class Setup:
    payments: Payments
    carrier_url: str
    notifications: Notifications
    notifications_url: str


@pytest.fixture(scope="module")
async def setup(servers: Any, sandbox_psps: Any) -> AsyncIterator[Setup]:
    notifications = Notifications()
    receiver = Starlette(routes=[Route("/{tenant}/{account}", notifications.receive, methods=["POST"])])
    async with (
        serving(carrier_api.create_app()) as carrier_url,
        serving(receiver) as notifications_url,
        payments_service(servers, sandbox_psps, carrier_sandbox_url=carrier_url, payments_keks=KEKS) as payments,
    ):
        notifications.payments = payments
        yield Setup(payments, carrier_url, notifications, notifications_url)


@dataclass
class CarrierTenant:
    """A tenant whose storefront `de` sends carrier billing to its carrier account and cards to stripe_like."""

    tenant: str
    api_key: str
    secret: str
    setup: Setup

    async def subscriber(self, number: str) -> str:
        customer = f"cus_{uuid.uuid4().hex[:10]}"
        await self.setup.payments.call(
            self.tenant,
            "CreatePaymentMethod",
            P.CreatePaymentMethodRequest(
                request_id=uuid.uuid4().hex,
                customer_id=customer,
                type=P.PAYMENT_METHOD_TYPE_CARRIER_BILLING,
                token=f"tel:{number}",
            ),
        )
        return customer

    async def charge(self, customer: str, key: str | None = None, **fields: Any) -> P.Charge:
        answer: P.CreateChargeResponse = await self.setup.payments.call(
            self.tenant, "CreateCharge", charge_request(customer, 499, key=key, **fields)
        )
        return answer.charge

    async def get(self, charge_id: str) -> P.Charge:
        request = P.GetChargeRequest(charge_id=charge_id)
        answer: P.GetChargeResponse = await self.setup.payments.call(self.tenant, "GetCharge", request)
        return answer.charge

    async def at_carrier(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        async with httpx.AsyncClient(base_url=self.setup.carrier_url, headers=headers) as http:
            return await http.request(method, path, **options)


async def carrier_tenant(setup: Setup, flow: str) -> CarrierTenant:
    tenant, api_key = f"t{uuid.uuid4().hex[:12]}", f"cb_{uuid.uuid4().hex}"
    # NOTE: as in the carrier's merchant portal: the tenant registers Azotte's URL and copies the signing secret.
    async with httpx.AsyncClient(base_url=setup.carrier_url) as http:
        registered = await http.post(
            "/_sandbox/notification-endpoints",
            json={"url": f"{setup.notifications_url}/{tenant}/{ACCOUNT}"},
            headers={"Authorization": f"Bearer {api_key}"},
        )
    secret = registered.json()["secret"]
    credentials = {"carrier": "sandbox", "api_key": api_key, "notification_secret": secret, "flow": flow}
    await setup.payments.call(
        tenant,
        "CreatePspAccount",
        A.CreatePspAccountRequest(
            request_id=uuid.uuid4().hex,
            account=A.PspAccount(account_id=ACCOUNT, kind=A.PSP_KIND_CARRIER, mode=A.PSP_MODE_SANDBOX),
            credentials=credentials,
        ),
    )
    routed = storefront()
    carrier_rule = catalog_pb2.RoutingRule(
        psps=[ACCOUNT], condition=catalog_pb2.RoutingCondition(payment_method_types=["carrier_billing"])
    )
    routed.payment_routing.rules.insert(0, carrier_rule)
    setup.payments.catalog.storefronts[(tenant, "de")] = routed
    return CarrierTenant(tenant, api_key, secret, setup)


async def test_a_one_step_payment_puts_the_amount_on_the_phone_bill(setup: Setup) -> None:
    tenant = await carrier_tenant(setup, "one_step")
    charge = await tenant.charge(await tenant.subscriber("+34600000000"))

    assert (charge.status, charge.psp, charge.outcome) == (
        P.CHARGE_STATUS_SUCCEEDED,
        ACCOUNT,
        P.DECLINE_OUTCOME_APPROVED,
    )
    payment = (await tenant.at_carrier("GET", f"/carrier-billing/v0.4/payments/{charge.psp_reference}")).json()
    assert payment["paymentStatus"] == "succeeded"
    assert payment["amountTransaction"]["paymentAmount"]["chargingInformation"]["amount"] == "4.99"
    assert payment["amountTransaction"]["phoneNumber"] == "+34600000000"
    card_customer = await setup.payments.add_customer(tenant.tenant)
    assert (await tenant.charge(card_customer)).psp == "stripe_like"  # cards keep their PSP


async def test_a_voided_carrier_charge_is_paid_back_in_full(setup: Setup) -> None:
    tenant = await carrier_tenant(setup, "one_step")
    charge = await tenant.charge(await tenant.subscriber("+34600000030"))
    voided = await setup.payments.call(
        tenant.tenant, "VoidCharge", P.VoidChargeRequest(request_id=uuid.uuid4().hex, charge_id=charge.id)
    )
    assert voided.charge.status == P.CHARGE_STATUS_VOIDED
    ledger = await setup.payments.ledger(tenant.tenant, "EUR")
    accounts = {a.account: a.balance.amount_minor for c in ledger.currencies for a in c.accounts}
    assert accounts.get("psp_clearing", 0) == 0


async def test_a_two_step_payment_is_reserved_then_confirmed(setup: Setup) -> None:
    tenant = await carrier_tenant(setup, "two_step")
    customer = await tenant.subscriber("+34600000010")
    charge = await tenant.charge(customer, key="renewal:sub_1:1:0")
    again = await tenant.charge(customer, key="renewal:sub_1:1:0")

    assert (charge.status, again.id) == (P.CHARGE_STATUS_SUCCEEDED, charge.id)
    payment = (await tenant.at_carrier("GET", f"/carrier-billing/v0.4/payments/{charge.psp_reference}")).json()
    assert payment["paymentStatus"] == "succeeded"
    refund = await setup.payments.call(
        tenant.tenant, "RefundCharge", P.RefundChargeRequest(request_id=uuid.uuid4().hex, charge_id=charge.id)
    )
    assert refund.refund.psp_reference.startswith("ref_")


async def test_a_payment_pending_validation_succeeds_once_the_subscriber_validates(setup: Setup) -> None:
    tenant = await carrier_tenant(setup, "two_step")
    customer = await tenant.subscriber("+34600000002")
    charge = await tenant.charge(customer, key="renewal:sub_2:1:0", subscription_id="sub_2", period_key="1")
    assert (charge.status, charge.decline.reason) == (P.CHARGE_STATUS_UNKNOWN, "AWAITING_PSP")
    payment_id = charge.attempts[0].psp_reference

    validated = await tenant.at_carrier(
        "POST", f"/carrier-billing/v0.4/payments/{payment_id}/validate", json={"code": "0000"}
    )
    assert validated.json()["paymentStatus"] == "reserved"

    settled = await eventually(lambda: _with_status(tenant, charge.id, P.CHARGE_STATUS_SUCCEEDED))
    assert settled.psp_reference == payment_id
    assert (
        await tenant.charge(customer, key="renewal:sub_2:1:0", subscription_id="sub_2", period_key="1")
    ).id == charge.id
    payment = (await tenant.at_carrier("GET", f"/carrier-billing/v0.4/payments/{payment_id}")).json()
    assert payment["paymentStatus"] == "succeeded"
    ledger = await setup.payments.ledger(tenant.tenant, "EUR")
    accounts = {a.account: a.balance.amount_minor for c in ledger.currencies for a in c.accounts}
    assert accounts["psp_clearing"] == 499


async def _with_status(tenant: CarrierTenant, charge_id: str, status: int) -> P.Charge:
    charge = await tenant.get(charge_id)
    assert charge.status == status, P.ChargeStatus.Name(charge.status)
    return charge


async def test_a_carriers_denial_follows_the_dunning_policy(setup: Setup) -> None:
    tenant = await carrier_tenant(setup, "one_step")
    customer = await tenant.subscriber("+34600000001")
    subscription = lifecycle_subscription(tenant.tenant, customer)
    due = subscription.renewal_charge()
    assert due is not None
    channel = connect(setup.payments.address)
    try:
        with tenant_scope(tenant.tenant):
            [outcome] = await GrpcPayments(channel).charge_renewals([RenewalChargeRequest(subscription, due)])
    finally:
        await channel.close(None)

    assert outcome is ChargeOutcome.SOFT_DECLINE
    subscription.apply_charge_result(due, outcome, START, LifecyclePolicy())
    assert subscription.state is SubscriptionState.PAST_DUE and subscription.next_retry_at is not None
    listed = await setup.payments.call(tenant.tenant, "ListCharges", P.ListChargesRequest(customer_id=customer))
    assert listed.charges[0].decline.raw_code == "denied:insufficient balance"


async def test_a_processing_payment_denied_later_fails_its_charge(setup: Setup) -> None:
    tenant = await carrier_tenant(setup, "one_step")
    charge = await tenant.charge(await tenant.subscriber("+34600000012"))
    assert charge.status == P.CHARGE_STATUS_UNKNOWN
    payment_id = charge.attempts[0].psp_reference

    async with httpx.AsyncClient(base_url=setup.carrier_url) as http:
        await http.post(f"/_test/payments/{payment_id}/resolve", json={"outcome": "denied"})

    failed = await eventually(lambda: _with_status(tenant, charge.id, P.CHARGE_STATUS_FAILED))
    assert (failed.outcome, failed.decline.reason) == (P.DECLINE_OUTCOME_SOFT_DECLINE, "DO_NOT_HONOR")


async def test_forged_or_stale_notifications_are_refused_and_change_nothing(setup: Setup) -> None:
    tenant = await carrier_tenant(setup, "one_step")
    charge = await tenant.charge(await tenant.subscriber("+34600000022"))
    payment_id = charge.attempts[0].psp_reference
    forged = json.dumps(
        {
            "id": uuid.uuid4().hex,
            "source": "https://attacker.example",
            "type": "org.camaraproject.carrier-billing.v0.payment-completed",
            "specversion": "1.0",
            "time": "2026-03-15T12:00:00Z",
            "data": {"paymentId": payment_id, "status": "succeeded", "description": "forged"},
        }
    ).encode()
    now = int(time.time())

    async def post(body: bytes, signature: str) -> int:
        async with httpx.AsyncClient() as http:
            url = f"{setup.notifications_url}/{tenant.tenant}/{ACCOUNT}"
            return (await http.post(url, content=body, headers={"X-Carrier-Signature": signature})).status_code

    assert await post(forged, sign(forged, "cbn_someone_else", now)) == 401
    assert await post(forged, sign(forged, tenant.secret, now - 301)) == 401
    assert await post(forged, "") == 401
    assert (await tenant.get(charge.id)).status == P.CHARGE_STATUS_UNKNOWN
    # NOTE: even a genuinely signed notice is only a cue: the carrier still says processing, so the charge waits.
    assert await post(forged, sign(forged, tenant.secret, now)) == 204
    assert (await tenant.get(charge.id)).status == P.CHARGE_STATUS_UNKNOWN
