"""A tenant's own Stripe account end to end: connected with sealed credentials, routed to, charged through the
Stripe emulator, its signed webhooks verified — and its credentials never in an answer, a log line or an event."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from azotte.payments.v1 import events_pb2
from azotte.payments.v1 import payments_pb2 as P
from azotte.payments.v1 import psp_accounts_pb2 as A
from azotte_payments.sandbox_psp import stripe_api
from azotte_payments.sandbox_psp.stripe_state import sign
from tests.helpers import eventually
from tests.integration.payments.payments_harness import (
    Payments,
    charge_request,
    eur,
    payments_service,
    serving,
    storefront,
)

KEKS = f"k1:{base64.b64encode(b'k' * 32).decode()}"


@dataclass
class Webhooks:
    """Stands in for the gateway's webhook route: forwards what Stripe posts to ReceivePspWebhook."""

    payments: Payments | None = None
    answers: list[tuple[int, str]] = field(default_factory=list)
    raw: list[tuple[bytes, str]] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        assert self.payments is not None
        payload, signature = await request.body(), request.headers.get("stripe-signature", "")
        self.raw.append((payload, signature))
        try:
            answer = await self.payments.call(
                request.path_params["tenant"],
                "ReceivePspWebhook",
                A.ReceivePspWebhookRequest(
                    account_id=request.path_params["account"], payload=payload, signature=signature
                ),
            )
        except grpc.aio.AioRpcError as error:
            self.answers.append((401, error.details() or ""))
            return Response(status_code=401)
        self.answers.append((200, answer.event_type))
        return Response(status_code=200)


@dataclass
class Setup:
    payments: Payments
    stripe_url: str
    webhooks: Webhooks
    webhooks_url: str


@pytest.fixture(scope="module")
async def setup(servers: Any, sandbox_psps: Any) -> AsyncIterator[Setup]:
    webhooks = Webhooks()
    receiver = Starlette(routes=[Route("/{tenant}/{account}", webhooks.receive, methods=["POST"])])
    async with (
        serving(stripe_api.create_app()) as stripe_url,
        serving(receiver) as webhooks_url,
        payments_service(servers, sandbox_psps, stripe_api_base=stripe_url, payments_keks=KEKS) as payments,
    ):
        webhooks.payments = payments
        yield Setup(payments, stripe_url, webhooks, webhooks_url)


@dataclass
class StripeTenant:
    """A tenant with its own Stripe account (`stripe-eu`), its storefront `de` routed to it."""

    tenant: str
    secret_key: str
    webhook_secret: str
    setup: Setup

    def client(self) -> stripe.StripeClient:
        url = self.setup.stripe_url
        return stripe.StripeClient(self.secret_key, base_addresses={"api": url}, http_client=stripe.HTTPXClient())

    async def customer_with_card(self, token: str = "tok_visa") -> str:
        """A customer whose card was tokenized by Stripe.js and stored in Azotte as its payment method."""
        method = await self.client().v1.payment_methods.create_async({"type": "card", "card": {"token": token}})
        customer = f"cus_{uuid.uuid4().hex[:10]}"
        await self.setup.payments.call(
            self.tenant,
            "CreatePaymentMethod",
            P.CreatePaymentMethodRequest(
                request_id=uuid.uuid4().hex,
                customer_id=customer,
                type=P.PAYMENT_METHOD_TYPE_CARD,
                token=method.id,
                brand="visa",
                last4="4242",
            ),
        )
        return customer

    async def charge(self, customer: str, amount: int = 1190, **fields: Any) -> P.Charge:
        response: P.CreateChargeResponse = await self.setup.payments.call(
            self.tenant, "CreateCharge", charge_request(customer, amount, **fields)
        )
        return response.charge


@pytest.fixture
async def stripe_tenant(setup: Setup) -> StripeTenant:
    tenant, secret_key = f"t{uuid.uuid4().hex[:12]}", f"sk_test_{uuid.uuid4().hex}"
    http = stripe.HTTPXClient()
    client = stripe.StripeClient(secret_key, base_addresses={"api": setup.stripe_url}, http_client=http)
    # NOTE: as in the Stripe dashboard: the tenant adds Azotte's webhook URL and copies its signing secret.
    endpoint = await client.v1.webhook_endpoints.create_async(
        {"url": f"{setup.webhooks_url}/{tenant}/stripe-eu", "enabled_events": ["*"]}
    )
    await setup.payments.call(
        tenant,
        "CreatePspAccount",
        A.CreatePspAccountRequest(
            request_id=uuid.uuid4().hex,
            account=A.PspAccount(
                account_id="stripe-eu", kind=A.PSP_KIND_STRIPE, mode=A.PSP_MODE_SANDBOX, display_name="Stripe EU"
            ),
            credentials={"secret_key": secret_key, "webhook_secret": endpoint.secret or ""},
        ),
    )
    setup.payments.catalog.storefronts[(tenant, "de")] = storefront(psps=("stripe-eu",))
    return StripeTenant(tenant, secret_key, endpoint.secret or "", setup)


async def test_a_checkout_saves_the_card_and_a_renewal_charges_it_off_session(stripe_tenant: StripeTenant) -> None:
    customer = await stripe_tenant.customer_with_card()
    checkout = await stripe_tenant.charge(customer, subscription_id="sub_1")
    renewal = await stripe_tenant.charge(customer, subscription_id="sub_1", period_key="1")

    for charge in (checkout, renewal):
        assert (charge.status, charge.psp) == (P.CHARGE_STATUS_SUCCEEDED, "stripe-eu")
        assert charge.psp_reference.startswith("pi_")
    client = stripe_tenant.client()
    first = await client.v1.payment_intents.retrieve_async(checkout.psp_reference)
    second = await client.v1.payment_intents.retrieve_async(renewal.psp_reference)
    assert first.customer == second.customer and first.amount == 1190 and first.currency == "eur"


async def test_a_renewal_needing_authentication_recovers_after_the_customer_authenticates(
    stripe_tenant: StripeTenant,
) -> None:
    customer = await stripe_tenant.customer_with_card("tok_authenticationRequired")
    renewal = await stripe_tenant.charge(customer, key="renewal:sub_1:1:1", subscription_id="sub_1", period_key="1")
    assert (renewal.status, renewal.outcome) == (P.CHARGE_STATUS_FAILED, P.DECLINE_OUTCOME_SOFT_DECLINE)
    assert (renewal.decline.reason, renewal.decline.raw_code) == ("AUTHENTICATION_REQUIRED", "authentication_required")
    intent = renewal.attempts[0].psp_reference
    # NOTE: the tenant's page completes it with the intent's client secret (payment.failed carries it too).
    assert renewal.attempts[0].client_secret.startswith(f"{intent}_secret_")

    # NOTE: the customer follows the tenant's link and completes 3-D Secure; Stripe's webhook says so.
    async with httpx.AsyncClient(base_url=stripe_tenant.setup.stripe_url) as http:
        assert (await http.post(f"/_test/authenticate/{intent}", json={"result": "succeed"})).status_code == 200
    recovered = await eventually(lambda: _succeeded(stripe_tenant, renewal.id))
    assert recovered.psp_reference == intent

    retry = await stripe_tenant.charge(customer, key="renewal:sub_1:1:2", subscription_id="sub_1", period_key="1")
    assert (retry.id, retry.status) == (renewal.id, P.CHARGE_STATUS_SUCCEEDED)  # the period is not charged again
    intents = await stripe_tenant.client().v1.payment_intents.search_async(
        {"query": f"metadata['azotte_reference']:'{renewal.id}'"}
    )
    assert [i.status for i in intents.data] == ["succeeded"]


async def _succeeded(stripe_tenant: StripeTenant, charge_id: str) -> P.Charge:
    answer: P.GetChargeResponse = await stripe_tenant.setup.payments.call(
        stripe_tenant.tenant, "GetCharge", P.GetChargeRequest(charge_id=charge_id)
    )
    assert answer.charge.status == P.CHARGE_STATUS_SUCCEEDED
    return answer.charge


async def test_a_dispute_is_recorded_with_its_fee_and_closed_by_the_banks_decision(
    stripe_tenant: StripeTenant,
) -> None:
    setup, tenant = stripe_tenant.setup, stripe_tenant.tenant
    received: list[tuple[str, bytes]] = []

    async def collect(message: Any) -> None:
        received.append((message.headers["ce-type"], message.data))

    subscription = await setup.payments.runtime.nats.subscribe(f"azotte.{tenant}.payments.>", cb=collect)
    customer = await stripe_tenant.customer_with_card("tok_createDispute")
    charge = await stripe_tenant.charge(customer, 1190, subscription_id="sub_9")
    opened = await eventually(lambda: _event(received, "payment.dispute_opened"))
    dispute = events_pb2.DisputeOpened.FromString(opened).dispute
    assert (dispute.charge_id, dispute.subscription_id, dispute.status) == (charge.id, "sub_9", "open")
    assert (dispute.amount.amount_minor, dispute.fee.amount_minor, dispute.fee.currency_code) == (1190, 1500, "EUR")

    await stripe_tenant.client().v1.disputes.update_async(
        dispute.psp_dispute_id, {"evidence": {"uncategorized_text": "losing_evidence"}}
    )
    closed = events_pb2.DisputeClosed.FromString(await eventually(lambda: _event(received, "payment.dispute_closed")))
    await subscription.unsubscribe()
    assert closed.dispute.status == "lost"
    ledger = await setup.payments.ledger(tenant, "EUR")
    accounts = {a.account: a.balance.amount_minor for c in ledger.currencies for a in c.accounts}
    assert (accounts["disputes"], accounts["dispute_fees"]) == (1190, 1500)


async def _event(received: list[tuple[str, bytes]], event_type: str) -> bytes:
    found = [data for t, data in received if t == event_type]
    assert found, f"no {event_type} yet"
    return found[0]


async def test_a_refund_goes_back_through_the_tenants_account(stripe_tenant: StripeTenant) -> None:
    customer = await stripe_tenant.customer_with_card()
    charge = await stripe_tenant.charge(customer, 1000)
    refund = await stripe_tenant.setup.payments.call(
        stripe_tenant.tenant,
        "RefundCharge",
        P.RefundChargeRequest(request_id=uuid.uuid4().hex, charge_id=charge.id, amount=eur(400), reason="requested"),
    )

    assert refund.refund.psp_reference.startswith("re_")
    intent = await stripe_tenant.client().v1.payment_intents.retrieve_async(charge.psp_reference)
    stripe_charge = await stripe_tenant.client().v1.charges.retrieve_async(str(intent.latest_charge))
    assert stripe_charge.amount_refunded == 400


async def test_signed_webhooks_are_applied_once_and_forged_or_stale_ones_refused(stripe_tenant: StripeTenant) -> None:
    setup, tenant = stripe_tenant.setup, stripe_tenant.tenant
    customer = await stripe_tenant.customer_with_card()
    charge = await stripe_tenant.charge(customer)
    payload, signature = await eventually(lambda: _delivered(setup, charge.psp_reference))

    async def post(body: bytes, stripe_signature: str) -> int:
        async with httpx.AsyncClient() as http:
            url = f"{setup.webhooks_url}/{tenant}/stripe-eu"
            response = await http.post(url, content=body, headers={"Stripe-Signature": stripe_signature})
        return response.status_code

    redelivered = await setup.payments.call(
        tenant,
        "ReceivePspWebhook",
        A.ReceivePspWebhookRequest(account_id="stripe-eu", payload=payload, signature=signature),
    )
    event = json.loads(payload)
    forged = json.dumps({**event, "id": f"evt_{uuid.uuid4().hex}"}).encode()
    stale = int(time.time()) - 301
    assert redelivered.duplicate and redelivered.event_id == event["id"]
    assert await post(forged, signature) == 401  # body changed, signature kept
    assert await post(forged, sign(forged, "whsec_someone_else", int(time.time()))) == 401
    assert await post(payload, sign(payload, stripe_tenant.webhook_secret, stale)) == 401  # replayed too late
    assert await post(payload, "") == 401
    other_tenant = f"t{uuid.uuid4().hex[:12]}"
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await setup.payments.call(
            other_tenant,
            "ReceivePspWebhook",
            A.ReceivePspWebhookRequest(account_id="stripe-eu", payload=payload, signature=signature),
        )
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


async def _delivered(setup: Setup, intent_id: str) -> tuple[bytes, str]:
    for payload, signature in setup.webhooks.raw:
        event = json.loads(payload)
        if event["type"] == "payment_intent.succeeded" and event["data"]["object"]["id"] == intent_id:
            return payload, signature
    raise AssertionError("not delivered yet")


async def test_credentials_never_appear_in_answers_logs_or_events(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    received: list[bytes] = []

    async def collect(message: Any) -> None:
        received.append(message.data + json.dumps(dict(message.headers or {})).encode())

    tenant, secret_key, webhook_secret = (
        f"t{uuid.uuid4().hex[:12]}",
        f"sk_test_{uuid.uuid4().hex}",
        f"whsec_{uuid.uuid4().hex}",
    )
    subscription = await setup.payments.runtime.nats.subscribe(f"azotte.{tenant}.>", cb=collect)
    account = A.PspAccount(account_id="stripe-eu", kind=A.PSP_KIND_STRIPE, mode=A.PSP_MODE_SANDBOX)
    credentials = {"secret_key": secret_key, "webhook_secret": webhook_secret}
    answers = [
        await setup.payments.call(
            tenant,
            "CreatePspAccount",
            A.CreatePspAccountRequest(request_id="r1", account=account, credentials=credentials),
        ),
        await setup.payments.call(tenant, "GetPspAccount", A.GetPspAccountRequest(account_id="stripe-eu")),
        await setup.payments.call(tenant, "ListPspAccounts", A.ListPspAccountsRequest()),
    ]
    setup.payments.catalog.storefronts[(tenant, "de")] = storefront(psps=("stripe-eu",))
    stripe_tenant = StripeTenant(tenant, secret_key, webhook_secret, setup)
    charge = await stripe_tenant.charge(await stripe_tenant.customer_with_card("tok_chargeDeclined"))
    answers.append(charge)
    await eventually(lambda: _any(received))
    await subscription.unsubscribe()

    texts = [a.SerializeToString() for a in answers] + received + [r.getMessage().encode() for r in caplog.records]
    for secret in (secret_key, webhook_secret):
        assert not any(secret.encode() in text for text in texts), secret
    assert answers[0].account.credential_hints["secret_key"].startswith(f"…{secret_key[-4:]} (sha256:")


async def _any(received: list[bytes]) -> bool:
    return bool(received)
