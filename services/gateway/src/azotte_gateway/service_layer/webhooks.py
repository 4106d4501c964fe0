"""WebhooksService: a tenant's webhook endpoints and secrets, the delivery log, replays and test events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from azotte.gateway.v1 import webhooks_pb2 as wh
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.domain.webhooks import (
    DISABLED_EVENT_TYPE,
    TEST_EVENT_TYPE,
    DisabledReason,
    MessageQuery,
    MessageState,
    WebhookEndpoint,
    WebhookMessage,
    check_event_types,
    cloud_event,
    message_id,
    new_endpoint_id,
    new_secret,
    parse_target,
    target_problem,
)
from azotte_gateway.errors import (
    WebhookEndpointDisabled,
    WebhookEndpointNotFound,
    WebhookMessageNotFound,
    WebhookUrlRefused,
)
from azotte_gateway.ports import HostResolver, WebhooksUnitOfWork
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform import convert
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import Event
from azotte_platform.listing import EQUALITY, Filter
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units

UPDATABLE = ("url", "description", "event_types", "enabled")
MAX_REPLAY_RANGE = timedelta(days=31)
MESSAGE_FILTERS = {
    "endpoint_id": EQUALITY,
    "event_type": EQUALITY,
    "event_id": EQUALITY,
    "state": EQUALITY,
    "create_time": frozenset({">=", "<"}),
}
_REASONS = {
    DisabledReason.BY_TENANT: wh.WEBHOOK_DISABLED_REASON_BY_TENANT,
    DisabledReason.GONE: wh.WEBHOOK_DISABLED_REASON_GONE,
    DisabledReason.FAILING: wh.WEBHOOK_DISABLED_REASON_FAILING,
}
_STATES = {
    MessageState.PENDING: wh.WEBHOOK_MESSAGE_STATE_PENDING,
    MessageState.DELIVERED: wh.WEBHOOK_MESSAGE_STATE_DELIVERED,
    MessageState.FAILED: wh.WEBHOOK_MESSAGE_STATE_FAILED,
}


def endpoint_message(endpoint: WebhookEndpoint) -> wh.WebhookEndpoint:
    """The public form of an endpoint: never a secret."""
    return wh.WebhookEndpoint(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types,
        enabled=endpoint.enabled,
        disabled_reason=_REASONS[endpoint.disabled_reason]
        if endpoint.disabled_reason
        else wh.WEBHOOK_DISABLED_REASON_UNSPECIFIED,
        disable_time=convert.optional_timestamp(endpoint.disable_time),
        create_time=convert.timestamp(endpoint.create_time),
        update_time=convert.timestamp(endpoint.update_time),
        previous_secret_expire_time=convert.optional_timestamp(
            endpoint.previous_secret_expire_time if endpoint.previous_secret else None
        ),
    )


def message_message(message: WebhookMessage) -> wh.WebhookMessage:
    """The public form of a message."""
    return wh.WebhookMessage(
        id=message.id,
        endpoint_id=message.endpoint_id,
        event_id=message.event_id,
        event_type=message.event_type,
        state=_STATES[message.state],
        attempt_count=message.attempt_count,
        create_time=convert.timestamp(message.create_time),
        next_attempt_time=convert.optional_timestamp(message.next_attempt_time),
        body=message.body,
    )


async def disable_endpoint(
    uow: WebhooksUnitOfWork, endpoint: WebhookEndpoint, reason: DisabledReason, now: datetime
) -> None:
    """Stop sending to an endpoint: its pending messages fail (a replay sends them later), and
    `webhook_endpoint.disabled` says so."""
    if not endpoint.disable(reason, now):
        return
    await uow.webhooks.save_endpoint(endpoint)
    await uow.webhooks.fail_pending(endpoint.tenant_id, endpoint.id)
    payload = wh.WebhookEndpointDisabled(
        endpoint_id=endpoint.id, url=endpoint.url, reason=_REASONS[reason], disable_time=convert.timestamp(now)
    )
    uow.record(Event(endpoint.tenant_id, DISABLED_EVENT_TYPE, payload, about=endpoint.id))


def _message_query(request: wh.ListWebhookMessagesRequest) -> tuple[MessageQuery, tuple[object, ...]]:
    parsed = Filter.parse(request.filter, MESSAGE_FILTERS)
    state = parsed.value("state")
    states = {member.name: member for member in MessageState}
    if state is not None and state.upper() not in states:
        raise InvalidArgument.field("filter", f"state must be one of {', '.join(states)}")

    def time(op: str) -> datetime | None:
        value = parsed.value("create_time", op)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise InvalidArgument.field("filter", f"create_time {op} needs an RFC 3339 time") from error
        if moment.tzinfo is None:
            raise InvalidArgument.field("filter", f"create_time {op} needs a time with its offset")
        return moment

    query = MessageQuery(
        endpoint_id=parsed.value("endpoint_id"),
        event_type=parsed.value("event_type"),
        event_id=parsed.value("event_id"),
        state=states[state.upper()] if state is not None else None,
        created_from=time(">="),
        created_before=time("<"),
    )
    return query, parsed.canonical()


@dataclass(frozen=True)
class Webhooks:
    """The WebhooksService RPCs; `queued` wakes the delivery worker when a message is due now."""

    units: Units[WebhooksUnitOfWork]
    resolver: HostResolver
    queued: Callable[[], None]

    async def _checked_url(self, url: str, *, sandbox: bool, field_name: str) -> str:
        """The URL, if its form is acceptable and it resolves to addresses the tenant may call."""
        if not url:
            raise WebhookUrlRefused.field(field_name, "is required")
        target = parse_target(url, sandbox=sandbox, field_name=field_name)
        problem = target_problem(target, await self.resolver.resolve(target.host, target.port), sandbox=sandbox)
        if problem is not None:
            raise WebhookUrlRefused.field(field_name, problem)
        return url

    async def _endpoint(self, uow: WebhooksUnitOfWork, tenant: str, endpoint_id: str) -> WebhookEndpoint:
        endpoint = await uow.webhooks.get_endpoint(tenant, endpoint_id, for_update=True)
        if endpoint is None:
            raise WebhookEndpointNotFound(f"the tenant has no webhook endpoint {endpoint_id!r}")
        return endpoint

    async def create_webhook_endpoint(
        self, caller: Caller, request: wh.CreateWebhookEndpointRequest
    ) -> wh.CreateWebhookEndpointResponse:
        authorize(caller.principal, Permission.MANAGE_WEBHOOKS)
        require_mutation(request)
        given = request.endpoint
        sandbox = caller.tenant.is_sandbox
        url = await self._checked_url(given.url, sandbox=sandbox, field_name="endpoint.url")
        event_types = check_event_types(given.event_types, "endpoint.event_types")
        issued: list[str] = []

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.CreateWebhookEndpointResponse:
            now = uow.clock.now()
            secret = new_secret()
            endpoint = WebhookEndpoint(
                tenant_id=tenant_id,
                id=new_endpoint_id(),
                url=url,
                description=given.description,
                event_types=event_types,
                secret=secret,
                sandbox=sandbox,
                create_time=now,
                update_time=now,
            )
            await uow.webhooks.add_endpoint(endpoint)
            issued.append(secret)
            return wh.CreateWebhookEndpointResponse(endpoint=endpoint_message(endpoint))

        # NOTE: the secret is shown once: the stored answer (for retries) leaves it out; only this call adds it.
        response = await self.units.mutate(request, wh.CreateWebhookEndpointResponse, work)
        if issued:
            response.secret = issued[0]
        return response

    async def get_webhook_endpoint(
        self, caller: Caller, request: wh.GetWebhookEndpointRequest
    ) -> wh.GetWebhookEndpointResponse:
        authorize(caller.principal, Permission.READ_WEBHOOKS)
        require(request, "endpoint_id")

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.GetWebhookEndpointResponse:
            endpoint = await uow.webhooks.get_endpoint(tenant_id, request.endpoint_id)
            if endpoint is None:
                raise WebhookEndpointNotFound(f"the tenant has no webhook endpoint {request.endpoint_id!r}")
            return wh.GetWebhookEndpointResponse(endpoint=endpoint_message(endpoint))

        return await self.units.read(work)

    async def list_webhook_endpoints(
        self, caller: Caller, request: wh.ListWebhookEndpointsRequest
    ) -> wh.ListWebhookEndpointsResponse:
        authorize(caller.principal, Permission.READ_WEBHOOKS)

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.ListWebhookEndpointsResponse:
            page = await uow.webhooks.list_endpoints(tenant_id, PageRequest.of(request, "webhook_endpoints", tenant_id))
            return wh.ListWebhookEndpointsResponse(
                endpoints=[endpoint_message(e) for e in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def update_webhook_endpoint(
        self, caller: Caller, request: wh.UpdateWebhookEndpointRequest
    ) -> wh.UpdateWebhookEndpointResponse:
        authorize(caller.principal, Permission.MANAGE_WEBHOOKS)
        require_mutation(request)
        given = request.endpoint
        if not given.id:
            raise InvalidArgument.field("endpoint.id", "is required")
        paths = list(request.update_mask.paths) or list(UPDATABLE)
        for index, path in enumerate(paths):
            if path not in UPDATABLE:
                raise InvalidArgument.field(f"update_mask.paths[{index}]", f"must be one of {', '.join(UPDATABLE)}")
        sandbox = caller.tenant.is_sandbox
        url = await self._checked_url(given.url, sandbox=sandbox, field_name="endpoint.url") if "url" in paths else ""
        event_types = check_event_types(given.event_types, "endpoint.event_types") if "event_types" in paths else ()

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.UpdateWebhookEndpointResponse:
            now = uow.clock.now()
            endpoint = await self._endpoint(uow, tenant_id, given.id)
            if "url" in paths:
                endpoint.url = url
            if "description" in paths:
                endpoint.description = given.description
            if "event_types" in paths:
                endpoint.event_types = event_types
            endpoint.update_time = now
            if "enabled" in paths and given.enabled and not endpoint.enabled:
                endpoint.enable(now)
            await uow.webhooks.save_endpoint(endpoint)
            if "enabled" in paths and not given.enabled:
                await disable_endpoint(uow, endpoint, DisabledReason.BY_TENANT, now)
            return wh.UpdateWebhookEndpointResponse(endpoint=endpoint_message(endpoint))

        return await self.units.mutate(request, wh.UpdateWebhookEndpointResponse, work)

    async def delete_webhook_endpoint(
        self, caller: Caller, request: wh.DeleteWebhookEndpointRequest
    ) -> wh.DeleteWebhookEndpointResponse:
        authorize(caller.principal, Permission.MANAGE_WEBHOOKS)
        require_mutation(request, "endpoint_id")

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.DeleteWebhookEndpointResponse:
            endpoint = await self._endpoint(uow, tenant_id, request.endpoint_id)
            await uow.webhooks.delete_endpoint(tenant_id, endpoint.id)
            return wh.DeleteWebhookEndpointResponse(endpoint=endpoint_message(endpoint))

        return await self.units.mutate(request, wh.DeleteWebhookEndpointResponse, work)

    async def rotate_webhook_endpoint_secret(
        self, caller: Caller, request: wh.RotateWebhookEndpointSecretRequest
    ) -> wh.RotateWebhookEndpointSecretResponse:
        authorize(caller.principal, Permission.MANAGE_WEBHOOKS)
        require_mutation(request, "endpoint_id")
        issued: list[str] = []

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.RotateWebhookEndpointSecretResponse:
            endpoint = await self._endpoint(uow, tenant_id, request.endpoint_id)
            secret = new_secret()
            endpoint.rotate(uow.clock.now(), secret)
            await uow.webhooks.save_endpoint(endpoint)
            issued.append(secret)
            return wh.RotateWebhookEndpointSecretResponse(endpoint=endpoint_message(endpoint))

        response = await self.units.mutate(request, wh.RotateWebhookEndpointSecretResponse, work)
        if issued:
            response.secret = issued[0]
        return response

    async def list_webhook_messages(
        self, caller: Caller, request: wh.ListWebhookMessagesRequest
    ) -> wh.ListWebhookMessagesResponse:
        authorize(caller.principal, Permission.READ_WEBHOOKS)
        query, canonical = _message_query(request)

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.ListWebhookMessagesResponse:
            paging = PageRequest.of(request, "webhook_messages", tenant_id, *canonical)
            page = await uow.webhooks.list_messages(tenant_id, paging, query)
            return wh.ListWebhookMessagesResponse(
                messages=[message_message(m) for m in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def list_webhook_attempts(
        self, caller: Caller, request: wh.ListWebhookAttemptsRequest
    ) -> wh.ListWebhookAttemptsResponse:
        authorize(caller.principal, Permission.READ_WEBHOOKS)
        require(request, "message_id")

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.ListWebhookAttemptsResponse:
            if await uow.webhooks.get_message(tenant_id, request.message_id) is None:
                raise WebhookMessageNotFound(f"the tenant has no webhook message {request.message_id!r}")
            paging = PageRequest.of(request, "webhook_attempts", tenant_id, request.message_id)
            page = await uow.webhooks.list_attempts(tenant_id, request.message_id, paging)
            attempts = [
                wh.WebhookAttempt(
                    message_id=a.message_id,
                    endpoint_id=a.endpoint_id,
                    attempt_number=a.attempt_number,
                    attempt_time=convert.timestamp(a.attempt_time),
                    status_code=a.status_code,
                    duration_ms=a.duration_ms,
                    error=a.error,
                    response_body_excerpt=a.response_excerpt,
                    next_attempt_time=convert.optional_timestamp(a.next_attempt_time),
                )
                for a in page.items
            ]
            return wh.ListWebhookAttemptsResponse(attempts=attempts, next_page_token=page.next_page_token)

        return await self.units.read(work)

    async def replay_webhook_message(
        self, caller: Caller, request: wh.ReplayWebhookMessageRequest
    ) -> wh.ReplayWebhookMessageResponse:
        authorize(caller.principal, Permission.MANAGE_WEBHOOKS)
        require_mutation(request, "message_id")

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.ReplayWebhookMessageResponse:
            message = await uow.webhooks.get_message(tenant_id, request.message_id, for_update=True)
            if message is None:
                raise WebhookMessageNotFound(f"the tenant has no webhook message {request.message_id!r}")
            await self._enabled_endpoint(uow, tenant_id, message.endpoint_id)
            replayed = message.replayed(uow.clock.now())
            await uow.webhooks.save_message(replayed)
            uow.after_commit(self.queued)
            return wh.ReplayWebhookMessageResponse(message=message_message(replayed))

        return await self.units.mutate(request, wh.ReplayWebhookMessageResponse, work)

    async def _enabled_endpoint(self, uow: WebhooksUnitOfWork, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
        endpoint = await self._endpoint(uow, tenant_id, endpoint_id)
        if not endpoint.enabled:
            raise WebhookEndpointDisabled(f"webhook endpoint {endpoint_id!r} is disabled; enable it first")
        return endpoint

    async def replay_webhook_messages(
        self, caller: Caller, request: wh.ReplayWebhookMessagesRequest
    ) -> wh.ReplayWebhookMessagesResponse:
        authorize(caller.principal, Permission.MANAGE_WEBHOOKS)
        require_mutation(request, "endpoint_id")
        start = convert.optional_from_timestamp(request, "start_time")
        end = convert.optional_from_timestamp(request, "end_time")
        if start is None:
            raise InvalidArgument.field("start_time", "is required")
        if end is None:
            raise InvalidArgument.field("end_time", "is required")
        if not start < end <= start + MAX_REPLAY_RANGE:
            raise InvalidArgument.field("end_time", "must be after start_time, by at most 31 days")

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.ReplayWebhookMessagesResponse:
            await self._enabled_endpoint(uow, tenant_id, request.endpoint_id)
            count = await uow.webhooks.replay_range(
                tenant_id,
                request.endpoint_id,
                start,
                end,
                include_delivered=request.include_delivered,
                now=uow.clock.now(),
            )
            uow.after_commit(self.queued)
            return wh.ReplayWebhookMessagesResponse(replayed_count=count)

        return await self.units.mutate(request, wh.ReplayWebhookMessagesResponse, work)

    async def send_test_webhook_event(
        self, caller: Caller, request: wh.SendTestWebhookEventRequest
    ) -> wh.SendTestWebhookEventResponse:
        authorize(caller.principal, Permission.MANAGE_WEBHOOKS)
        require_mutation(request, "endpoint_id")

        async def work(uow: WebhooksUnitOfWork, tenant_id: str) -> wh.SendTestWebhookEventResponse:
            endpoint = await self._enabled_endpoint(uow, tenant_id, request.endpoint_id)
            now = uow.clock.now()
            event_id = "test_" + message_id(endpoint.id, request.request_id).removeprefix("msg_")
            body = cloud_event(
                event_id=event_id,
                event_type=TEST_EVENT_TYPE,
                source="azotte/gateway",
                tenant_id=tenant_id,
                time=now,
                subject=endpoint.id,
                data={"data": {"endpoint_id": endpoint.id, "message": "a test event sent from Azotte"}},
            )
            message = WebhookMessage(
                tenant_id=tenant_id,
                id=message_id(endpoint.id, event_id),
                endpoint_id=endpoint.id,
                event_id=event_id,
                event_type=TEST_EVENT_TYPE,
                body=body,
                create_time=now,
                next_attempt_time=now,
            )
            await uow.webhooks.add_messages([message])
            uow.after_commit(self.queued)
            return wh.SendTestWebhookEventResponse(message=message_message(message))

        return await self.units.mutate(request, wh.SendTestWebhookEventResponse, work)
