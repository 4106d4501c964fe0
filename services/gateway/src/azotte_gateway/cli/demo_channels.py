"""The demo's channels section, for the same catalog: an App Store purchase and renewal (notifications signed by a
root the demo makes), a Google Play account hold and recovery (OIDC-signed pushes, states read from the Play API
emulator), a renewal charged to a phone bill through the sandbox carrier, and a partner's signed activation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from rich.table import Table

from azotte_gateway.cli import render
from azotte_gateway.cli.client import ApiError
from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, subscription_transaction
from azotte_gateway.sandbox_channels.google_play_signing import (
    PUSH_ACCOUNT,
    SigningGoogle,
    purchase_state,
    push,
    subscription_notification,
)

if TYPE_CHECKING:
    from azotte_gateway.cli.demo import Tour

FEATURE = "uhd_streaming"  # granted by premium_monthly, the plan every channel below sells
APP_STORE_PRODUCT = "com.example.ott.premium.monthly"  # mapped by the catalog
PLAY_PACKAGE = "com.example.ott"
PARTNER_PRODUCT = "BUNDLE-OTT-PREMIUM"
PHONE_NUMBER = "+4915100000008"  # the sandbox carrier succeeds on any last digit but 1 and 2
CARRIER_ACCOUNT = "carrier-de"
PAYMENTS_CACHE_SECONDS = 31.0  # payments keeps PSP accounts and storefronts 30 s (its *_CACHE_S), and a second
GOOGLE_APIS = "AZOTTE_GOOGLE_APIS_URL"
CARRIER = "AZOTTE_CARRIER_SANDBOX_URL"
T = TypeVar("T")


class Channels:
    """The section's steps; each adds a row (channel, what happened, customer, access) to `rows`."""

    def __init__(self, tour: Tour):
        self.tour = tour
        self.gateway = tour.gateway
        self.rows: list[tuple[str, str, str, bool]] = []
        self.tenant_id = ""
        self.run = tour.request_id()[-6:]  # in the ids made here: running the demo again makes new ones
        self.carrier_read_by = 0.0  # monotonic time by which payments has read a carrier account connected now

    def record(self, channel: str, what: str, who: str, customer: str, consistency_token: str = "") -> bool:
        """The customer's access once it reflects the change that answered `consistency_token`."""
        allowed = self.retried(
            f"access to reflect {who}'s {what}",
            lambda: self.tour.access(who, customer, FEATURE, consistency_token),
            "CONSISTENCY_NOT_REACHED",
        )
        self.rows.append((channel, what, who, allowed))
        return allowed

    def retried(self, what: str, call: Callable[[], T], reason: str, timeout: float = 20.0) -> T:
        """`call`'s answer, called again while it fails with `reason` (a state the suite has not reached yet)."""
        answers: list[T] = []

        def answered() -> bool:
            try:
                answers.append(call())
            except ApiError as error:
                if error.reason != reason:
                    raise
            return bool(answers)

        if not self.tour.wait_for(what, answered, timeout=timeout):
            raise ApiError(503, {"status": "UNAVAILABLE", "message": f"still waiting for {what}"})
        return answers[0]

    def linked_customer(self, name: str, kind: str, value: str) -> str:
        """A customer whose app passed `value` to the store (appAccountToken, obfuscatedExternalAccountId)."""
        customer = self.tour.customer(name, "US")
        self.gateway.post(
            f"/v1/customers/{customer}:linkChannelIdentity",
            {"identity": {"kind": kind, "value": value}},
            request_id=self.tour.request_id("link", name),
        )
        return customer

    def signed_post(self, path: str, content: bytes | str, **headers: str) -> dict[str, Any]:
        """What a store posts to the gateway: no API key, the signature is its only proof."""
        answer = httpx.post(f"{self.gateway.base_url}{path}", content=content, headers=headers, timeout=30)
        if answer.status_code >= 400:
            raise ApiError(answer.status_code, answer.json().get("error", {}))
        body: dict[str, Any] = answer.json()
        return body

    def pubsub_push(self, path: str, body: bytes, token: str) -> dict[str, Any]:
        return self.signed_post(path, body, **{"Content-Type": "application/json", "Authorization": f"Bearer {token}"})

    def app_store(self) -> None:
        signer = SigningAppStore()
        app = {
            "app_id": f"ios-{self.run}",
            "bundle_id": "com.example.app",
            "environment": "SANDBOX",
            "root_certificate_pem": signer.root_pem,
            "storefront_id": "us",
        }
        path = self.gateway.post("/v1/app-store-apps", {"app": app}, request_id=self.tour.request_id("ios-app"))["app"][
            "notification_path"
        ]
        self.tenant_id = path.split("/")[4]  # /v1/channels/app-store/<tenant>/<app>/notifications
        self.tour.console.print(
            f"  App Store app {app['app_id']} (sandbox) trusts a root made here; notifications to {path}"
        )
        token = str(uuid.uuid4())
        customer = self.linked_customer("lena", "APP_STORE_APP_ACCOUNT_TOKEN", token)
        original, bought_at = str(uuid.uuid4().int)[:16], self.tour.now()
        # NOTE: the renewal is notified now, as if a month had passed: it ends the period a month later.
        periods = (
            ("SUBSCRIBED", "INITIAL_BUY", bought_at + timedelta(days=30)),
            ("DID_RENEW", "", bought_at + timedelta(days=60)),
        )
        for kind, subtype, period_end in periods:
            at = self.tour.now()
            transaction = subscription_transaction(
                original, product_id=APP_STORE_PRODUCT, purchased_at=at, expires_at=period_end, app_account_token=token
            )
            body = signer.notification(kind, subtype, signed_at=at, environment="Sandbox", transaction=transaction)
            [event] = self.signed_post(path, body, **{"Content-Type": "application/json"})["events"]
            self.record("App Store", kind, "lena", customer, event["consistency_token"])
            ends = render.day(self.tour.subscription(event["subscription_id"]).get("current_period_end_time"))
            self.tour.console.print(f"  {kind}: lena's App Store subscription runs until {ends}")

    def google_play(self, emulator_url: str) -> None:
        signer, api_account = SigningGoogle(), f"play-api-{self.run}@azotte-demo.iam.gserviceaccount.com"
        audience = f"https://pubsub.example.com/azotte-demo-{self.run}"
        with httpx.Client(base_url=emulator_url, timeout=30) as emulator:
            emulator.post("/emulator/jwks", json=signer.jwks()).raise_for_status()
            account = {"public_key_pem": signer.api_public_key_pem(), "packages": [PLAY_PACKAGE]}
            emulator.put(f"/emulator/service-accounts/{api_account}", json=account).raise_for_status()
            app = {
                "app_id": f"android-{self.run}",
                "package_name": PLAY_PACKAGE,
                "push_audience": audience,
                "push_service_account_email": PUSH_ACCOUNT,
                "service_account_key_json": signer.service_account_json(api_account),
                "storefront_id": "us",
            }
            created = self.gateway.post(
                "/v1/google-play-apps", {"app": app}, request_id=self.tour.request_id("play-app")
            )
            path = created["app"]["notification_path"]
            self.tour.console.print(
                f"  Google Play app {app['app_id']}: Pub/Sub pushes to {path}, signed by Google's key"
            )
            account_id = uuid.uuid4().hex
            customer = self.linked_customer("milo", "GOOGLE_PLAY_OBFUSCATED_ACCOUNT_ID", account_id)
            purchase_token = f"demo-{uuid.uuid4().hex}"
            steps = (
                (4, "PURCHASED", "SUBSCRIPTION_STATE_ACTIVE", 30),
                (5, "ON_HOLD", "SUBSCRIPTION_STATE_ON_HOLD", -1),
                (1, "RECOVERED", "SUBSCRIPTION_STATE_ACTIVE", 30),
            )
            for notification_type, name, state, days in steps:
                now = self.tour.now()
                purchase = purchase_state(state, expires_at=now + timedelta(days=days), account=account_id)
                emulator.put(
                    f"/emulator/applications/{PLAY_PACKAGE}/subscriptions/{purchase_token}", json=purchase
                ).raise_for_status()
                notification = subscription_notification(PLAY_PACKAGE, notification_type, purchase_token, now)
                # NOTE: the gateway reads Google's keys at most once a minute: Pub/Sub redelivers a push it refused
                # until the gateway knows the key just published.
                answer = self.retried(
                    f"the gateway to accept the {name} push",
                    partial(self.pubsub_push, path, push(notification), signer.push_token(audience)),
                    "CHANNEL_NOTIFICATION_REJECTED",
                    timeout=90.0,
                )
                self.record("Google Play", name, "milo", customer, answer["events"][-1]["consistency_token"])

    def carrier(self) -> None:
        """Carrier billing in storefront `de`: the tenant's carrier account (connected on the first run) takes the
        carrier billing methods; a phone bill pays the first period and, a month later, the renewal."""
        self.tour.wait_for(
            f"payments to read the new account {CARRIER_ACCOUNT} and routing (it keeps them up to 30 s)",
            lambda: time.monotonic() >= self.carrier_read_by,
            timeout=40.0,
        )
        customer = self.tour.customer("noah", "DE")
        self.gateway.post(
            f"/v1/customers/{customer}/payment-methods",
            {"payment_method_token": f"tel:{PHONE_NUMBER}", "type": "CARRIER_BILLING"},
            request_id=self.tour.request_id("phone-bill", customer),
        )
        checkout = {
            "request_id": self.tour.request_id("carrier-checkout", customer),
            "customer_id": customer,
            "storefront_id": "de",
            "plan_id": "premium_monthly",
            "channel": "telecom",
            "skip_trial": True,
        }
        self.gateway.call("POST", "/v1/checkout", json=checkout)
        self.record("carrier", "checkout on the phone bill", "noah", customer)
        self.tour.advance(31)

        def paid() -> int:
            return sum(charge["state"] == "CHARGE_STATE_SUCCEEDED" for charge in self.tour.charges(customer))

        self.tour.wait_for("the renewal on the phone bill", lambda: paid() == 2)
        self.tour.console.print(f"  noah's phone bill: {paid()} periods paid through {CARRIER_ACCOUNT}")
        self.record("carrier", "renewal a month later", "noah", customer)

    def connect_carrier(self, carrier_url: str) -> None:
        """The carrier account, its notifications sent to the gateway; kept from an earlier run."""
        accounts = self.gateway.get("/v1/psp-accounts").get("accounts", [])
        if any(account["account_id"] == CARRIER_ACCOUNT for account in accounts):
            self.tour.console.print(f"  carrier account {CARRIER_ACCOUNT} already connected")
            return
        api_key = f"cb_{uuid.uuid4().hex}"
        sink = f"{self.gateway.base_url}/v1/psp-webhooks/carrier/{self.tenant_id}/{CARRIER_ACCOUNT}"
        with httpx.Client(base_url=carrier_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as http:
            secret = http.post("/_sandbox/notification-endpoints", json={"url": sink}).json()["secret"]
        account = {"account_id": CARRIER_ACCOUNT, "kind": "CARRIER", "mode": "SANDBOX", "display_name": "Carrier DE"}
        credentials = {"carrier": "sandbox", "api_key": api_key, "notification_secret": secret, "flow": "one_step"}
        self.gateway.post(
            "/v1/psp-accounts",
            {"account": account, "credentials": credentials},
            request_id=self.tour.request_id("carrier-account"),
        )
        self.tour.console.print(f"  carrier account {CARRIER_ACCOUNT} connected; its notifications go to {sink}")
        self.carrier_read_by = time.monotonic() + PAYMENTS_CACHE_SECONDS

    def route_carrier_billing(self, storefront_id: str) -> None:
        """The storefront's routing sends carrier billing methods to the carrier account, ahead of its other rules."""
        routing = self.gateway.get(f"/v1/storefronts/{storefront_id}")["storefront"].get("payment_routing", {})
        carrier_rule = {"condition": {"payment_method_types": ["carrier_billing"]}, "psps": [CARRIER_ACCOUNT]}
        rules = routing.get("rules", [])
        if carrier_rule in rules:
            return
        self.gateway.call(
            "PATCH",
            f"/v1/storefronts/{storefront_id}",
            json={
                "request_id": self.tour.request_id("routing", storefront_id),
                "storefront": {"payment_routing": {**routing, "rules": [carrier_rule, *rules]}},
                "update_mask": "payment_routing",
            },
        )
        self.tour.console.print(f"  storefront {storefront_id} routes carrier billing to {CARRIER_ACCOUNT}")
        self.carrier_read_by = time.monotonic() + PAYMENTS_CACHE_SECONDS  # payments keeps storefronts as long

    def partner(self) -> None:
        """A partner (a bundle seller) activates a subscriber by its own reference, signing with its key."""
        key = ed25519.Ed25519PrivateKey.generate()
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        partner_id = f"bundle-{self.run}"
        partner = {"partner_id": partner_id, "display_name": "Bundle Co", "public_key_pem": public_pem.decode()}
        created = self.gateway.post("/v1/partners", {"partner": partner}, request_id=self.tour.request_id("partner"))
        path = created["partner"]["events_path"]
        self.tour.console.print(f"  partner {partner_id} posts events signed with its Ed25519 key to {path}")
        subscriber, now = f"sub-{uuid.uuid4().hex[:10]}", self.tour.now()
        event = {
            "event_id": uuid.uuid4().hex,
            "type": "activate",
            "subscriber_id": subscriber,
            "product_code": PARTNER_PRODUCT,
            "occur_time": now.isoformat(),
            "period_end": (now + timedelta(days=30)).isoformat(),
        }
        # NOTE: the request is dated on the tenant's clock, as the gateway checks it (within five minutes).
        claims = {"iat": int(now.timestamp()), "jti": uuid.uuid4().hex, "events": [event]}
        token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": partner_id})
        [result] = self.signed_post(path, token, **{"Content-Type": "application/jose"})["events"]
        subscription = self.tour.subscription(result["subscription_id"])
        self.tour.console.print(
            f"  the partner's subscriber {subscriber} is now customer {subscription['customer_id']}"
        )
        self.record("partner", "activate", subscriber, subscription["customer_id"], result["consistency_token"])

    def sell_through_partners(self, storefront_id: str) -> None:
        """The storefront sells on the partner channel, and the partner's product code maps to premium_monthly."""
        storefront = self.gateway.get(f"/v1/storefronts/{storefront_id}")["storefront"]
        if "CHANNEL_PARTNER" not in storefront["channels"]:
            self.gateway.call(
                "PATCH",
                f"/v1/storefronts/{storefront_id}",
                json={
                    "request_id": self.tour.request_id("partner-channel", storefront_id),
                    "storefront": {"channels": [*storefront["channels"], "CHANNEL_PARTNER"]},
                    "update_mask": "channels",
                },
            )
        mapped = self.gateway.get("/v1/channel-mappings", filter='plan_id = "premium_monthly"')
        if not any(m["external_product_id"] == PARTNER_PRODUCT for m in mapped.get("channel_mappings", [])):
            mapping = {
                "channel": "CHANNEL_PARTNER",
                "external_product_id": PARTNER_PRODUCT,
                "plan_id": "premium_monthly",
                "storefront_id": storefront_id,
            }
            self.gateway.post(
                "/v1/channel-mappings", {"channel_mapping": mapping}, request_id=self.tour.request_id("mapping")
            )
        self.tour.console.print(
            f"  storefront {storefront_id} sells through partners: {PARTNER_PRODUCT} → premium_monthly"
        )

    def table(self) -> Table:
        table = Table("channel", "step", "subscriber", FEATURE, title="Access after each step")
        for channel, what, who, allowed in self.rows:
            table.add_row(channel, what, who, "[green]allowed[/]" if allowed else "[red]denied[/]")
        return table


def channels_section(tour: Tour, title: str, sandbox_urls: Mapping[str, str]) -> None:
    channels = Channels(tour)
    with tour.step(title):
        missing = [url for url in (GOOGLE_APIS, CARRIER) if url not in sandbox_urls]
        if missing:
            tour.failed.append(f"{title}: the stack's {', '.join(missing)} unknown (no sandbox-urls.json)")
            return
        channels.app_store()  # first: its notification path names the tenant
        channels.connect_carrier(sandbox_urls[CARRIER])
        channels.route_carrier_billing("de")
        channels.sell_through_partners("us")
        channels.google_play(sandbox_urls[GOOGLE_APIS])
        channels.partner()
        channels.carrier()
    if channels.rows:
        tour.console.print(channels.table())
