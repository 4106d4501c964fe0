"""Composition root of the gateway: the areas over PostgreSQL and the services behind it, served over gRPC and REST."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import grpc
import httpx

from azotte_gateway.adapters.channels.app_store import AppStoreNormalizer, AppStoreVerifier
from azotte_gateway.adapters.channels.app_store_api import AppStoreServerApi
from azotte_gateway.adapters.channels.app_store_history import AppStoreHistory
from azotte_gateway.adapters.channels.google_play import (
    GooglePlayAcknowledger,
    GooglePlayNormalizer,
    GooglePlayVerifier,
)
from azotte_gateway.adapters.channels.google_play_api import GoogleEndpoints, HttpJwks, PlayDeveloperApi
from azotte_gateway.adapters.channels.partners import SignedPartnerEvents
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.adapters.peers import GrpcPeers
from azotte_gateway.adapters.unit_of_work import PostgresGatewayUnitOfWork
from azotte_gateway.domain.portal_users import Passwords
from azotte_gateway.domain.rate_limit import RateLimit
from azotte_gateway.entrypoints.rest.app import create_app, rest_server
from azotte_gateway.entrypoints.revenue_consumers import start_analytics
from azotte_gateway.entrypoints.servicer import PUBLIC_SERVICES
from azotte_gateway.entrypoints.webhook_worker import start_webhooks
from azotte_gateway.entrypoints.workers import start_workers, stop_workers
from azotte_gateway.ports import ChannelHistory, GatewayUnitOfWork, Peers, PortalUnitOfWork
from azotte_gateway.service_layer.access import Access, AccessReader
from azotte_gateway.service_layer.admin import SANDBOX_TENANT_ID, Admin
from azotte_gateway.service_layer.auth import Authenticator
from azotte_gateway.service_layer.billing import Billing
from azotte_gateway.service_layer.campaigns import Campaigns
from azotte_gateway.service_layer.catalog import Catalog
from azotte_gateway.service_layer.catalog_reads import CatalogReads
from azotte_gateway.service_layer.channel_accounts import ChannelAccounts, StoredGooglePlayApps
from azotte_gateway.service_layer.channel_inbox import ChannelInbox
from azotte_gateway.service_layer.channels import ChannelEventApplier, Channels, StoredAppStoreApps
from azotte_gateway.service_layer.checkout import Checkout
from azotte_gateway.service_layer.contracts import Contracts
from azotte_gateway.service_layer.customers import Customers, KnownCustomers
from azotte_gateway.service_layer.experiments import Experiments
from azotte_gateway.service_layer.families import Families
from azotte_gateway.service_layer.gateway import Gateway
from azotte_gateway.service_layer.grants import Grants
from azotte_gateway.service_layer.invoices import Invoices
from azotte_gateway.service_layer.localization import FeatureTexts
from azotte_gateway.service_layer.policy import LifecyclePolicies
from azotte_gateway.service_layer.portal_users import SANDBOX_PORTAL_ADMIN, SANDBOX_PORTAL_ADMIN_FILE, PortalUsers
from azotte_gateway.service_layer.promotions import PROMOTION_CHANGES, AutomaticPromotions, Promotions
from azotte_gateway.service_layer.psp_accounts import PspAccounts
from azotte_gateway.service_layer.referrals import Referrals
from azotte_gateway.service_layer.subscriptions import Subscriptions
from azotte_gateway.service_layer.trials import Trials
from azotte_gateway.service_layer.usage import Usage
from azotte_gateway.service_layer.usage_billing import UsageBilling
from azotte_gateway.settings import GatewaySettings
from azotte_platform.enums import Channel
from azotte_platform.events.follow import follow_events
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.sealing import Keyring
from azotte_platform.service_kit import Units
from azotte_platform.tenant_cache import follow_changes

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
KEKS_SETTING = "AZOTTE_GATEWAY_KEKS"


def channel_adapters(
    units: Units[GatewayUnitOfWork], peers: Peers, http: httpx.AsyncClient, google: GoogleEndpoints
) -> ChannelAdapters:
    """The channels whose notifications this gateway serves (partners post to their own endpoint)."""
    adapters = ChannelAdapters()
    adapters.register(
        Channel.APP_STORE,
        AppStoreVerifier(StoredAppStoreApps(units)),
        AppStoreNormalizer(peers),
    )
    play = PlayDeveloperApi(http, google)
    adapters.register(
        Channel.GOOGLE_PLAY,
        GooglePlayVerifier(StoredGooglePlayApps(units), HttpJwks(http, google.certs_url), play),
        GooglePlayNormalizer(peers),
        GooglePlayAcknowledger(play),
    )
    return adapters


def start_channel_inbox(
    runtime: Runtime,
    units: Units[GatewayUnitOfWork],
    adapters: ChannelAdapters,
    peers: Peers,
    histories: Mapping[Channel, ChannelHistory],
) -> ChannelInbox:
    """The notification inbox, and its worker retrying what failed to apply."""
    inbox = ChannelInbox(units, runtime.clock, adapters, ChannelEventApplier(adapters, peers, histories).apply)
    runtime.spawn(inbox.run)
    runtime.on_clock_change(inbox.on_clock_change)
    return inbox


def build_gateway(runtime: Runtime, settings: GatewaySettings, peers: Peers) -> Gateway:
    """Every area over the runtime's database and clock; access answers follow entitlement events."""

    def uow() -> GatewayUnitOfWork:
        return PostgresGatewayUnitOfWork(runtime.engine, "gateway", runtime.clock)

    def portal_uow() -> PortalUnitOfWork:
        return PostgresGatewayUnitOfWork(runtime.engine, "gateway", runtime.clock)

    units = Units(uow)
    clock = runtime.clock
    authenticator = Authenticator(
        uow,
        clock,
        RateLimit(capacity=settings.rate_limit_burst, refill_per_second=settings.rate_limit_per_second),
        cache_seconds=settings.api_key_cache_seconds,
    )
    reader = AccessReader(
        peers,
        clock,
        ttl_seconds=settings.access_cache_seconds,
        settle_seconds=settings.access_cache_settle_seconds,
        max_customers=settings.access_cache_max_customers,
    )

    customers = KnownCustomers(peers, max_customers=settings.access_cache_max_customers)
    texts = FeatureTexts(peers, settings.feature_texts_cache_seconds)
    catalog_reads = CatalogReads(peers, settings.catalog_reads_cache_seconds)
    follow_changes(runtime, "catalog", texts.cache, *catalog_reads.caches)
    automatic = AutomaticPromotions(peers, settings.catalog_reads_cache_seconds)
    follow_changes(runtime, "promotions", automatic.cache, event_types=PROMOTION_CHANGES)

    async def follow_entitlements() -> None:
        await follow_events(runtime.nats, "entitlement", reader.on_entitlement_event)

    async def forget_access() -> None:
        reader.forget_all()

    async def forget_tenant_access(tenant_id: str) -> None:
        reader.forget_tenant(tenant_id)

    runtime.spawn(follow_entitlements)
    runtime.on_clock_change(forget_tenant_access)
    runtime.on_reconnect(forget_access)
    # NOTE: Google's endpoints (OIDC certificates, OAuth token, Play Developer API) share one client.
    http = httpx.AsyncClient(timeout=10.0)
    runtime.on_close(http.aclose)
    adapters = channel_adapters(units, peers, http, GoogleEndpoints.under(settings.google_apis_url))
    keyring = Keyring.parse(settings.gateway_keks.get_secret_value(), KEKS_SETTING)
    app_store_history = AppStoreHistory(
        StoredAppStoreApps(units),
        keyring,
        AppStoreServerApi(http, settings.app_store_api_url),
        AppStoreNormalizer(peers),
    )
    inbox = start_channel_inbox(runtime, units, adapters, peers, {Channel.APP_STORE: app_store_history})
    return Gateway(
        authenticator=authenticator,
        access=Access(peers, reader, customers, texts, settings.watch_resync_seconds),
        checkout=Checkout(
            units, peers, clock, reader, texts, catalog_reads, automatic, settings.checkout_entitlement_wait_seconds
        ),
        subscriptions=Subscriptions(peers, clock, customers, reader),
        billing=Billing(peers, customers),
        catalog=Catalog(peers, catalog_reads),
        admin=Admin(units, clock, authenticator, customers),
        channels=Channels(inbox, units, keyring),
        channel_notifications=inbox,
        channel_accounts=ChannelAccounts(units, peers, SignedPartnerEvents(peers)),
        families=Families(peers, customers),
        grants=Grants(peers, clock, customers, reader),
        customers=Customers(peers, customers),
        policy=LifecyclePolicies(peers),
        promotions=Promotions(peers, customers),
        trials=Trials(peers),
        referrals=Referrals(peers),
        campaigns=Campaigns(peers),
        experiments=Experiments(peers),
        webhooks=start_webhooks(runtime),
        analytics=start_analytics(runtime, peers),
        usage=Usage(peers, customers),
        usage_billing=UsageBilling(peers, customers),
        psp_accounts=PspAccounts(peers),
        invoices=Invoices(peers, customers),
        contracts=Contracts(peers, customers),
        portal_users=PortalUsers(Units(portal_uow), clock, Passwords()),
    )


def register(gateway: Gateway, server: grpc.aio.Server) -> list[str]:
    """Add the public services to a gRPC server; returns their full names."""
    for service in PUBLIC_SERVICES:
        service.add_to_server(service.servicer(gateway), server)
    return [service.descriptor.full_name for service in PUBLIC_SERVICES]


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Bootstrap the sandbox tenant, start REST, and register the gRPC services."""
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    peers = GrpcPeers.connect(
        catalog=settings.catalog_addr,
        lifecycle=settings.lifecycle_addr,
        payments=settings.payments_addr,
        entitlement=settings.entitlement_addr,
        promotions=settings.promotions_addr,
        metering=settings.metering_addr,
    )
    gateway = build_gateway(runtime, settings, peers)
    await gateway.admin.bootstrap(settings.state_dir)
    await gateway.portal_users.add_first_admin(
        SANDBOX_TENANT_ID, SANDBOX_PORTAL_ADMIN, settings.state_dir / SANDBOX_PORTAL_ADMIN_FILE
    )
    rest = rest_server(
        create_app(gateway), settings.rest_host, settings.rest_port, reuse_port=settings.gateway_workers > 1
    )
    runtime.spawn(rest.serve)
    await rest.wait_started()
    return register(gateway, server)


def run() -> None:
    """Serve the gateway, from `AZOTTE_GATEWAY_WORKERS` processes on the same ports (`migrate` only migrates)."""
    workers = [] if sys.argv[1:] == ["migrate"] else start_workers(GatewaySettings().gateway_workers)
    try:
        run_service(ServiceSpec("gateway", MIGRATIONS, GatewaySettings, build))
    finally:
        stop_workers(workers)
