"""Usage billing through the gateway: usage reported over REST is priced under the customer's plan, burns their
wallet, and a hard limit cuts the feature off at the access check (SPEND_LIMIT_REACHED, QUOTA_EXHAUSTED) until a
top-up or a removed limit restores it; a meter measuring the plan's quota feature fills and exhausts it; roles and
tenants are kept apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from azotte_client import EntitlementWatcher
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually

FEATURE = "hd_streaming"
PLAN = "family_monthly"


def rid() -> str:
    return uuid.uuid4().hex


async def metered_customer(tenant: TenantApi) -> tuple[str, str]:
    """A customer subscribed to family_monthly in `us`, and a SUM meter of its own event type, priced 1 cent a unit
    under the plan; returns (customer, event type) once metering follows the customer's subscription."""
    customer = await tenant.customer()
    assert (await tenant.checkout(customer, plan=PLAN)).status_code == 200
    event_type = f"ai.billed.{uuid.uuid4().hex[:6]}"
    meter = {"key": event_type, "display_name": "tokens", "event_type": event_type, "value_path": "$.tokens"}
    await tenant.ok(
        "POST", "/v1/meters", json={"request_id": rid(), "meter": {**meter, "aggregation": "AGGREGATION_SUM"}}
    )
    price = {
        "storefront_id": "us",
        "plan_id": PLAN,
        "meter_key": event_type,
        "currency_code": "USD",
        "model": "PER_UNIT",
        "unit_price": "1",
    }
    await tenant.ok("POST", "/v1/usage-prices", json={"request_id": rid(), "price": price})

    async def followed() -> bool:
        preview = await tenant.ok("GET", f"/v1/customers/{customer}/upcoming-usage-charges")
        return bool(preview["subtotal"]["currency_code"] == "USD")

    await eventually(followed)
    return customer, event_type


async def report(tenant: TenantApi, customer: str, event_type: str, *amounts: int) -> None:
    events = [
        {
            "specversion": "1.0",
            "id": rid(),
            "source": "assistant",
            "type": event_type,
            "subject": customer,
            "time": datetime.now(UTC).isoformat(),
            "data": {"tokens": amount},
        }
        for amount in amounts
    ]
    answer = await tenant.ok("POST", "/v1/events", json={"events": events})
    assert answer["accepted_count"] == len(amounts), answer


async def denial(tenant: TenantApi, customer: str) -> str:
    decision = (await tenant.ok("GET", f"/v1/customers/{customer}/access/{FEATURE}"))["decision"]
    return "" if decision.get("allowed") else str(decision.get("denial_reason"))


@pytest.fixture(scope="module")
async def tenant(suite: RunningSuite) -> TenantApi:
    """A sandbox tenant of the module's own: the session's shared tenant may have moved its clock."""
    return await suite.new_tenant()


async def test_an_empty_wallet_cuts_access_and_a_top_up_restores_it(tenant: TenantApi) -> None:
    customer, event_type = await metered_customer(tenant)
    operator, manager = await tenant.new_key("operator"), await tenant.new_key("manager")
    grant = {"request_id": rid(), "amount": {"currency_code": "USD", "amount_minor": 500}}
    await tenant.ok("POST", f"/v1/customers/{customer}/wallet-credits", json=grant, key=operator)
    floor = {"limit_id": f"floor-{customer}", "feature_key": FEATURE, "measure": "CREDIT", "value": "0"}
    await tenant.ok(
        "POST",
        f"/v1/customers/{customer}/usage-limits",
        json={"request_id": rid(), "limit": {**floor, "currency_code": "USD", "policy": "SUSPEND"}},
        key=manager,
    )
    assert await denial(tenant, customer) == ""
    await report(tenant, customer, event_type, 200, 200, 200)

    async def cut_off() -> bool:
        return await denial(tenant, customer) == "ACCESS_DENIAL_REASON_SPEND_LIMIT_REACHED"

    await eventually(cut_off)
    wallet = await tenant.ok("GET", f"/v1/customers/{customer}/wallets/USD")
    assert wallet["wallet"]["balance"]["amount_minor"] == "0"
    top_up = {"request_id": rid(), "amount_minor": 1000}
    bought = await tenant.ok("POST", f"/v1/customers/{customer}/wallets/USD:top-up", json=top_up, key=operator)
    assert bought["charge_id"] and bought["wallet"]["balance"]["amount_minor"] == "1000"

    async def restored() -> bool:
        return await denial(tenant, customer) == ""

    await eventually(restored)
    preview = await tenant.ok("GET", f"/v1/customers/{customer}/upcoming-usage-charges")
    assert [(line["quantity"], line["amount"]["amount_minor"]) for line in preview["lines"]] == [("600", "600")]
    assert (preview["credited"]["amount_minor"], preview["due"]["amount_minor"]) == ("500", "100")


async def test_a_unit_limit_answers_quota_exhausted_until_it_is_removed(tenant: TenantApi) -> None:
    customer, event_type = await metered_customer(tenant)
    limit = {"limit_id": f"units-{customer}", "feature_key": FEATURE, "measure": "UNITS", "value": "100"}
    body = {"request_id": rid(), "limit": {**limit, "meter_key": event_type, "policy": "SUSPEND"}}
    await tenant.ok("POST", f"/v1/customers/{customer}/usage-limits", json=body)
    await report(tenant, customer, event_type, 60, 50)

    async def exhausted() -> bool:
        return await denial(tenant, customer) == "ACCESS_DENIAL_REASON_QUOTA_EXHAUSTED"

    await eventually(exhausted)
    await tenant.ok("POST", f"/v1/usage-limits/{limit['limit_id']}:delete", json={"request_id": rid()})

    async def restored() -> bool:
        return await denial(tenant, customer) == ""

    await eventually(restored)


async def test_roles_and_tenants_are_kept_apart(suite: RunningSuite, tenant: TenantApi) -> None:
    customer = await tenant.customer()
    viewer = await tenant.new_key("viewer")
    grant: dict[str, Any] = {"request_id": rid(), "amount": {"currency_code": "USD", "amount_minor": 100}}
    refused = await tenant.call("POST", f"/v1/customers/{customer}/wallet-credits", json=grant, key=viewer)
    assert refused.status_code == 403
    price = {"request_id": rid(), "price": {"storefront_id": "us", "plan_id": "basic_monthly", "meter_key": "m"}}
    operator = await tenant.new_key("operator")
    assert (await tenant.call("POST", "/v1/usage-prices", json=price, key=operator)).status_code == 403
    await tenant.ok("POST", f"/v1/customers/{customer}/wallet-credits", json=grant)
    assert (await tenant.call("GET", f"/v1/customers/{customer}/wallets/USD", key=viewer)).status_code == 200
    other = await suite.new_tenant(with_catalog=False)
    assert (await other.call("GET", f"/v1/customers/{customer}/wallets/USD")).status_code == 404
    bad = {"request_id": rid(), "amount": {"currency_code": "USD", "amount_minor": 2**63}}
    answer = await tenant.call("POST", f"/v1/customers/{customer}/wallet-credits", json=bad)
    assert answer.status_code == 400 and "amount" in answer.text


async def test_a_meter_measuring_the_plans_quota_feature_fills_it_and_exhausts_it(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    assert (await tenant.checkout(customer, plan=PLAN)).status_code == 200  # 100 downloads a month
    event_type = f"video.downloaded.{uuid.uuid4().hex[:6]}"
    meter = {
        "key": event_type,
        "display_name": "HD downloads",
        "event_type": event_type,
        "aggregation": "AGGREGATION_COUNT",
        "dimensions": ["quality"],
        "quota_features": [{"feature_key": "downloads", "dimensions": {"quality": "hd"}}],
    }
    await tenant.ok("POST", "/v1/meters", json={"request_id": rid(), "meter": meter})
    stored = await tenant.ok("GET", f"/v1/meters/{event_type}")
    assert stored["meter"]["quota_features"] == meter["quota_features"]

    async def downloads(count: int, quality: str) -> None:
        events = [
            {"id": rid(), "source": "player", "type": event_type, "subject": customer, "data": {"quality": quality}}
            for _ in range(count)
        ]
        assert (await tenant.ok("POST", "/v1/events", json={"events": events}))["accepted_count"] == count

    async def decision() -> dict[str, Any]:
        return dict((await tenant.ok("GET", f"/v1/customers/{customer}/access/downloads"))["decision"])

    await downloads(99, "hd")
    await downloads(5, "sd")  # not counted: the feature is measured over HD downloads only

    async def filled() -> bool:
        return (await decision()).get("quota_used") == "99"

    await eventually(filled)
    assert (await decision())["allowed"] is True
    await downloads(1, "hd")

    async def exhausted() -> bool:
        return (await decision()).get("denial_reason") == "ACCESS_DENIAL_REASON_QUOTA_EXHAUSTED"

    await eventually(exhausted)
    last = await decision()
    assert (last["quota_used"], last["quota_limit"], last.get("remaining_quota", "0")) == ("100", "100", "0")
    taken = {**meter, "key": f"{event_type}.again"}
    refused = await tenant.call("POST", "/v1/meters", json={"request_id": rid(), "meter": taken})
    assert refused.status_code == 400
    assert "is measured by the meter" in refused.json()["error"]["message"]


async def test_a_daily_quota_measured_by_a_meter_starts_afresh_each_day_without_new_usage(suite: RunningSuite) -> None:
    shop = await suite.new_tenant()  # its own: it changes its catalog and moves its clock
    daily = {"request_id": rid(), "feature": {"reset_period": "RESET_PERIOD_DAY"}, "update_mask": "reset_period"}
    await shop.ok("PATCH", "/v1/features/downloads", json=daily)  # family_monthly: 100 downloads a day now
    customer = await shop.customer()
    bought = await shop.checkout(customer, plan=PLAN)
    assert bought.status_code == 200
    started = datetime.fromisoformat(bought.json()["subscription"]["current_period_start_time"])
    meter = {
        "key": "downloads",
        "display_name": "Downloads",
        "event_type": "video.downloaded",
        "aggregation": "AGGREGATION_COUNT",
        "quota_features": [{"feature_key": "downloads"}],
    }
    await shop.ok("POST", "/v1/meters", json={"request_id": rid(), "meter": meter})

    async def downloads(count: int) -> None:
        event = {"source": "player", "type": "video.downloaded", "subject": customer}
        events = [{**event, "id": rid()} for _ in range(count)]
        assert (await shop.ok("POST", "/v1/events", json={"events": events}))["accepted_count"] == count

    async def decision() -> dict[str, Any]:
        return dict((await shop.ok("GET", f"/v1/customers/{customer}/access/downloads"))["decision"])

    async def answers(allowed: bool, used: str) -> bool:
        now = await decision()
        return (now["allowed"], now.get("quota_used", "0")) == (allowed, used)

    await downloads(100)
    await eventually(lambda: answers(False, "100"))
    exhausted = await decision()
    assert exhausted["denial_reason"] == "ACCESS_DENIAL_REASON_QUOTA_EXHAUSTED"
    resets = started + timedelta(days=1)  # a day counts from the period's start
    assert datetime.fromisoformat(exhausted["quota_reset_time"]) == resets
    device_time = [datetime.now(UTC)]
    async with (
        grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel,
        EntitlementWatcher(channel, shop.key, customer, now=lambda: device_time[0]) as watcher,
    ):
        await watcher.wait_until(lambda w: not w.check("downloads"), timeout=5)
        device_time[0] = resets  # the device's clock passes the reset: it answers from memory, no push needed
        assert watcher.check("downloads", quantity=100) and not watcher.check("downloads", quantity=101)
    tomorrow = (resets + timedelta(minutes=1)).isoformat()
    await shop.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_to": tomorrow})
    await eventually(lambda: answers(True, "0"))  # the day ended: no usage event was needed to reset it
    assert (await decision())["remaining_quota"] == "100"
    await downloads(3)
    await eventually(lambda: answers(True, "3"))


async def test_a_customers_wallets_and_one_limit_are_read_back(suite: RunningSuite, tenant: TenantApi) -> None:
    customer = await tenant.customer()
    for currency, amount in (("USD", 500), ("EUR", 300)):
        grant = {"request_id": rid(), "amount": {"currency_code": currency, "amount_minor": amount}}
        await tenant.ok("POST", f"/v1/customers/{customer}/wallet-credits", json=grant)
    limit = {"limit_id": f"cap-{customer}", "feature_key": FEATURE, "measure": "SPEND", "value": "2000"}
    body = {"request_id": rid(), "limit": {**limit, "currency_code": "USD", "policy": "ALLOW_OVERAGE"}}
    await tenant.ok("POST", f"/v1/customers/{customer}/usage-limits", json=body)

    viewer = await tenant.new_key("viewer")
    wallets = (await tenant.ok("GET", f"/v1/customers/{customer}/wallets", key=viewer))["wallets"]
    assert [(w["currency_code"], w["balance"]["amount_minor"]) for w in wallets] == [("EUR", "300"), ("USD", "500")]
    read = (await tenant.ok("GET", f"/v1/usage-limits/{limit['limit_id']}", key=viewer))["limit"]
    assert (read["customer_id"], read["feature_key"], read["value"]) == (customer, FEATURE, "2000")

    foreign = await suite.new_tenant(with_catalog=False)
    assert (await foreign.call("GET", f"/v1/customers/{customer}/wallets")).status_code == 404
    assert (await foreign.call("GET", f"/v1/usage-limits/{limit['limit_id']}")).status_code == 404
    assert (await tenant.call("GET", "/v1/usage-limits/no-such-limit")).status_code == 404
