"""Entitlements by hand through the gateway, REST and gRPC: a comp gives access at once and ends at its end
time, a revocation takes it away, a suspension denies even a subscriber until restored, reconciliation reports,
and who may do each of these."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc, grants_pb2_grpc
from azotte.gateway.v1 import grants_pb2 as gr
from tests.e2e.conftest import OTT_CATALOG, RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_endpoints import subscribed

UHD = "uhd_streaming"  # not a feature of the standard plan: only a comp gives it to its subscribers
HD = "hd_streaming"


def rid() -> str:
    return uuid.uuid4().hex


def bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


async def now_of(tenant: TenantApi) -> datetime:
    moved = await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_seconds": 0})
    return datetime.fromisoformat(moved["now"].replace("Z", "+00:00"))


async def access(
    tenant: TenantApi, customer: str, feature: str = UHD, *, key: str | None = None, token: str = ""
) -> Any:
    query = f"?consistency_token={token}" if token else ""
    return (await tenant.ok("GET", f"/v1/customers/{customer}/access/{feature}{query}", key=key))["decision"]


async def comp(tenant: TenantApi, customer: str, *, days: float = 2, key: str | None = None, **body: Any) -> Any:
    end = datetime.now(UTC) + timedelta(days=days)
    payload = {"request_id": rid(), "feature_keys": [UHD], "end_time": end.isoformat(), "reason": "case 42", **body}
    return await tenant.ok("POST", f"/v1/customers/{customer}/grants", json=payload, key=key)


async def test_a_comp_gives_access_at_once_with_and_without_the_token_and_revoke_takes_it_away(
    tenant: TenantApi,
) -> None:
    customer = await tenant.customer()
    operator, viewer = await tenant.new_key("operator"), await tenant.new_key("viewer")
    assert not (await access(tenant, customer, key=viewer)).get("allowed")  # the viewer's answer is cached
    assert not (await access(tenant, customer, key=operator)).get("allowed")

    granted = await comp(tenant, customer, key=operator)
    grant = granted["grants"][0]
    assert (grant["feature_key"], grant["source"], grant["audit"]["reason"]) == (
        UHD,
        "ACCESS_SOURCE_KIND_MANUAL",
        "case 42",
    )
    assert grant["audit"]["actor"].startswith("api_key:") and grant["end_time"]
    assert (await access(tenant, customer, key=operator))["allowed"]  # the granting key, no token
    assert (await access(tenant, customer, key=viewer, token=granted["consistency_token"]))["allowed"]

    listed = await tenant.ok("GET", f"/v1/customers/{customer}/grants", params={"filter": "source = manual"})
    assert [g["grant_id"] for g in listed["grants"]] == [grant["grant_id"]]

    revoked = await tenant.ok(
        "POST",
        f"/v1/customers/{customer}/grants/{grant['grant_id']}:revoke",
        json={"request_id": rid(), "reason": "case closed"},
        key=operator,
    )
    assert not (await access(tenant, customer, key=operator)).get("allowed")
    assert not (await access(tenant, customer, key=viewer, token=revoked["consistency_token"])).get("allowed")
    assert (await tenant.ok("GET", f"/v1/customers/{customer}/grants"))["grants"] == []


async def test_a_comp_ends_at_its_end_time(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    customer = await tenant.customer()
    now = await now_of(tenant)
    end = now + timedelta(days=2)
    body = {"request_id": rid(), "feature_keys": [UHD], "end_time": end.isoformat(), "reason": "outage credit"}
    granted = await tenant.ok("POST", f"/v1/customers/{customer}/grants", json=body)
    decision = await access(tenant, customer, token=granted["consistency_token"])
    assert decision["allowed"] and decision["valid_until_time"]

    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_days": 3})
    decision = await access(tenant, customer)
    assert not decision.get("allowed") and decision["denial_reason"] == "ACCESS_DENIAL_REASON_EXPIRED"


async def test_a_comp_needs_an_end_time_within_a_year_and_a_reason(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    far = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    for body, field in [
        ({"feature_keys": [UHD], "reason": "x"}, "end_time"),
        ({"feature_keys": [UHD], "reason": "x", "end_time": far}, "end_time"),
        ({"feature_keys": [UHD], "end_time": far}, "reason"),
        ({"feature_keys": [UHD], "reason": "x", "end_time": datetime.now(UTC).isoformat()}, "end_time"),
    ]:
        answer = await tenant.call("POST", f"/v1/customers/{customer}/grants", json={"request_id": rid(), **body})
        assert answer.status_code == 400, answer.text
        assert field in answer.text
    end = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    unknown = {"request_id": rid(), "feature_keys": ["no_such_feature"], "reason": "x", "end_time": end}
    answer = await tenant.call("POST", f"/v1/customers/{customer}/grants", json=unknown)
    assert answer.status_code == 400 and "feature_keys" in answer.text


async def test_a_comp_of_a_plan_grants_its_features_with_its_limits(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    granted = await comp(tenant, customer, feature_keys=[], plan_id="premium_monthly")
    assert {(g["feature_key"], g.get("limit")) for g in granted["grants"]} == {
        (HD, None),
        (UHD, None),
        ("downloads", "100"),
    }
    downloads = await access(tenant, customer, "downloads", token=granted["consistency_token"])
    assert downloads["allowed"] and downloads["quota_limit"] == "100"


async def test_a_suspension_denies_a_subscriber_until_restored_over_grpc(
    suite: RunningSuite, tenant: TenantApi
) -> None:
    customer, _ = await subscribed(tenant, plan="standard_monthly")
    manager = await tenant.new_key("manager")
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        grants = grants_pb2_grpc.GrantsServiceStub(channel)
        gateway = gateway_pb2_grpc.GatewayServiceStub(channel)

        async def allowed(token: str = "", key: str = manager) -> bool:
            check = gw.CheckAccessRequest(customer_id=customer, feature_key=HD, consistency_token=token)
            return (await gateway.CheckAccess(check, metadata=bearer(key))).decision.allowed

        assert await allowed(key=tenant.key)  # cached for the admin key
        suspend = gr.SuspendFeatureRequest(request_id=rid(), customer_id=customer, feature_key=HD, reason="abuse")
        suspended = await grants.SuspendFeature(suspend, metadata=bearer(manager))
        assert suspended.suspension.reason == "abuse" and suspended.consistency_token
        assert not await allowed()  # the suspending key, no token
        assert not await allowed(suspended.consistency_token, tenant.key)
        check = gw.CheckAccessRequest(
            customer_id=customer, feature_key=HD, consistency_token=suspended.consistency_token
        )
        denied = (await gateway.CheckAccess(check, metadata=bearer(tenant.key))).decision
        assert denied.denial_reason == gw.ACCESS_DENIAL_REASON_SUSPENDED

        restore = gr.RestoreFeatureRequest(request_id=rid(), customer_id=customer, feature_key=HD)
        restored = await grants.RestoreFeature(restore, metadata=bearer(manager))
        assert await allowed()
        assert await allowed(restored.consistency_token, tenant.key)
        with pytest.raises(grpc.aio.AioRpcError) as again:
            await grants.RestoreFeature(
                gr.RestoreFeatureRequest(request_id=rid(), customer_id=customer, feature_key=HD),
                metadata=bearer(manager),
            )
        assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_grants_over_grpc_list_every_source_and_revoke_by_hand(suite: RunningSuite, tenant: TenantApi) -> None:
    customer, subscription_id = await subscribed(tenant, plan="standard_monthly")
    end = Timestamp()
    end.FromDatetime(datetime.now(UTC) + timedelta(days=5))
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        grants = grants_pb2_grpc.GrantsServiceStub(channel)
        gateway = gateway_pb2_grpc.GatewayServiceStub(channel)
        create = gr.CreateGrantRequest(
            request_id=rid(), customer_id=customer, feature_keys=[UHD], end_time=end, reason="vip"
        )
        created = await grants.CreateGrant(create, metadata=bearer(tenant.key))
        check = gw.CheckAccessRequest(customer_id=customer, feature_key=UHD)
        assert (await gateway.CheckAccess(check, metadata=bearer(tenant.key))).decision.allowed

        listed = await grants.ListGrants(
            gr.ListGrantsRequest(customer_id=customer, order_by="feature_key desc"), metadata=bearer(tenant.key)
        )
        sources = [(g.feature_key, g.source, g.source_ref) for g in listed.grants]
        assert (UHD, gw.ACCESS_SOURCE_KIND_MANUAL, created.grants[0].source_ref) in sources
        assert (HD, gw.ACCESS_SOURCE_KIND_SUBSCRIPTION, subscription_id) in sources
        assert [s[0] for s in sources] == sorted((s[0] for s in sources), reverse=True)
        with pytest.raises(grpc.aio.AioRpcError) as bad_filter:
            await grants.ListGrants(
                gr.ListGrantsRequest(customer_id=customer, filter="reason = x"), metadata=bearer(tenant.key)
            )
        assert bad_filter.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "filter" in str(
            bad_filter.value.details()
        )

        subscription_grant = next(g for g in listed.grants if g.source == gw.ACCESS_SOURCE_KIND_SUBSCRIPTION)
        with pytest.raises(grpc.aio.AioRpcError) as derived:
            await grants.RevokeGrant(
                gr.RevokeGrantRequest(
                    request_id=rid(), customer_id=customer, grant_id=subscription_grant.grant_id, reason="x"
                ),
                metadata=bearer(tenant.key),
            )
        assert derived.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        revoke = gr.RevokeGrantRequest(
            request_id=rid(), customer_id=customer, grant_id=created.grants[0].grant_id, reason="done"
        )
        await grants.RevokeGrant(revoke, metadata=bearer(tenant.key))
        assert not (await gateway.CheckAccess(check, metadata=bearer(tenant.key))).decision.allowed


async def test_reconciliation_finds_and_fixes_a_plan_change_the_grants_missed(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    customer, _ = await subscribed(tenant, plan="standard_monthly")
    document = (await asyncio.to_thread(OTT_CATALOG.read_text)).replace(
        "      - {key: downloads, limit: 15}", "      - {key: downloads, limit: 15}\n      - key: uhd_streaming", 1
    )
    assert (await tenant.apply_catalog(document.encode())).status_code == 200
    path = f"/v1/customers/{customer}/grants:reconcile"
    found = await tenant.ok("POST", path, json={"request_id": rid(), "validate_only": True})
    assert (found["granted_count"], found["corrected"]) == (1, False)
    assert [(c["kind"], c["grant"]["feature_key"]) for c in found["corrections"]] == [
        ("GRANT_CORRECTION_KIND_GRANTED", UHD)
    ]
    assert not (await access(tenant, customer)).get("allowed")  # a dry run fixes nothing

    fixed = await tenant.ok("POST", path, json={"request_id": rid()})
    assert (fixed["granted_count"], fixed["corrected"]) == (1, True)
    assert (await access(tenant, customer))["allowed"]  # the reconciling key reads the fix at once
    again = await tenant.ok("POST", path, json={"request_id": rid()})
    assert (again["granted_count"], again["corrected"]) == (0, False)


async def test_reconciliation_reports_over_rest_and_grpc(suite: RunningSuite, tenant: TenantApi) -> None:
    customer, _ = await subscribed(tenant, plan="standard_monthly")
    report = await tenant.ok(
        "POST", f"/v1/customers/{customer}/grants:reconcile", json={"request_id": rid(), "validate_only": True}
    )
    assert report["checked_customer_count"] == 1
    assert (report["granted_count"], report["revoked_count"], report["changed_count"]) == (0, 0, 0)
    assert report["corrected"] is False and report.get("corrections", []) == []
    whole = await tenant.ok("POST", "/v1/grants:reconcile", json={"request_id": rid()})
    assert whole["checked_customer_count"] >= 1 and whole["corrected"] is False
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        grants = grants_pb2_grpc.GrantsServiceStub(channel)
        answer = await grants.ReconcileGrants(
            gr.ReconcileGrantsRequest(request_id=rid(), customer_id=customer), metadata=bearer(tenant.key)
        )
    assert answer.checked_customer_count == 1 and not answer.corrections


# --- who may do what --------------------------------------------------------------------------------

ROLES = ["publishable", "viewer", "operator", "manager", "admin"]
LEAST = {
    "list": "viewer",
    "create": "operator",
    "revoke": "operator",
    "reconcile customer": "operator",
    "suspend": "manager",
    "restore": "manager",
    "reconcile tenant": "admin",
}


def rest_call(name: str, customer: str, grant_id: str) -> tuple[str, str, dict[str, Any] | None]:
    end = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    calls: dict[str, tuple[str, str, dict[str, Any] | None]] = {
        "list": ("GET", f"/v1/customers/{customer}/grants", None),
        "create": ("POST", f"/v1/customers/{customer}/grants", {"feature_keys": [UHD], "end_time": end, "reason": "r"}),
        "revoke": ("POST", f"/v1/customers/{customer}/grants/{grant_id}:revoke", {"reason": "r"}),
        "reconcile customer": ("POST", f"/v1/customers/{customer}/grants:reconcile", {}),
        "suspend": ("POST", f"/v1/customers/{customer}/features/{UHD}:suspend", {"reason": "r"}),
        "restore": ("POST", f"/v1/customers/{customer}/features/{UHD}:restore", {}),
        "reconcile tenant": ("POST", "/v1/grants:reconcile", {}),
    }
    return calls[name]


async def grpc_call(stub: grants_pb2_grpc.GrantsServiceStub, name: str, customer: str, grant_id: str, key: str) -> Any:
    end = Timestamp()
    end.FromDatetime(datetime.now(UTC) + timedelta(days=1))
    requests: dict[str, tuple[Any, Any]] = {
        "list": (stub.ListGrants, gr.ListGrantsRequest(customer_id=customer)),
        "create": (
            stub.CreateGrant,
            gr.CreateGrantRequest(request_id=rid(), customer_id=customer, feature_keys=[UHD], end_time=end, reason="r"),
        ),
        "revoke": (
            stub.RevokeGrant,
            gr.RevokeGrantRequest(request_id=rid(), customer_id=customer, grant_id=grant_id, reason="r"),
        ),
        "reconcile customer": (stub.ReconcileGrants, gr.ReconcileGrantsRequest(request_id=rid(), customer_id=customer)),
        "suspend": (
            stub.SuspendFeature,
            gr.SuspendFeatureRequest(request_id=rid(), customer_id=customer, feature_key=UHD, reason="r"),
        ),
        "restore": (
            stub.RestoreFeature,
            gr.RestoreFeatureRequest(request_id=rid(), customer_id=customer, feature_key=UHD),
        ),
        "reconcile tenant": (stub.ReconcileGrants, gr.ReconcileGrantsRequest(request_id=rid())),
    }
    method, request = requests[name]
    return await method(request, metadata=bearer(key))


async def test_role_matrix_over_rest_and_grpc_with_a_publishable_and_a_foreign_key(
    suite: RunningSuite, tenant: TenantApi
) -> None:
    keys = {role: await tenant.new_key(role) for role in ROLES}
    foreign = await suite.new_tenant(with_catalog=False)
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = grants_pb2_grpc.GrantsServiceStub(channel)
        for transport in ("rest", "grpc"):
            for role in ROLES:
                customer = await tenant.customer()
                # a grant to revoke, and a suspension to restore, made by the admin key
                grant_id = (await comp(tenant, customer))["grants"][0]["grant_id"]
                await tenant.ok(
                    "POST",
                    f"/v1/customers/{customer}/features/{UHD}:suspend",
                    json={"request_id": rid(), "reason": "setup"},
                )
                for name, least in LEAST.items():
                    may = ROLES.index(role) >= ROLES.index(least)
                    if transport == "rest":
                        method, path, body = rest_call(name, customer, grant_id)
                        kwargs: dict[str, Any] = {"json": {"request_id": rid(), **body}} if body is not None else {}
                        answer = await tenant.call(method, path, key=keys[role], **kwargs)
                        expected = 200 if may else 403
                        assert answer.status_code == expected, (transport, role, name, answer.text)
                    else:
                        try:
                            await grpc_call(stub, name, customer, grant_id, keys[role])
                            code = grpc.StatusCode.OK
                        except grpc.aio.AioRpcError as error:
                            code = error.code()
                        expected_code = grpc.StatusCode.OK if may else grpc.StatusCode.PERMISSION_DENIED
                        assert code == expected_code, (transport, role, name)
        # another tenant's admin key: the customer does not exist there
        customer = await tenant.customer()
        grant_id = (await comp(tenant, customer))["grants"][0]["grant_id"]
        for name in LEAST:
            if name == "reconcile tenant":
                continue
            method, path, body = rest_call(name, customer, grant_id)
            kwargs = {"json": {"request_id": rid(), **body}} if body is not None else {}
            answer = await foreign.call(method, path, **kwargs)
            assert answer.status_code == 404, (name, answer.text)
            with pytest.raises(grpc.aio.AioRpcError) as hidden:
                await grpc_call(stub, name, customer, grant_id, foreign.key)
            assert hidden.value.code() == grpc.StatusCode.NOT_FOUND, name
        # the customer's grant is untouched by all of that
        assert (await access(tenant, customer))["allowed"]
