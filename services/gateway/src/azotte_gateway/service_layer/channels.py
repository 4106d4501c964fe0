"""Notifications of store-billed channels: verify, normalize, apply to lifecycle once; the channel apps they name."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from google.protobuf import timestamp_pb2

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.channel_inbox import AppliedEvent, InboxNotification
from azotte_gateway.domain.channels import (
    AppStoreApp,
    AppStoreEnvironment,
    InAppPurchaseKey,
    RawNotification,
    SealedServerApiKey,
    TrustedNotification,
)
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.errors import ChannelAppAlreadyExists, ChannelAppNotFound
from azotte_gateway.ports import ChannelHistory, ChannelNotifications, GatewayUnitOfWork, Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.channel_inbox import ChannelInbox
from azotte_gateway.service_layer.store_redemptions import report_store_redemption
from azotte_gateway.service_layer.store_sales import book_store_sale
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform import context
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument, SubscriptionNotFound
from azotte_platform.paging import PageRequest
from azotte_platform.request_ids import derive_request_id
from azotte_platform.sealing import Keyring
from azotte_platform.service_kit import Units

log = logging.getLogger(__name__)

_ENVIRONMENTS = {
    ca.APP_STORE_ENVIRONMENT_PRODUCTION: AppStoreEnvironment.PRODUCTION,
    ca.APP_STORE_ENVIRONMENT_SANDBOX: AppStoreEnvironment.SANDBOX,
}


def notification_request_id(channel: Channel, notification_id: str, index: int) -> str:
    """The request id of the `index`-th event of a notification: the same for every redelivery of it."""
    return derive_request_id("channel", channel.value, notification_id, str(index))


def app_store_notification_path(tenant_id: str, app_id: str) -> str:
    """Where Apple posts an app's notifications (the REST endpoint)."""
    return f"/v1/channels/app-store/{tenant_id}/{app_id}/notifications"


def _app_message(app: AppStoreApp) -> ca.AppStoreApp:
    environment = {v: k for k, v in _ENVIRONMENTS.items()}[app.environment]
    message = ca.AppStoreApp(
        app_id=app.app_id,
        bundle_id=app.bundle_id,
        environment=environment,
        root_certificate_pem=app.root_certificate_pem,
        app_apple_id=app.app_apple_id,
        storefront_id=app.storefront_id,
        notification_path=app_store_notification_path(app.tenant_id, app.app_id),
    )
    if app.server_api is not None:
        message.server_api.CopyFrom(
            ca.AppStoreServerApiKey(
                issuer_id=app.server_api.issuer_id, key_id=app.server_api.key_id, private_key_set=True
            )
        )
    if app.create_time is not None:
        message.create_time.CopyFrom(timestamp_pb2.Timestamp())
        message.create_time.FromDatetime(app.create_time)
    return message


@dataclass(frozen=True)
class ChannelEventApplier:
    """Applies a verified notification's events to lifecycle, in order, and books what the store sold."""

    notifications: ChannelNotifications
    peers: Peers
    # Per channel, what recovers the missed history of a subscription lifecycle does not know.
    histories: Mapping[Channel, ChannelHistory] = field(default_factory=dict)

    async def apply(self, channel: Channel, trusted: TrustedNotification) -> list[AppliedEvent]:
        """Normalize the notification and apply its events to the current tenant's subscriptions in order.

        A notification lifecycle has no event for applies nothing (acknowledged, logged as ignored). When its
        first event is for a subscription lifecycle does not know, the channel's history (if it has one) of that
        subscription is applied first, then the event again.
        """
        events = await self.notifications.normalize(channel, trusted)
        if not events:
            log.info(
                "channel notification ignored: nothing to apply",
                extra={"channel": channel.value, "notification_id": trusted.notification_id},
            )
        applied: list[AppliedEvent] = []
        for index, event in enumerate(events):
            # NOTE: every attempt at a notification derives the same request ids from the notification's own
            # id, so lifecycle applies each event once.
            request_id = notification_request_id(channel, trusted.notification_id, index)
            try:
                answer = await self._apply_event(request_id, event)
            except SubscriptionNotFound:
                if index > 0 or not await self._apply_history(channel, trusted):
                    raise
                answer = await self._apply_event(request_id, event)
            outcome = lc.ChannelEventOutcome.Name(answer.outcome).removeprefix("CHANNEL_EVENT_OUTCOME_")
            applied.append(AppliedEvent(outcome, answer.subscription.id, answer.consistency_token))
        await self.notifications.acknowledge(channel, trusted)
        return applied

    async def _apply_event(self, request_id: str, event: lc.ChannelEvent) -> lc.ApplyChannelEventResponse:
        answer = await self.peers.lifecycle.ApplyChannelEvent(
            lc.ApplyChannelEventRequest(request_id=request_id, event=event)
        )
        await book_store_sale(self.peers, event, answer)
        await report_store_redemption(self.peers, event, answer)
        return answer

    async def _apply_history(self, channel: Channel, trusted: TrustedNotification) -> bool:
        """Apply what the channel's history holds before the notification, oldest first; False when it holds none."""
        history = self.histories.get(channel)
        missed = [] if history is None else await history.missed_events(trusted)
        for event in missed:
            # NOTE: a history event's id is the channel's own transaction id: every notification that recovers it
            # derives the same request id, so lifecycle applies it once.
            await self._apply_event(derive_request_id("channel-history", channel.value, event.event_id), event)
        if missed:
            log.info(
                "channel history applied before a notification",
                extra={"channel": channel.value, "notification_id": trusted.notification_id, "events": len(missed)},
            )
        return bool(missed)


@dataclass(frozen=True)
class Channels:
    """What arrives from App Store, Google Play, telecom carriers and partners, and the apps it is for."""

    inbox: ChannelInbox
    units: Units[GatewayUnitOfWork]
    # Seals the apps' in-app purchase keys (AZOTTE_GATEWAY_KEKS).
    keyring: Keyring

    async def receive_notification(self, channel: Channel, tenant_id: str, raw: RawNotification) -> InboxNotification:
        """Verify a notification (refused when it fails), store it in the inbox once, and apply it."""
        return await self.inbox.receive(channel, tenant_id, raw)

    async def create_app_store_app(
        self, caller: Caller, request: ca.CreateAppStoreAppRequest
    ) -> ca.CreateAppStoreAppResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        require_mutation(request)
        given = request.app
        if given.environment not in _ENVIRONMENTS:
            raise InvalidArgument.field("app.environment", "must be PRODUCTION or SANDBOX")
        api = given.server_api
        key = InAppPurchaseKey(api.issuer_id, api.key_id, api.private_key_pem) if given.HasField("server_api") else None

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ca.CreateAppStoreAppResponse:
            server_api = None
            if key is not None:
                sealed = self.keyring.seal(
                    key.private_key_pem.encode(), SealedServerApiKey.binding(tenant_id, given.app_id)
                )
                server_api = SealedServerApiKey(key.issuer_id, key.key_id, sealed)
            app = AppStoreApp(
                tenant_id=tenant_id,
                app_id=given.app_id,
                bundle_id=given.bundle_id,
                environment=_ENVIRONMENTS[given.environment],
                root_certificate_pem=given.root_certificate_pem,
                app_apple_id=given.app_apple_id,
                storefront_id=given.storefront_id,
                create_time=uow.clock.now(),
                server_api=server_api,
            )
            if not await uow.app_store_apps.add(app):
                raise ChannelAppAlreadyExists(f"the tenant already has an App Store app {app.app_id!r}")
            return ca.CreateAppStoreAppResponse(app=_app_message(app))

        return await self.units.mutate(request, ca.CreateAppStoreAppResponse, work)

    async def get_app_store_app(self, caller: Caller, request: ca.GetAppStoreAppRequest) -> ca.GetAppStoreAppResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        require(request, "app_id")

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ca.GetAppStoreAppResponse:
            app = await uow.app_store_apps.get(tenant_id, request.app_id)
            if app is None:
                raise ChannelAppNotFound(f"the tenant has no App Store app {request.app_id!r}")
            return ca.GetAppStoreAppResponse(app=_app_message(app))

        return await self.units.read(work)

    async def list_app_store_apps(
        self, caller: Caller, request: ca.ListAppStoreAppsRequest
    ) -> ca.ListAppStoreAppsResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        page = PageRequest.of(request, "app_store_apps")

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ca.ListAppStoreAppsResponse:
            listed = page.page_in_memory(await uow.app_store_apps.list(tenant_id), lambda app: app.app_id)
            apps = [_app_message(app) for app in listed.items]
            return ca.ListAppStoreAppsResponse(apps=apps, next_page_token=listed.next_page_token)

        return await self.units.read(work)


@dataclass(frozen=True)
class StoredAppStoreApps:
    """Implements the App Store verifier's `AppStoreApps` over the gateway's database."""

    units: Units[GatewayUnitOfWork]

    async def find(self, tenant_id: str, app_id: str) -> AppStoreApp | None:
        with context.tenant_scope(tenant_id, "channel:app_store"):
            return await self.units.read(lambda uow, tenant: uow.app_store_apps.get(tenant, app_id))
