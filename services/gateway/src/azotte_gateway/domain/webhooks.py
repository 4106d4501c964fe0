"""Signed webhooks to tenants (Standard Webhooks): endpoints, secrets, signatures, the retry schedule, safe targets.

Pure rules, no I/O: the service layer resolves hosts and sends; this module says what to send, how to sign it,
when to try again and which addresses may be reached.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from azotte_gateway.errors import WebhookEventTypeUnknown, WebhookUrlRefused

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# NOTE: after a rotation the previous secret signs too, so receivers can switch secrets without losing a message.
ROTATION_OVERLAP = timedelta(hours=24)
# The delay before each retry: the 2nd attempt 5 s after the 1st, ..., the 8th 10 h after the 7th.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1
# A `Retry-After` longer than this is capped: a receiver cannot park a message for days.
MAX_RETRY_AFTER = timedelta(hours=10)
DISABLE_AFTER_FAILING = timedelta(days=5)
REQUEST_TIMEOUT_SECONDS = 15.0
RESPONSE_EXCERPT_BYTES = 1024
MAX_EVENT_TYPES = 100
TEST_EVENT_TYPE = "webhook.test"
DISABLED_EVENT_TYPE = "webhook_endpoint.disabled"

# The event types the services publish, which endpoints may filter on (`entity.*` names every type of an entity).
EVENT_TYPES = frozenset(
    {
        # catalog
        "catalog.applied",
        "storefront.created",
        "storefront.updated",
        "feature.created",
        "feature.updated",
        "plan.created",
        "plan.updated",
        "plan.retired",
        "price.scheduled",
        "price.activated",
        "price.cancelled",
        "channel_mapping.created",
        "channel_mapping.updated",
        # lifecycle
        "subscription.created",
        "subscription.activated",
        "subscription.renewed",
        "subscription.renewal_failed",
        "subscription.on_hold",
        "subscription.recovered",
        "subscription.paused",
        "subscription.resumed",
        "subscription.cancel_scheduled",
        "subscription.reactivated",
        "subscription.plan_changed",
        "subscription.plan_change_scheduled",
        "subscription.price_change_scheduled",
        "subscription.price_change_consented",
        "subscription.price_change_declined",
        "subscription.expired",
        "subscription.reinstated",
        "subscription.consumption_requested",
        "subscription.duplicate_across_channels",
        "trial.started",
        "trial.converted",
        "trial.expired",
        # payments
        "payment.succeeded",
        "payment.failed",
        "payment.refunded",
        "credit.granted",
        "revenue.recorded",
        "invoice.issued",
        "invoice.paid",
        "invoice.overdue",
        "invoice.reminder",
        "invoice.voided",
        "invoice.uncollectible",
        "credit_note.issued",
        # entitlement
        "entitlement.granted",
        "entitlement.revoked",
        "entitlement.changed",
        "entitlement.access_withheld",
        "entitlement.drift_corrected",
        "entitlement.feature_suspended",
        "entitlement.feature_restored",
        "entitlement.usage_recorded",
        # promotions
        "promotion.created",
        "promotion.updated",
        "promotion.state_changed",
        "promotion.redeemed",
        "promotion.exhausted",
        "promotion.budget_exhausted",
        "trial.blocked",
    }
)
_ENTITIES = frozenset(event_type.split(".", 1)[0] for event_type in EVENT_TYPES)


class DisabledReason(StrEnum):
    """Why an endpoint receives nothing."""

    BY_TENANT = "by_tenant"
    GONE = "gone"
    FAILING = "failing"


class MessageState(StrEnum):
    """Where a message stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_...` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""
    content = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Sequence[str], message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: one signature per secret, space separated."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets_)


def message_id(endpoint_id: str, event_id: str) -> str:
    """The `webhook-id` of an event for an endpoint: the same however often the event arrives."""
    digest = hashlib.sha256(f"{endpoint_id}\x00{event_id}".encode()).digest()
    return "msg_" + base64.b32encode(digest[:20]).decode().lower()


def new_endpoint_id() -> str:
    """A fresh endpoint id."""
    return "ep_" + secrets.token_hex(12)


def check_event_types(event_types: Iterable[str], field_name: str) -> tuple[str, ...]:
    """The filter as given, each entry a known type or `entity.*`; else INVALID_ARGUMENT naming the entry."""
    checked = tuple(event_types)
    if len(checked) > MAX_EVENT_TYPES:
        raise WebhookEventTypeUnknown.field(field_name, f"must hold at most {MAX_EVENT_TYPES} types")
    for index, event_type in enumerate(checked):
        entity, _, name = event_type.partition(".")
        known = event_type in EVENT_TYPES or (name == "*" and entity in _ENTITIES)
        if not known:
            raise WebhookEventTypeUnknown.field(
                f"{field_name}[{index}]", f"{event_type!r} is not an event type (e.g. subscription.renewed, payment.*)"
            )
    return tuple(dict.fromkeys(checked))


def cloud_event(
    *, event_id: str, event_type: str, source: str, tenant_id: str, time: datetime, subject: str, data: dict[str, Any]
) -> str:
    """A CloudEvent in JSON (structured content mode), compact: the exact body every attempt sends and signs."""
    document = {
        "specversion": "1.0",
        "id": event_id,
        "type": event_type,
        "source": source,
        "time": time.isoformat(),
        "subject": subject,
        "tenantid": tenant_id,
        "datacontenttype": "application/json",
        **data,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class WebhookTarget:
    """Where an endpoint's URL points: its scheme, host (no brackets) and port."""

    scheme: str
    host: str
    port: int


def parse_target(url: str, *, sandbox: bool, field_name: str) -> WebhookTarget:
    """The URL's target, if its form is acceptable: https (http for sandbox tenants), a host, no credentials."""
    if len(url) > 2048:
        raise WebhookUrlRefused.field(field_name, "must be at most 2048 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookUrlRefused.field(field_name, f"is not a valid URL: {error}") from error
    allowed = ("https", "http") if sandbox else ("https",)
    if parts.scheme not in allowed:
        why = "must be an http or https URL" if sandbox else "must be an https URL (live tenants)"
        raise WebhookUrlRefused.field(field_name, why)
    if not parts.hostname:
        raise WebhookUrlRefused.field(field_name, "must name a host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused.field(field_name, "must not carry credentials")
    if parts.fragment:
        raise WebhookUrlRefused.field(field_name, "must not have a fragment")
    return WebhookTarget(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(address: str, *, sandbox: bool) -> str | None:
    """Why a resolved address may not be called (None when it may): only public addresses, plus loopback for
    sandbox tenants (their tests run receivers locally)."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _embedded_ipv4(ip) or ip
    if ip.is_loopback:
        return None if sandbox else f"resolves to a loopback address ({ip})"
    kinds = (
        ("is_unspecified", "an unspecified"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_private", "a private"),
        ("is_reserved", "a reserved"),
    )
    for attribute, kind in kinds:
        if getattr(ip, attribute):
            return f"resolves to {kind} address ({ip})"
    if not ip.is_global:
        return f"resolves to a non-public address ({ip})"
    return None


def target_problem(target: WebhookTarget, addresses: Sequence[str], *, sandbox: bool) -> str | None:
    """Why a target may not be called (None when it may): it must resolve, and every address must be callable."""
    if not addresses:
        return f"{target.host} does not resolve"
    for address in addresses:
        problem = address_problem(address, sandbox=sandbox)
        if problem is not None:
            return f"{target.host} {problem}"
    return None


@dataclass
class WebhookEndpoint:
    """A tenant's endpoint: where its messages go, which events it wants, the secrets that sign them."""

    tenant_id: str
    id: str
    url: str
    description: str
    event_types: tuple[str, ...]
    secret: str = field(repr=False)
    sandbox: bool
    create_time: datetime
    update_time: datetime
    enabled: bool = True
    disabled_reason: DisabledReason | None = None
    disable_time: datetime | None = None
    previous_secret: str | None = field(default=None, repr=False)
    previous_secret_expire_time: datetime | None = None
    # The first failed attempt since the last delivered one (None while deliveries succeed).
    failing_since: datetime | None = None

    def accepts(self, event_type: str) -> bool:
        """True when the endpoint wants events of this type."""
        if not self.event_types:
            return True
        entity = event_type.split(".", 1)[0]
        return event_type in self.event_types or f"{entity}.*" in self.event_types

    def wants(self, event_type: str, event_time: datetime) -> bool:
        """True for an event of a type it accepts that happened since it was created (never the history)."""
        return event_time >= self.create_time and self.accepts(event_type)

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a message sent now: the current one, and the previous one during the overlap."""
        expire = self.previous_secret_expire_time
        if self.previous_secret and expire is not None and now < expire:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def rotate(self, now: datetime, secret: str) -> None:
        """Sign with `secret` from now on; the current secret keeps signing for the overlap."""
        self.previous_secret, self.secret = self.secret, secret
        self.previous_secret_expire_time = now + ROTATION_OVERLAP
        self.update_time = now

    def disable(self, reason: DisabledReason, now: datetime) -> bool:
        """Stop sending to it; False when it already was disabled."""
        if not self.enabled:
            return False
        self.enabled, self.disabled_reason, self.disable_time, self.update_time = False, reason, now, now
        return True

    def enable(self, now: datetime) -> None:
        """Send to it again, starting a fresh failure streak."""
        self.enabled, self.disabled_reason, self.disable_time = True, None, None
        self.failing_since, self.update_time = None, now


@dataclass(frozen=True)
class WebhookMessage:
    """One event for one endpoint; `body` is what every attempt POSTs."""

    tenant_id: str
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    body: str
    create_time: datetime
    state: MessageState = MessageState.PENDING
    attempt_count: int = 0
    # Attempts since the message was last queued (a replay starts the schedule again).
    round_attempts: int = 0
    next_attempt_time: datetime | None = None

    def replayed(self, now: datetime) -> WebhookMessage:
        """Queued again for now, with its schedule from the start."""
        return replace(self, state=MessageState.PENDING, round_attempts=0, next_attempt_time=now)


@dataclass(frozen=True)
class DeliveryResult:
    """What one HTTP attempt got: a status (0 when no answer came), or an error, and the answer's hints."""

    status_code: int
    duration_ms: int
    error: str = ""
    response_excerpt: str = ""
    retry_after: timedelta | None = None

    @property
    def delivered(self) -> bool:
        return 200 <= self.status_code < 300


@dataclass(frozen=True)
class DeliveryAttempt:
    """One line of the delivery log."""

    tenant_id: str
    message_id: str
    endpoint_id: str
    attempt_number: int
    attempt_time: datetime
    status_code: int
    duration_ms: int
    error: str
    response_excerpt: str
    next_attempt_time: datetime | None


@dataclass(frozen=True)
class NextStep:
    """What follows an attempt: the message's new state, when to try again, whether to disable the endpoint."""

    state: MessageState
    next_attempt_time: datetime | None = None
    disable: DisabledReason | None = None


def jittered(delay: timedelta, draw: Callable[[], float]) -> timedelta:
    """`delay` moved by up to ±10%; `draw` gives a number in [0, 1)."""
    return delay * (1 + JITTER * (2 * draw() - 1))


def next_step(
    message: WebhookMessage, endpoint: WebhookEndpoint, result: DeliveryResult, now: datetime, draw: Callable[[], float]
) -> NextStep:
    """Apply the schedule to an attempt just made (`message` counts it already in `round_attempts`).

    NOTE: 2xx delivers; 410 Gone disables the endpoint at once; anything else is retried on the schedule
    (Standard Webhooks': immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) with jitter, never sooner than a
    429/503 `Retry-After` asks; an endpoint whose deliveries have all failed for 5 days is disabled.
    """
    if result.delivered:
        return NextStep(MessageState.DELIVERED)
    if result.status_code == 410:
        return NextStep(MessageState.FAILED, disable=DisabledReason.GONE)
    failing_since = endpoint.failing_since or now
    if now - failing_since >= DISABLE_AFTER_FAILING:
        return NextStep(MessageState.FAILED, disable=DisabledReason.FAILING)
    if message.round_attempts >= MAX_ATTEMPTS:
        return NextStep(MessageState.FAILED)
    delay = jittered(RETRY_DELAYS[message.round_attempts - 1], draw)
    if result.status_code in (429, 503) and result.retry_after is not None:
        delay = max(delay, min(result.retry_after, MAX_RETRY_AFTER))
    return NextStep(MessageState.PENDING, now + delay)


@dataclass(frozen=True)
class MessageQuery:
    """Which messages of the log to list (each unset field: any)."""

    endpoint_id: str | None = None
    event_type: str | None = None
    event_id: str | None = None
    state: MessageState | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
