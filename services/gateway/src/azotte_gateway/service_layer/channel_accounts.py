"""The Google Play apps and partners a tenant configures, and the signed events its partners send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from google.protobuf import timestamp_pb2

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.channel_accounts import GooglePlayApp, Partner, PartnerRequest
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.errors import ChannelAppAlreadyExists, ChannelAppNotFound, ChannelNotificationRejected
from azotte_gateway.ports import GatewayUnitOfWork, Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.partner_sales import book_partner_sale
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform import context
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units

T = TypeVar("T")
# A partner's request id is kept twice the replay window: long enough for any copy of it to be stale.
REQUEST_ID_MEMORY_SECONDS = 600


def google_play_notification_path(tenant_id: str, app_id: str) -> str:
    """Where the app's Pub/Sub push subscription posts (the REST endpoint)."""
    return f"/v1/channels/google-play/{tenant_id}/{app_id}/notifications"


def partner_events_path(tenant_id: str, partner_id: str) -> str:
    """Where a partner posts its signed events (the REST endpoint)."""
    return f"/v1/channels/partners/{tenant_id}/{partner_id}/events"


class PartnerEvents(Protocol):
    """How a partner's requests are verified and its events normalized (`adapters/channels/partners.py`)."""

    def verify(self, token: str, partner: Partner, now: datetime) -> PartnerRequest:
        """The request's claims; ChannelNotificationRejected when its signature, key id or age is wrong."""
        ...

    def event_id(self, event: Any) -> str:
        """The partner's id of one event ("" when it has none)."""
        ...

    def request_id(self, partner: Partner, event_id: str) -> str:
        """The lifecycle request id of one of the partner's events."""
        ...

    async def normalize(self, partner: Partner, index: int, event: Any) -> lc.ChannelEvent:
        """The lifecycle event of `events[index]`; INVALID_ARGUMENT naming its field otherwise."""
        ...


@dataclass(frozen=True)
class PartnerEventAnswer:
    """What became of one partner event: lifecycle's answer, or the error that refused it."""

    event_id: str
    applied: lc.ApplyChannelEventResponse | None = None
    error: AzotteError | None = None


def _stamp(message: Any, at: datetime | None) -> None:
    if at is not None:
        message.create_time.CopyFrom(timestamp_pb2.Timestamp())
        message.create_time.FromDatetime(at)


def _app_message(app: GooglePlayApp) -> ca.GooglePlayApp:
    message = ca.GooglePlayApp(
        app_id=app.app_id,
        package_name=app.package_name,
        push_audience=app.push_audience,
        push_service_account_email=app.push_service_account_email,
        service_account_email=app.service_account_key().client_email,
        storefront_id=app.storefront_id,
        notification_path=google_play_notification_path(app.tenant_id, app.app_id),
    )
    _stamp(message, app.create_time)
    return message


def _partner_message(partner: Partner) -> ca.Partner:
    message = ca.Partner(
        partner_id=partner.partner_id,
        display_name=partner.display_name,
        public_key_pem=partner.public_key_pem,
        algorithm=partner.algorithm,
        events_path=partner_events_path(partner.tenant_id, partner.partner_id),
        revenue_share_bps=partner.revenue_share_bps,
    )
    _stamp(message, partner.create_time)
    return message


def _found(value: T | None, what: str) -> T:
    if value is None:
        raise ChannelAppNotFound(f"the tenant has no {what}")
    return value


@dataclass(frozen=True)
class ChannelAccounts:
    """Google Play apps and partners (`manage_channels`), and what partners post."""

    units: Units[GatewayUnitOfWork]
    peers: Peers
    partner_events: PartnerEvents

    async def create_google_play_app(
        self, caller: Caller, request: ca.CreateGooglePlayAppRequest
    ) -> ca.CreateGooglePlayAppResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        require_mutation(request)
        given = request.app

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ca.CreateGooglePlayAppResponse:
            app = GooglePlayApp(
                tenant_id=tenant_id,
                app_id=given.app_id,
                package_name=given.package_name,
                push_audience=given.push_audience,
                push_service_account_email=given.push_service_account_email,
                service_account_key_json=given.service_account_key_json,
                storefront_id=given.storefront_id,
                create_time=uow.clock.now(),
            )
            if not await uow.channel_accounts.add_google_play_app(app):
                raise ChannelAppAlreadyExists(f"the tenant already has a Google Play app {app.app_id!r}")
            return ca.CreateGooglePlayAppResponse(app=_app_message(app))

        return await self.units.mutate(request, ca.CreateGooglePlayAppResponse, work)

    async def get_google_play_app(
        self, caller: Caller, request: ca.GetGooglePlayAppRequest
    ) -> ca.GetGooglePlayAppResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        require(request, "app_id")

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ca.GetGooglePlayAppResponse:
            app = await uow.channel_accounts.google_play_app(tenant_id, request.app_id)
            return ca.GetGooglePlayAppResponse(app=_app_message(_found(app, f"Google Play app {request.app_id!r}")))

        return await self.units.read(work)

    async def list_google_play_apps(
        self, caller: Caller, request: ca.ListGooglePlayAppsRequest
    ) -> ca.ListGooglePlayAppsResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        page = PageRequest.of(request, "google_play_apps")

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ca.ListGooglePlayAppsResponse:
            listed = page.page_in_memory(await uow.channel_accounts.google_play_apps(tenant_id), lambda a: a.app_id)
            apps = [_app_message(app) for app in listed.items]
            return ca.ListGooglePlayAppsResponse(apps=apps, next_page_token=listed.next_page_token)

        return await self.units.read(work)

    async def create_partner(self, caller: Caller, request: ca.CreatePartnerRequest) -> ca.CreatePartnerResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        require_mutation(request)
        given = request.partner

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ca.CreatePartnerResponse:
            partner = Partner(
                tenant_id=tenant_id,
                partner_id=given.partner_id,
                public_key_pem=given.public_key_pem,
                display_name=given.display_name,
                create_time=uow.clock.now(),
                **({"revenue_share_bps": given.revenue_share_bps} if given.HasField("revenue_share_bps") else {}),
            )
            if not await uow.channel_accounts.add_partner(partner):
                raise ChannelAppAlreadyExists(f"the tenant already has a partner {partner.partner_id!r}")
            return ca.CreatePartnerResponse(partner=_partner_message(partner))

        return await self.units.mutate(request, ca.CreatePartnerResponse, work)

    async def get_partner(self, caller: Caller, request: ca.GetPartnerRequest) -> ca.GetPartnerResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        require(request, "partner_id")

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ca.GetPartnerResponse:
            partner = await uow.channel_accounts.partner(tenant_id, request.partner_id)
            return ca.GetPartnerResponse(partner=_partner_message(_found(partner, f"partner {request.partner_id!r}")))

        return await self.units.read(work)

    async def list_partners(self, caller: Caller, request: ca.ListPartnersRequest) -> ca.ListPartnersResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        page = PageRequest.of(request, "partners")

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> ca.ListPartnersResponse:
            listed = page.page_in_memory(await uow.channel_accounts.partners(tenant_id), lambda p: p.partner_id)
            partners = [_partner_message(partner) for partner in listed.items]
            return ca.ListPartnersResponse(partners=partners, next_page_token=listed.next_page_token)

        return await self.units.read(work)

    async def receive_partner_events(self, tenant_id: str, partner_id: str, token: str) -> Sequence[PartnerEventAnswer]:
        """Verify a partner's signed request, refuse a replayed one, and apply each of its events on its own,
        booking each period the partner billed under its wholesale terms.

        Nothing is applied unless the whole request verifies; then an event refused (unknown product, a
        missing field) does not hold back the others, and its answer names the field.
        """
        with context.tenant_scope(tenant_id, f"channel:partner:{partner_id}"):
            partner, request = await self._claim(partner_id, token)
            answers = []
            for index, event in enumerate(request.events):
                answers.append(await self._apply(partner, index, event))
            return answers

    async def _claim(self, partner_id: str, token: str) -> tuple[Partner, PartnerRequest]:
        async with self.units.factory() as uow:
            tenant_id = context.require_tenant()
            partner = await uow.channel_accounts.partner(tenant_id, partner_id)
            if partner is None:
                raise ChannelAppNotFound(f"no partner {partner_id!r} is configured")
            now = uow.clock.now()
            request = self.partner_events.verify(token, partner, now)
            forget_before = datetime.fromtimestamp(now.timestamp() - REQUEST_ID_MEMORY_SECONDS, now.tzinfo)
            if not await uow.channel_accounts.claim_partner_request(
                tenant_id, partner_id, request.jti, now, forget_before
            ):
                raise ChannelNotificationRejected("partner request rejected: its jti was used before (a replay)")
            await uow.commit()
        return partner, request

    async def _apply(self, partner: Partner, index: int, event: Any) -> PartnerEventAnswer:
        event_id = self.partner_events.event_id(event)
        try:
            normalized = await self.partner_events.normalize(partner, index, event)
            applied = await self.peers.lifecycle.ApplyChannelEvent(
                lc.ApplyChannelEventRequest(
                    request_id=self.partner_events.request_id(partner, event_id), event=normalized
                )
            )
        except InvalidArgument as error:
            return PartnerEventAnswer(event_id, error=_in_event(error, index))
        except AzotteError as error:
            return PartnerEventAnswer(event_id, error=error)
        await book_partner_sale(self.peers, partner, normalized, applied)
        return PartnerEventAnswer(event_id, applied=applied)


def _in_event(error: InvalidArgument, index: int) -> InvalidArgument:
    """Lifecycle's refusal of `event.<field>` as the partner's `events[index].<field>`."""
    violations = [
        replace(v, field=f"events[{index}].{v.field.removeprefix('event.')}") if v.field.startswith("event.") else v
        for v in error.violations
    ]
    return InvalidArgument(error.message, violations)


@dataclass(frozen=True)
class StoredGooglePlayApps:
    """Implements the Google Play verifier's `GooglePlayApps` over the gateway's database."""

    units: Units[GatewayUnitOfWork]

    async def find(self, tenant_id: str, app_id: str) -> GooglePlayApp | None:
        with context.tenant_scope(tenant_id, "channel:google_play"):
            return await self.units.read(lambda uow, tenant: uow.channel_accounts.google_play_app(tenant, app_id))
