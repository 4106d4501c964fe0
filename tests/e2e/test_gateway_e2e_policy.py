"""The lifecycle policy through the gateway: read, update with validation, versions, plan overrides, over REST and
gRPC; the role matrix (publishable key and another tenant's key included); and the next failing renewal following
a changed schedule on the sandbox clock."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from azotte.gateway.v1 import policy_pb2 as po
from azotte.gateway.v1 import policy_pb2_grpc
from tests.e2e.conftest import OTT_CATALOG, RunningSuite, TenantApi
from tests.helpers import eventually

DAY = 86_400
POLICY = "/v1/lifecycle-policy"


def rid() -> dict[str, str]:
    return {"request_id": uuid.uuid4().hex}


def days(count: int) -> str:
    return f"{count * DAY}s"


def refused(answer: Any, http: int, reason: str | None = None, field: str | None = None) -> None:
    assert answer.status_code == http, answer.text
    error = answer.json()["error"]
    if reason is not None:
        assert error["details"][0]["reason"] == reason, answer.text
    if field is not None:
        assert error["details"][1]["field_violations"][0]["field"] == field, answer.text


async def patch(tenant: TenantApi, body: dict[str, Any], *, key: str | None = None) -> Any:
    return await tenant.call("PATCH", POLICY, json={**rid(), **body}, key=key)


@pytest.fixture(scope="module")
async def own(suite: RunningSuite) -> TenantApi:
    return await suite.new_tenant()


async def test_an_update_is_a_new_version_that_says_what_it_applies_to_over_rest(own: TenantApi) -> None:
    start = (await own.ok("GET", POLICY))["policy"]
    assert start["rules"]["retry_schedule"]["days"] == [1, 3, 5, 7]
    changed = await patch(
        own,
        {
            "rules": {"grace_period": days(5), "retry_schedule": {"days": [2, 4, 8]}},
            "update_mask": "grace_period,retry_schedule",
            "expected_version": int(start["version"]),
        },
    )
    assert changed.status_code == 200, changed.text
    answer = changed.json()
    assert int(answer["policy"]["version"]) == int(start["version"]) + 1  # int64: a JSON string
    assert answer["policy"]["rules"]["grace_period"] == days(5)
    assert answer["policy"]["rules"]["hold_period"] == start["rules"]["hold_period"]  # not in the mask
    assert answer["policy"]["update_actor"].startswith("api_key:")
    assert answer["effective_time"] and "due work" in answer["applies_to"]

    stale = await patch(own, {"rules": {"hold_period": days(9)}, "update_mask": "hold_period", "expected_version": 0})
    refused(stale, 409, "POLICY_VERSION_MISMATCH")
    versions = (await own.ok("GET", f"{POLICY}/versions"))["versions"]
    assert versions[0]["version"] == answer["policy"]["version"]
    assert versions[0]["rules"]["retry_schedule"]["days"] == [2, 4, 8]
    assert versions[0]["update_actor"] == answer["policy"]["update_actor"]


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"retry_schedule": {"days": [3, 1]}}, "rules.retry_schedule.days"),
        ({"retry_schedule": {"days": [1, 90]}}, "rules.retry_schedule.days"),
        ({"retry_schedule": {"days": [0, 1]}}, "rules.retry_schedule.days"),
        ({"grace_period": days(61)}, "rules.grace_period"),
        ({"max_pause": days(366)}, "rules.max_pause"),
    ],
)
async def test_an_invalid_update_names_the_field_and_changes_nothing(
    own: TenantApi, rules: dict[str, Any], field: str
) -> None:
    before = (await own.ok("GET", POLICY))["policy"]["version"]
    refused(await patch(own, {"rules": rules, "update_mask": ",".join(rules)}), 400, field=field)
    assert (await own.ok("GET", POLICY))["policy"]["version"] == before


async def test_a_plan_override_applies_to_that_plan_only(own: TenantApi) -> None:
    body = {"plan_id": "premium_monthly", "rules": {"hold_period": days(10)}, "update_mask": "hold_period"}
    assert (await patch(own, body)).status_code == 200
    premium = await own.ok("GET", POLICY, params={"plan_id": "premium_monthly"})
    basic = await own.ok("GET", POLICY, params={"plan_id": "basic_monthly"})
    assert premium["effective_rules"]["hold_period"] == days(10)
    assert basic["effective_rules"]["hold_period"] == premium["policy"]["rules"]["hold_period"] != days(10)
    override = premium["policy"]["plan_overrides"]["premium_monthly"]
    assert override["hold_period"] == days(10) and "grace_period" not in override
    refused(await own.call("GET", POLICY, params={"plan_id": "no_such_plan"}), 404)
    refused(await patch(own, {**body, "plan_id": "no_such_plan"}), 404)


async def test_the_same_over_grpc(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    metadata = (("authorization", f"Bearer {tenant.key}"),)
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = policy_pb2_grpc.LifecyclePolicyServiceStub(channel)
        got = await stub.GetLifecyclePolicy(po.GetLifecyclePolicyRequest(), metadata=metadata)
        assert got.policy.version == 0 and got.effective_rules.grace_period.seconds == 3 * DAY
        update = po.UpdateLifecyclePolicyRequest(
            request_id=uuid.uuid4().hex,
            rules=po.LifecyclePolicyRules(trial_end_behavior=po.TRIAL_END_BEHAVIOR_EXPIRE_WITHOUT_PAYMENT_METHOD),
            update_mask=field_mask_pb2.FieldMask(paths=["trial_end_behavior"]),
            expected_version=0,
        )
        updated = await stub.UpdateLifecyclePolicy(update, metadata=metadata)
        again = await stub.UpdateLifecyclePolicy(update, metadata=metadata)  # a retry answers the same
        assert updated.policy.version == again.policy.version == 1
        assert updated.policy.rules.trial_end_behavior == po.TRIAL_END_BEHAVIOR_EXPIRE_WITHOUT_PAYMENT_METHOD
        versions = await stub.ListLifecyclePolicyVersions(po.ListLifecyclePolicyVersionsRequest(), metadata=metadata)
        assert [v.version for v in versions.versions] == [1]
        bad = po.UpdateLifecyclePolicyRequest(
            request_id=uuid.uuid4().hex,
            rules=po.LifecyclePolicyRules(hold_period=duration_pb2.Duration(seconds=-DAY)),
            update_mask=field_mask_pb2.FieldMask(paths=["hold_period"]),
        )
        with pytest.raises(grpc.aio.AioRpcError) as refusal:
            await stub.UpdateLifecyclePolicy(bad, metadata=metadata)
        assert refusal.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_role_matrix(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    foreign = await suite.new_tenant(with_catalog=False)
    keys = {role: await tenant.new_key(role) for role in ("publishable", "viewer", "operator", "manager")}
    body = {"rules": {"max_pause": days(30)}, "update_mask": "max_pause"}

    async def calls(key: str) -> list[int]:
        return [
            (await tenant.call("GET", POLICY, key=key)).status_code,
            (await tenant.call("GET", f"{POLICY}/versions", key=key)).status_code,
            (await patch(tenant, body, key=key)).status_code,
        ]

    assert await calls(keys["publishable"]) == [403, 403, 403]
    assert await calls(keys["viewer"]) == [200, 200, 403]
    assert await calls(keys["operator"]) == [200, 200, 403]
    assert await calls(keys["manager"]) == [200, 200, 200]
    assert await calls(tenant.key) == [200, 200, 200]
    # another tenant's admin reads and changes its own policy only
    theirs = await foreign.ok("GET", POLICY)
    assert theirs["policy"]["version"] == "0" and await foreign.ok("GET", f"{POLICY}/versions") == {
        "versions": [],
        "next_page_token": "",
    }
    assert (await tenant.ok("GET", POLICY))["policy"]["version"] == "2"


async def test_the_next_failing_renewal_follows_a_changed_schedule(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    # NOTE: by default a failed renewal is retried on day 1 (a good card recovers it within the 3-day grace);
    # with a 2-day grace and a first retry on day 5, it goes on hold first and recovers on day 5.
    rules = {"grace_period": days(2), "hold_period": days(10), "retry_schedule": {"days": [5]}}
    changed = await patch(tenant, {"rules": rules, "update_mask": "grace_period,hold_period,retry_schedule"})
    assert changed.status_code == 200, changed.text
    customer = await tenant.customer()
    bought = await tenant.checkout(customer)
    assert bought.status_code == 200, bought.text
    subscription = bought.json()["subscription"]["id"]

    async def card(token: str) -> None:
        body = {**rid(), "payment_method_token": token}
        await tenant.ok("POST", f"/v1/customers/{customer}/payment-methods", json=body)

    async def advance(count: int) -> None:
        await tenant.ok("POST", "/v1/sandbox/clock:advance", json={**rid(), "advance_by_days": count})

    async def state_is(expected: str) -> bool:
        answer = await tenant.ok("GET", f"/v1/subscriptions/{subscription}")
        return bool(answer["subscription"]["state"] == expected)

    await card("tok_insufficient_funds")
    await advance(31)
    await eventually(lambda: state_is("SUBSCRIPTION_STATE_PAST_DUE"))
    await card("tok_success")
    await advance(3)
    await eventually(lambda: state_is("SUBSCRIPTION_STATE_ON_HOLD"))
    await advance(2)
    await eventually(lambda: state_is("SUBSCRIPTION_STATE_ACTIVE"))
    history = await tenant.ok("GET", f"/v1/subscriptions/{subscription}/history")
    causes = [(e["event_type"], e["cause"], e["actor"]) for e in history["entries"]][-3:]
    assert causes == [
        ("subscription.renewal_failed", "soft_decline", "system"),
        ("subscription.on_hold", "grace_ended", "system"),
        ("subscription.recovered", "charge_succeeded", "system"),
    ]


async def test_the_catalog_document_sets_the_policy_and_its_dry_run_shows_the_change(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    document = (await asyncio.to_thread(OTT_CATALOG.read_text)) + (
        "lifecycle_policy:\n"
        "  grace_days: 4\n"
        "  retry_days: [1, 2, 4]\n"
        "  trial_end: expire_without_payment_method\n"
        "  plans:\n"
        "    premium_monthly: {hold_days: 12}\n"
    )
    dry = await tenant.apply_catalog(document.encode(), dry_run=True)
    assert dry.status_code == 200, dry.text
    policy_changes = [c for c in dry.json()["changes"] if c["resource_type"].startswith("lifecycle_policy")]
    assert [(c["resource_type"], c["resource_id"], c["change_type"]) for c in policy_changes] == [
        ("lifecycle_policy", "", "CHANGE_TYPE_UPDATED"),
        ("lifecycle_policy.plan", "premium_monthly", "CHANGE_TYPE_CREATED"),
    ]
    assert policy_changes[0]["changed_fields"] == ["grace_days", "retry_days", "trial_end"]
    assert (await tenant.ok("GET", POLICY))["policy"]["version"] == "0"  # a dry run stores nothing

    assert (await tenant.apply_catalog(document.encode())).status_code == 200
    stored = await tenant.ok("GET", POLICY, params={"plan_id": "premium_monthly"})
    assert stored["policy"]["version"] == "1"
    assert stored["policy"]["rules"]["retry_schedule"]["days"] == [1, 2, 4]
    assert stored["effective_rules"]["hold_period"] == days(12)
    again = await tenant.apply_catalog(document.encode())
    unchanged = [c["change_type"] for c in again.json()["changes"] if c["resource_type"].startswith("lifecycle")]
    assert unchanged == ["CHANGE_TYPE_UNCHANGED", "CHANGE_TYPE_UNCHANGED"]
    assert (await tenant.ok("GET", POLICY))["policy"]["version"] == "1"  # re-applying stores no new version

    bad = document.replace("retry_days: [1, 2, 4]", "retry_days: [4, 2]")
    refused(await tenant.apply_catalog(bad.encode(), dry_run=True), 400, field="lifecycle_policy.retry_days")
    viewer = await tenant.new_key("viewer")
    refused(await tenant.apply_catalog(document.encode(), dry_run=True, key=viewer), 403)
