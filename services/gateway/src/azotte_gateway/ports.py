"""What the gateway's use cases need: its repositories and unit of work, the services behind it, channel adapters.

`adapters/` implements them (PostgreSQL, gRPC stubs, channel adapters); the unit tests' fakes
implement them in memory. The peers are typed as the generated async stubs, so a fake is a plain
object with the methods a test uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.api_keys import ApiKey, ApiKeyListing
from azotte_gateway.domain.channel_accounts import GooglePlayApp, Partner
from azotte_gateway.domain.channel_inbox import InboxNotification, InboxQuery
from azotte_gateway.domain.channels import AppStoreApp, RawNotification, TrustedNotification
from azotte_gateway.domain.portal_users import PortalSession, PortalUser
from azotte_gateway.domain.revenue import (
    Balances,
    CampaignConversion,
    CampaignFigures,
    ChargeSeriesCounts,
    DayFigures,
    DeclineCount,
    EntryQuery,
    ExchangeRate,
    IntervalUnit,
    RevenueEntry,
    Slice,
    SubscriptionStanding,
    UsageFigures,
    VariantFigures,
)
from azotte_gateway.domain.tenants import Tenant
from azotte_gateway.domain.webhooks import (
    DeliveryAttempt,
    DeliveryResult,
    MessageQuery,
    WebhookEndpoint,
    WebhookMessage,
)
from azotte_platform.clock import TenantTimes
from azotte_platform.enums import Channel
from azotte_platform.events.envelope import Event, ReceivedEvent
from azotte_platform.paging import Page, PageRequest
from azotte_platform.ports import AbstractUnitOfWork
from azotte_platform.tax import TaxPolicy

if TYPE_CHECKING:
    from azotte.catalog.v1.catalog_pb2_grpc import CatalogServiceAsyncStub
    from azotte.entitlement.v1.entitlement_pb2_grpc import EntitlementServiceAsyncStub
    from azotte.lifecycle.v1.contracts_pb2_grpc import ContractsServiceAsyncStub
    from azotte.lifecycle.v1.lifecycle_pb2_grpc import LifecycleServiceAsyncStub
    from azotte.metering.v1.metering_pb2_grpc import MeteringServiceAsyncStub
    from azotte.metering.v1.wallets_pb2_grpc import WalletsServiceAsyncStub
    from azotte.payments.v1.invoices_pb2_grpc import InvoicesServiceAsyncStub
    from azotte.payments.v1.payments_pb2_grpc import PaymentsServiceAsyncStub
    from azotte.promotions.v1.promotions_pb2_grpc import PromotionsServiceAsyncStub


class TenantRepository(Protocol):
    """Tenants, by id."""

    async def add(self, tenant: Tenant, create_time: datetime) -> bool:
        """Insert the tenant; False when its id is taken."""
        ...

    async def get(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        ...

    async def any_exists(self) -> bool:
        """True once any tenant has been created."""
        ...

    async def lock_bootstrap(self) -> None:
        """Serialize first-start bootstraps of several replicas until the transaction ends."""
        ...


class ApiKeyRepository(Protocol):
    """API keys: looked up by their visible prefix, listed and revoked within a tenant."""

    async def add(self, key: ApiKey) -> None:
        """Insert a new key."""
        ...

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        """The key with this prefix, whatever its tenant (the key names its tenant)."""
        ...

    async def get(self, tenant_id: str, api_key_id: str, *, for_update: bool = False) -> ApiKey | None:
        """One key of the tenant, optionally locked until the transaction ends."""
        ...

    async def save_revocation(self, key: ApiKey) -> None:
        """Store the key's revocation time."""
        ...

    async def list_page(self, tenant_id: str, page: PageRequest, listing: ApiKeyListing) -> Page[ApiKey]:
        """One page of the tenant's keys that `listing` shows, in its order."""
        ...


class AppStoreAppRepository(Protocol):
    """A tenant's App Store apps, by id."""

    async def add(self, app: AppStoreApp) -> bool:
        """Insert the app; False when the tenant already has one of its id."""
        ...

    async def get(self, tenant_id: str, app_id: str) -> AppStoreApp | None:
        """The tenant's app, or None."""
        ...

    async def list(self, tenant_id: str) -> list[AppStoreApp]:
        """Every app of the tenant, by id."""
        ...


class ChannelAccountRepository(Protocol):
    """A tenant's Google Play apps and partners by id, and the request ids (`jti`) its partners used."""

    async def add_google_play_app(self, app: GooglePlayApp) -> bool:
        """Insert the app; False when the tenant already has one of its id."""
        ...

    async def google_play_app(self, tenant_id: str, app_id: str) -> GooglePlayApp | None:
        """The tenant's Google Play app, or None."""
        ...

    async def google_play_apps(self, tenant_id: str) -> list[GooglePlayApp]:
        """Every Google Play app of the tenant, by id."""
        ...

    async def add_partner(self, partner: Partner) -> bool:
        """Insert the partner; False when the tenant already has one of its id."""
        ...

    async def partner(self, tenant_id: str, partner_id: str) -> Partner | None:
        """The tenant's partner, or None."""
        ...

    async def partners(self, tenant_id: str) -> list[Partner]:
        """Every partner of the tenant, by id."""
        ...

    async def claim_partner_request(
        self, tenant_id: str, partner_id: str, jti: str, now: datetime, forget_before: datetime
    ) -> bool:
        """Record a partner's request id; False when seen before (a replay). Forgets ids seen before `forget_before`."""
        ...


class RevenueRepository(Protocol):
    """The revenue stream, the standings it keeps, and the sums every figure is made of."""

    async def lock_tenant(self, tenant_id: str) -> None:
        """Apply the tenant's events one at a time (and never beside a rebuild of its read models)."""
        ...

    async def recall(self, tenant_id: str, event_ids: Collection[str]) -> None:
        """Read at once which of the events are in the stream, for `has` to answer them in this transaction
        (the caller holds the tenant's lock, so none is added meanwhile)."""
        ...

    async def has(self, tenant_id: str, event_id: str) -> bool:
        """Whether the event is already in the stream."""
        ...

    async def add(self, tenant_id: str, entry: RevenueEntry) -> None:
        """Append an entry to the tenant's stream (written at the transaction's commit, or before it reads)."""
        ...

    async def standing(self, tenant_id: str, subscription_id: str) -> SubscriptionStanding:
        """Where the subscription stands for MRR (unseen when it has no event yet)."""
        ...

    async def save_standing(self, tenant_id: str, subscription_id: str, standing: SubscriptionStanding) -> None:
        """Remember where the subscription stands now."""
        ...

    async def count_paying(self, tenant_id: str, customer_id: str, delta: int) -> int:
        """Move the customer's count of paying subscriptions; +1 / -1 when the customer starts / stops paying."""
        ...

    async def count(self, tenant_id: str) -> int:
        """How many entries the tenant's stream holds."""
        ...

    async def forget(self, tenant_id: str) -> None:
        """Drop the tenant's stream and standings (its exchange rates stay)."""
        ...

    async def balances(self, tenant_id: str, where: Slice, before: datetime) -> list[Balances]:
        """MRR and counts per currency just before `before`."""
        ...

    async def days(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[DayFigures]:
        """Each day's sums per currency within [start, end)."""
        ...

    async def charge_series(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> ChargeSeriesCounts:
        """Charge series started within [start, end) and how they ended."""
        ...

    async def declines(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[DeclineCount]:
        """Failed charges by reason and PSP, most frequent first."""
        ...

    async def campaigns(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[CampaignFigures]:
        """Redemptions per promotion and currency, with the revenue of the charges they discounted."""
        ...

    async def campaign_conversions(
        self, tenant_id: str, where: Slice, start: datetime, end: datetime
    ) -> list[CampaignConversion]:
        """Campaign offers issued in the window per campaign and promotion, and those redeemed before `end`."""
        ...

    async def experiment(
        self, tenant_id: str, experiment_id: str, start: datetime, end: datetime
    ) -> list[VariantFigures]:
        """Per variant: customers assigned in the window, those who started paying and their net revenue since
        their assignment, up to `end`."""
        ...

    async def usage(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[UsageFigures]:
        """Per meter and currency, the usage the window's succeeded charges billed."""
        ...

    async def entries(self, tenant_id: str, query: EntryQuery, page: PageRequest) -> Page[RevenueEntry]:
        """A page of the stream in its order."""
        ...

    async def rates(self, tenant_id: str, reporting_currency: str) -> list[ExchangeRate]:
        """Every stored rate into `reporting_currency`."""
        ...

    async def put_rate(self, tenant_id: str, rate: ExchangeRate) -> None:
        """Store (or correct) the rate of a currency from a date."""
        ...


class RecurringTerms(NamedTuple):
    """What turns a renewal price into MRR: its plan's interval (`units` of `unit`) and its storefront's tax."""

    unit: IntervalUnit
    units: int
    tax: TaxPolicy


class RevenueCatalog(Protocol):
    """The catalog facts revenue analytics needs."""

    async def recurring_terms(self, tenant_id: str, plan_id: str, storefront_id: str) -> RecurringTerms: ...


class EventHistory(Protocol):
    """Every event a producer published for a tenant, from the first (for rebuilding read models)."""

    def replay(self, producer: str, tenant_id: str) -> AsyncIterator[ReceivedEvent]: ...


class GatewayUnitOfWork(AbstractUnitOfWork, Protocol):
    """One transaction over tenants, API keys and the request ids the gateway answers itself."""

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def app_store_apps(self) -> AppStoreAppRepository: ...

    @property
    def revenue(self) -> RevenueRepository: ...

    @property
    def channel_accounts(self) -> ChannelAccountRepository: ...

    @property
    def channel_inbox(self) -> ChannelInboxRepository: ...


class ChannelInboxRepository(Protocol):
    """The notification inbox: each channel notification once per (tenant, channel, notification id)."""

    async def add(self, notification: InboxNotification) -> bool:
        """Store a notification; False when it is stored already (a redelivery)."""
        ...

    async def get(
        self, tenant_id: str, channel: Channel, notification_id: str, *, for_update: bool = False
    ) -> InboxNotification | None:
        """The tenant's notification, optionally locked until the transaction ends."""
        ...

    async def save(self, notification: InboxNotification) -> None:
        """Store the notification's progress (state, attempts, error, next attempt, applied events)."""
        ...

    async def list_page(self, tenant_id: str, page: PageRequest, query: InboxQuery) -> Page[InboxNotification]:
        """One page of the tenant's notifications, the newest event first."""
        ...

    async def claim_due(self, times: TenantTimes, limit: int, lease: timedelta) -> list[InboxNotification]:
        """Failed notifications (and received ones whose attempt outlived its lease) due by their tenant's clock,
        the oldest event first, leased for `lease`."""
        ...

    async def next_due_in(self, times: TenantTimes) -> timedelta | None:
        """How long until the next pending notification is due (negative: overdue); None when none is."""
        ...


class Peers(Protocol):
    """The services the gateway fronts; the caller's tenant travels in the request context."""

    @property
    def catalog(self) -> CatalogServiceAsyncStub: ...

    @property
    def lifecycle(self) -> LifecycleServiceAsyncStub: ...

    @property
    def payments(self) -> PaymentsServiceAsyncStub: ...

    @property
    def entitlement(self) -> EntitlementServiceAsyncStub: ...

    @property
    def promotions(self) -> PromotionsServiceAsyncStub: ...

    @property
    def metering(self) -> MeteringServiceAsyncStub: ...

    @property
    def wallets(self) -> WalletsServiceAsyncStub:
        """Metering's usage billing: prices, wallets, limits, previews."""
        ...

    @property
    def invoices(self) -> InvoicesServiceAsyncStub:
        """Payments' invoices, credit notes and bank transfers."""
        ...

    @property
    def contracts(self) -> ContractsServiceAsyncStub:
        """Lifecycle's enterprise contracts."""
        ...


class ChannelNotifications(Protocol):
    """The registered channel adapters: each verifies and normalizes its own channel's notifications."""

    async def verify(self, channel: Channel, raw: RawNotification) -> TrustedNotification:
        """The notification's trusted payload; ChannelNotificationRejected when it fails verification."""
        ...

    async def normalize(self, channel: Channel, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        """The lifecycle channel events the notification stands for, in order."""
        ...

    async def acknowledge(self, channel: Channel, notification: TrustedNotification) -> None:
        """Tell the channel its notification was applied, when the channel asks for it."""
        ...


class ChannelHistory(Protocol):
    """A channel's record of a subscription's past (the App Store Server API's transaction history)."""

    async def missed_events(self, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        """The events of the notification's subscription before it, oldest first, each with the channel's own id
        as event id; empty when the channel's history cannot be read for it (no key configured)."""
        ...


class WebhookRepository(Protocol):
    """Webhook endpoints, their messages (the queue of pending attempts) and the attempts' log, per tenant."""

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Insert a new endpoint."""
        ...

    async def get_endpoint(
        self, tenant_id: str, endpoint_id: str, *, for_update: bool = False
    ) -> WebhookEndpoint | None:
        """The tenant's endpoint, optionally locked until the transaction ends."""
        ...

    async def list_endpoints(self, tenant_id: str, page: PageRequest) -> Page[WebhookEndpoint]:
        """One page of the tenant's endpoints, oldest first."""
        ...

    async def enabled_endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        """Every enabled endpoint of the tenant."""
        ...

    async def save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Store the endpoint's changed fields."""
        ...

    async def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> bool:
        """Remove the endpoint with its messages and attempts; False when there was none."""
        ...

    async def add_messages(self, messages: Sequence[WebhookMessage]) -> None:
        """Insert messages; one already there (the same event again) is left as it is."""
        ...

    async def get_message(self, tenant_id: str, message_id: str, *, for_update: bool = False) -> WebhookMessage | None:
        """The tenant's message, optionally locked."""
        ...

    async def save_message(self, message: WebhookMessage) -> None:
        """Store the message's state, counts and next attempt time."""
        ...

    async def list_messages(self, tenant_id: str, page: PageRequest, query: MessageQuery) -> Page[WebhookMessage]:
        """One page of the tenant's messages matching `query`, newest first."""
        ...

    async def add_attempts(self, attempts: Sequence[DeliveryAttempt]) -> None:
        """Append attempts to the log."""
        ...

    async def list_attempts(self, tenant_id: str, message_id: str, page: PageRequest) -> Page[DeliveryAttempt]:
        """One page of a message's attempts, oldest first."""
        ...

    async def claim_due(
        self, times: TenantTimes, limit: int, lease: timedelta
    ) -> list[tuple[WebhookMessage, WebhookEndpoint]]:
        """Up to `limit` pending messages of enabled endpoints due by their tenant's time, each pushed `lease`
        into its tenant's future (so another replica takes it over only if this one never reports back)."""
        ...

    async def next_due_in(self, times: TenantTimes) -> timedelta | None:
        """How long until the earliest pending message is due by its tenant's time (None: nothing pending)."""
        ...

    async def fail_pending(self, tenant_id: str, endpoint_id: str) -> None:
        """End every pending message of an endpoint as failed (it was disabled)."""
        ...

    async def replay_range(
        self,
        tenant_id: str,
        endpoint_id: str,
        start: datetime,
        end: datetime,
        *,
        include_delivered: bool,
        now: datetime,
    ) -> int:
        """Queue again, for `now`, the endpoint's messages created in [start, end) (only failed ones unless
        `include_delivered`); how many."""
        ...


class WebhooksUnitOfWork(AbstractUnitOfWork, Protocol):
    """One transaction over the webhook tables; `record` publishes an event (e.g. an endpoint disabled) with it."""

    @property
    def webhooks(self) -> WebhookRepository: ...

    def record(self, *events: Event) -> None:
        """Publish `events` if, and only if, this unit of work commits."""
        ...


class PortalUserRepository(Protocol):
    """Portal users within a tenant, and the failed sign-ins the lock-out counts."""

    async def add(self, user: PortalUser) -> bool:
        """Insert the user; False when the tenant already has a user with its email."""
        ...

    async def get(self, tenant_id: str, user_id: str, *, for_update: bool = False) -> PortalUser | None:
        """The user, or None."""
        ...

    async def by_email(self, tenant_id: str, email: str) -> PortalUser | None:
        """The user with this (normalized) email, or None."""
        ...

    async def list_page(self, tenant_id: str, page: PageRequest) -> Page[PortalUser]:
        """The tenant's users by email."""
        ...

    async def save_disable(self, user: PortalUser) -> None:
        """Store the user's disable time."""
        ...

    async def record_failure(self, tenant_id: str, email: str, at: datetime) -> None:
        """Remember a failed sign-in for this email (known or not)."""
        ...

    async def failures_since(self, tenant_id: str, email: str, since: datetime) -> list[datetime]:
        """The times of this email's failed sign-ins since `since`."""
        ...


class PortalSessionRepository(Protocol):
    """Portal sessions by the hash of their token."""

    async def add(self, session: PortalSession) -> None:
        """Insert a new session."""
        ...

    async def get(self, token_hash: str) -> PortalSession | None:
        """The session, or None."""
        ...

    async def touch(self, token_hash: str, at: datetime) -> None:
        """Record the session's last use."""
        ...

    async def delete(self, token_hash: str) -> None:
        """End one session."""
        ...

    async def delete_of_user(self, tenant_id: str, user_id: str) -> None:
        """End every session of a user."""
        ...


class PortalUnitOfWork(AbstractUnitOfWork, Protocol):
    """One transaction over tenants, portal users and their sessions."""

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def portal_users(self) -> PortalUserRepository: ...

    @property
    def portal_sessions(self) -> PortalSessionRepository: ...


class WebhookSender(Protocol):
    """POSTs one message to an endpoint's URL, re-checking where the URL resolves to just before connecting."""

    async def send(self, url: str, *, sandbox: bool, headers: Mapping[str, str], body: bytes) -> DeliveryResult:
        """The attempt's result; a refused target or a network error is a result too, never an exception."""
        ...


class HostResolver(Protocol):
    """DNS: the addresses a host name (or literal address) stands for."""

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address of `host`; an empty list when it does not resolve."""
        ...
