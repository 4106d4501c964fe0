"""A tenant's own Adyen account end to end: connected with sealed credentials, routed to, charged through the
Adyen Checkout API emulator with the official library, its HMAC-signed notifications verified — and its
credentials never in an answer, a log line or an event."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from azotte.payments.v1 import disputes_pb2 as D
from azotte.payments.v1 import events_pb2
from azotte.payments.v1 import payments_pb2 as P
from azotte.payments.v1 import psp_accounts_pb2 as A
from azotte_payments.sandbox_psp import adyen_api
from tests.helpers import eventually
from tests.integration.payments.payments_harness import (
    Payments,
    charge_request,
    eur,
    payments_service,
    serving,
    storefront,
)

KEKS = f"k1:{base64.b64encode(b'a' * 32).decode()}"
MERCHANT = "TenantECOM"


@dataclass
class Notifications:
    """Stands in for the gateway's Adyen route: forwards what Adyen posts to ReceivePspWebhook."""

    payments: Payments | None = None
    raw: list[bytes] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        assert self.payments is not None
        payload = await request.body()
        self.raw.append(payload)
        try:
            await self.payments.call(
                request.path_params["tenant"],
                "ReceivePspWebhook",
                A.ReceivePspWebhookRequest(account_id=request.path_params["account"], payload=payload),
            )
        except grpc.aio.AioRpcError as error:
            self.refused.append(error.details() or "")
            return Response(status_code=401 if error.code() is grpc.StatusCode.UNAUTHENTICATED else 500)
        return PlainTextResponse("[accepted]")


@dataclass
class Setup:
    payments: Payments
    adyen_url: str
    notifications: Notifications
    notifications_url: str


@pytest.fixture(scope="module")
async def setup(servers: Any, sandbox_psps: Any) -> AsyncIterator[Setup]:
    notifications = Notifications()
    receiver = Starlette(routes=[Route("/{tenant}/{account}", notifications.receive, methods=["POST"])])
    async with (
        serving(adyen_api.create_app()) as adyen_url,
        serving(receiver) as notifications_url,
        payments_service(servers, sandbox_psps, adyen_checkout_url=adyen_url, payments_keks=KEKS) as payments,
    ):
        notifications.payments = payments
        yield Setup(payments, adyen_url, notifications, notifications_url)


def card(number: str) -> str:
    """What Adyen's Drop-in gives the tenant's page for a card (its fields encrypted), as the method's token."""
    return json.dumps({"type": "scheme", "encryptedCardNumber": number, "encryptedSecurityCode": "test_737"})


@dataclass
class AdyenTenant:
    """A tenant with its own Adyen account (`adyen-eu`), its storefront `de` routed to it."""

    tenant: str
    api_key: str
    hmac_key: str
    setup: Setup
    created: A.CreatePspAccountResponse

    async def customer_with_card(self, number: str = "test_visa_authorised", token: str = "") -> str:
        customer = f"cus_{uuid.uuid4().hex[:10]}"
        await self.setup.payments.call(
            self.tenant,
            "CreatePaymentMethod",
            P.CreatePaymentMethodRequest(
                request_id=uuid.uuid4().hex,
                customer_id=customer,
                type=P.PAYMENT_METHOD_TYPE_CARD,
                token=token or card(number),
                brand="visa",
                last4="1111",
            ),
        )
        return customer

    async def charge(self, customer: str, amount: int = 1190, **fields: Any) -> P.Charge:
        response: P.CreateChargeResponse = await self.setup.payments.call(
            self.tenant, "CreateCharge", charge_request(customer, amount, **fields)
        )
        return response.charge

    async def payment(self, psp_reference: str) -> dict[str, Any]:
        """The payment as the emulator recorded it."""
        async with httpx.AsyncClient(base_url=self.setup.adyen_url, headers={"X-API-Key": self.api_key}) as http:
            answer = await http.get(f"/_test/payments/{psp_reference}")
        assert answer.status_code == 200, answer.text
        payment: dict[str, Any] = answer.json()
        return payment

    async def test_hook(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.setup.adyen_url) as http:
            answer = await http.post(path, json=body)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


async def connect_adyen_tenant(setup: Setup, tenant: str = "") -> AdyenTenant:
    """As in Adyen's Customer Area: an API key, a Standard webhook to Azotte's URL and its HMAC key."""
    tenant, api_key = tenant or f"t{uuid.uuid4().hex[:12]}", f"AQE_{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=setup.adyen_url, headers={"X-API-Key": api_key}) as http:
        webhook = await http.post("/_test/webhooks", json={"url": f"{setup.notifications_url}/{tenant}/adyen-eu"})
    hmac_key = webhook.json()["hmacKey"]
    created = await setup.payments.call(
        tenant,
        "CreatePspAccount",
        A.CreatePspAccountRequest(
            request_id=uuid.uuid4().hex,
            account=A.PspAccount(
                account_id="adyen-eu", kind=A.PSP_KIND_ADYEN, mode=A.PSP_MODE_SANDBOX, display_name="Adyen EU"
            ),
            credentials={"api_key": api_key, "merchant_account": MERCHANT, "hmac_key": hmac_key},
        ),
    )
    setup.payments.catalog.storefronts[(tenant, "de")] = storefront(psps=("adyen-eu",))
    return AdyenTenant(tenant, api_key, hmac_key, setup, created)


@pytest.fixture
async def adyen_tenant(setup: Setup) -> AdyenTenant:
    return await connect_adyen_tenant(setup)


async def test_a_checkout_stores_the_card_and_a_renewal_charges_it_with_contauth(adyen_tenant: AdyenTenant) -> None:
    customer = await adyen_tenant.customer_with_card()
    checkout = await adyen_tenant.charge(customer, subscription_id="sub_1")
    renewal = await adyen_tenant.charge(customer, subscription_id="sub_1", period_key="1")

    for charge in (checkout, renewal):
        assert (charge.status, charge.psp) == (P.CHARGE_STATUS_SUCCEEDED, "adyen-eu")
    first, second = (
        await adyen_tenant.payment(checkout.psp_reference),
        await adyen_tenant.payment(renewal.psp_reference),
    )
    assert (first["shopperInteraction"], second["shopperInteraction"]) == ("Ecommerce", "ContAuth")
    assert first["shopperReference"] == second["shopperReference"] and first["shopperReference"].startswith(customer)
    assert second["recurringProcessingModel"] == "Subscription"
    assert first["amount"] == {"value": 1190, "currency": "EUR"}
    assert first["merchantReference"] != second["merchantReference"]  # one reference (idempotency key) per attempt


async def test_a_checkout_needing_3ds_answers_the_action_and_completes_once_the_shopper_authenticates(
    adyen_tenant: AdyenTenant,
) -> None:
    customer = await adyen_tenant.customer_with_card("test_visa_3ds2")
    checkout = await adyen_tenant.charge(customer)
    assert (checkout.status, checkout.decline.reason) == (P.CHARGE_STATUS_FAILED, "AUTHENTICATION_REQUIRED")
    action = json.loads(checkout.attempts[0].client_secret)
    assert action["type"] == "redirect" and action["url"].endswith(
        f"/_test/authenticate/{checkout.attempts[0].psp_reference}"
    )

    await adyen_tenant.test_hook(f"/_test/authenticate/{checkout.attempts[0].psp_reference}", {"result": "succeed"})
    recovered = await eventually(lambda: _succeeded(adyen_tenant, checkout.id))
    assert recovered.psp_reference == checkout.attempts[0].psp_reference


async def test_a_renewal_needing_authentication_recovers_after_the_shopper_authenticates(
    adyen_tenant: AdyenTenant,
) -> None:
    customer = await adyen_tenant.customer_with_card("test_visa_3ds2")
    renewal = await adyen_tenant.charge(customer, key="renewal:sub_1:1:1", subscription_id="sub_1", period_key="1")
    assert (renewal.status, renewal.outcome) == (P.CHARGE_STATUS_FAILED, P.DECLINE_OUTCOME_SOFT_DECLINE)
    assert (renewal.decline.reason, renewal.decline.raw_code) == ("AUTHENTICATION_REQUIRED", "Refused:38")
    reference = renewal.attempts[0].psp_reference

    await adyen_tenant.test_hook(f"/_test/authenticate/{reference}", {"result": "succeed"})
    recovered = await eventually(lambda: _succeeded(adyen_tenant, renewal.id))
    assert recovered.psp_reference == reference
    retry = await adyen_tenant.charge(customer, key="renewal:sub_1:1:2", subscription_id="sub_1", period_key="1")
    assert (retry.id, retry.status) == (renewal.id, P.CHARGE_STATUS_SUCCEEDED)  # the period is not charged again


async def _succeeded(adyen_tenant: AdyenTenant, charge_id: str) -> P.Charge:
    answer: P.GetChargeResponse = await adyen_tenant.setup.payments.call(
        adyen_tenant.tenant, "GetCharge", P.GetChargeRequest(charge_id=charge_id)
    )
    assert answer.charge.status == P.CHARGE_STATUS_SUCCEEDED
    return answer.charge


async def test_declines_are_normalized(adyen_tenant: AdyenTenant) -> None:
    poor = await adyen_tenant.charge(await adyen_tenant.customer_with_card("test_visa_insufficient_funds"))
    expired = await adyen_tenant.charge(await adyen_tenant.customer_with_card("test_visa_expired"))

    not_drop_in = await adyen_tenant.charge(await adyen_tenant.customer_with_card(token="tok_visa"))

    assert (poor.decline.reason, poor.outcome) == ("INSUFFICIENT_FUNDS", P.DECLINE_OUTCOME_SOFT_DECLINE)
    assert (expired.decline.reason, expired.outcome) == ("EXPIRED_CARD", P.DECLINE_OUTCOME_HARD_DECLINE)
    assert (not_drop_in.decline.reason, not_drop_in.outcome) == ("INVALID_REQUEST", P.DECLINE_OUTCOME_HARD_DECLINE)


async def test_an_account_whose_api_key_adyen_refuses_fails_over_as_unavailable(setup: Setup) -> None:
    refused = await connect_adyen_tenant(setup)
    # NOTE: a key of fewer than 8 characters is unknown to the emulator: 401, as Adyen answers a revoked key.
    await setup.payments.call(
        refused.tenant,
        "CreatePspAccount",
        A.CreatePspAccountRequest(
            request_id=uuid.uuid4().hex,
            account=A.PspAccount(account_id="adyen-old", kind=A.PSP_KIND_ADYEN, mode=A.PSP_MODE_SANDBOX),
            credentials={"api_key": "revoked", "merchant_account": MERCHANT, "hmac_key": refused.hmac_key},
        ),
    )
    setup.payments.catalog.storefronts[(refused.tenant, "de")] = storefront(psps=("adyen-old", "adyen-eu"))

    charge = await refused.charge(await refused.customer_with_card())
    assert (charge.status, charge.psp) == (P.CHARGE_STATUS_SUCCEEDED, "adyen-eu")
    assert [(a.psp, a.decline.reason, a.decline.raw_code) for a in charge.attempts[:1]] == [
        ("adyen-old", "PSP_UNAVAILABLE", "http_401")
    ]


async def test_a_refund_goes_back_through_the_tenants_account(adyen_tenant: AdyenTenant) -> None:
    customer = await adyen_tenant.customer_with_card()
    charge = await adyen_tenant.charge(customer, 1000)
    request = P.RefundChargeRequest(request_id=uuid.uuid4().hex, charge_id=charge.id, amount=eur(400), reason="asked")
    refund = await adyen_tenant.setup.payments.call(adyen_tenant.tenant, "RefundCharge", request)
    again = await adyen_tenant.setup.payments.call(adyen_tenant.tenant, "RefundCharge", request)

    assert refund.refund.psp_reference and again.refund.psp_reference == refund.refund.psp_reference
    assert (await adyen_tenant.payment(charge.psp_reference))["refunded"] == 400


async def test_a_chargeback_carries_the_tenants_access_policy_and_is_closed_by_the_banks_decision(
    adyen_tenant: AdyenTenant,
) -> None:
    setup, tenant = adyen_tenant.setup, adyen_tenant.tenant
    received: list[tuple[str, bytes]] = []
    policy = D.DisputePolicy(on_dispute_opened=D.DISPUTE_ACCESS_SUSPEND)
    await setup.payments.call(
        tenant, "UpdateDisputePolicy", D.UpdateDisputePolicyRequest(request_id=uuid.uuid4().hex, policy=policy)
    )
    another = await setup.payments.call(f"t{uuid.uuid4().hex[:12]}", "GetDisputePolicy", D.GetDisputePolicyRequest())
    assert another.policy.on_dispute_opened == D.DISPUTE_ACCESS_KEEP  # a policy is the tenant's own

    async def collect(message: Any) -> None:
        received.append((message.headers["ce-type"], message.data))

    subscription = await setup.payments.runtime.nats.subscribe(f"azotte.{tenant}.payments.>", cb=collect)
    customer = await adyen_tenant.customer_with_card()
    charge = await adyen_tenant.charge(customer, 1190, subscription_id="sub_9")
    await adyen_tenant.test_hook(f"/_test/chargebacks/{charge.psp_reference}", {})
    opened = events_pb2.DisputeOpened.FromString(await eventually(lambda: _event(received, "payment.dispute_opened")))
    assert (opened.dispute.charge_id, opened.dispute.subscription_id, opened.dispute.status) == (
        charge.id,
        "sub_9",
        "open",
    )
    assert (opened.dispute.amount.amount_minor, opened.dispute.psp_account_id) == (1190, "adyen-eu")
    assert opened.dispute.access == D.DISPUTE_ACCESS_SUSPEND  # entitlement suspends the subscription's features

    await adyen_tenant.test_hook(f"/_test/disputes/{opened.dispute.psp_dispute_id}", {"outcome": "won"})
    closed = events_pb2.DisputeClosed.FromString(await eventually(lambda: _event(received, "payment.dispute_closed")))
    await subscription.unsubscribe()
    assert (closed.dispute.status, closed.dispute.access) == ("won", D.DISPUTE_ACCESS_SUSPEND)  # ... and restores
    assert [t for t, _ in received].count("payment.dispute_opened") == 1  # NOTIFICATION_OF_CHARGEBACK + CHARGEBACK
    ledger = await setup.payments.ledger(tenant, "EUR")
    accounts = {a.account: a.balance.amount_minor for c in ledger.currencies for a in c.accounts}
    assert accounts["disputes"] == 0


async def _event(received: list[tuple[str, bytes]], event_type: str) -> bytes:
    found = [data for t, data in received if t == event_type]
    assert found, f"no {event_type} yet"
    return found[0]


async def test_signed_notifications_are_applied_once_and_forged_ones_refused(adyen_tenant: AdyenTenant) -> None:
    setup, tenant = adyen_tenant.setup, adyen_tenant.tenant
    charge = await adyen_tenant.charge(await adyen_tenant.customer_with_card())
    payload = await eventually(lambda: _delivered(setup, charge.psp_reference))

    async def post(body: bytes) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(f"{setup.notifications_url}/{tenant}/adyen-eu", content=body)

    replayed = await setup.payments.call(
        tenant, "ReceivePspWebhook", A.ReceivePspWebhookRequest(account_id="adyen-eu", payload=payload)
    )
    assert replayed.duplicate and replayed.event_id == f"{charge.psp_reference}:AUTHORISATION:true"
    notification = json.loads(payload)
    item = notification["notificationItems"][0]["NotificationRequestItem"]
    tampered = {**item, "amount": {"value": 1, "currency": "EUR"}}
    other_key = {**item, "additionalData": {"hmacSignature": adyen_api.sign_item(item, "00" * 32)}}
    unsigned = {key: value for key, value in item.items() if key != "additionalData"}
    for forged in (tampered, other_key, unsigned):
        body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": forged}]})
        assert (await post(body.encode())).status_code == 401
    assert (await post(b"[accepted]")).status_code == 401
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await setup.payments.call(
            f"t{uuid.uuid4().hex[:12]}",
            "ReceivePspWebhook",
            A.ReceivePspWebhookRequest(account_id="adyen-eu", payload=payload),
        )
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


async def _delivered(setup: Setup, psp_reference: str) -> bytes:
    for payload in setup.notifications.raw:
        item = json.loads(payload)["notificationItems"][0]["NotificationRequestItem"]
        if (item["eventCode"], item["pspReference"]) == ("AUTHORISATION", psp_reference):
            return payload
    raise AssertionError("not delivered yet")


async def test_credentials_never_appear_in_answers_logs_or_events(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    received: list[bytes] = []

    async def collect(message: Any) -> None:
        received.append(message.data + json.dumps(dict(message.headers or {})).encode())

    tenant = f"t{uuid.uuid4().hex[:12]}"
    subscription = await setup.payments.runtime.nats.subscribe(f"azotte.{tenant}.>", cb=collect)
    adyen_tenant = await connect_adyen_tenant(setup, tenant)
    answers = [
        adyen_tenant.created,
        await setup.payments.call(tenant, "GetPspAccount", A.GetPspAccountRequest(account_id="adyen-eu")),
        await setup.payments.call(tenant, "ListPspAccounts", A.ListPspAccountsRequest()),
        await adyen_tenant.charge(await adyen_tenant.customer_with_card("test_visa_refused")),
        disputed := await adyen_tenant.charge(await adyen_tenant.customer_with_card()),
    ]
    await adyen_tenant.test_hook(f"/_test/chargebacks/{disputed.psp_reference}", {})
    await eventually(lambda: _seen(received, b"payment.dispute_opened"))
    await subscription.unsubscribe()

    texts = [a.SerializeToString() for a in answers] + received + [r.getMessage().encode() for r in caplog.records]
    for secret in (adyen_tenant.api_key, adyen_tenant.hmac_key):
        assert not any(secret.encode() in text for text in texts), secret
    hints = adyen_tenant.created.account.credential_hints
    assert hints["merchant_account"] == MERCHANT and hints["api_key"].startswith(f"…{adyen_tenant.api_key[-4:]} (")


async def _seen(received: list[bytes], event_type: bytes) -> bool:
    return any(event_type in text for text in received)
