"""Contract invoices through the gateway under time travel: reminder days the tenant sets in its lifecycle policy reach
its webhook once each, before and after due, and never for a paid invoice; a plan may have none, and the catalog
document sets them too; with two overdue invoices, paying one keeps access suspended and paying the other restores
it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from azotte_platform.periods import add_months
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_contracts import (
    CATALOG,
    advance_to,
    allowed,
    b2b_tenant,
    invoices_of,
    parsed,
    pay,
    rid,
    sign,
    state_of,
)
from tests.e2e.test_gateway_e2e_policy import refused
from tests.e2e.test_gateway_e2e_webhooks import Delivery, Receiver, arrived, endpoint, listening
from tests.helpers import eventually

POLICY = "/v1/lifecycle-policy"


@pytest.fixture(scope="module")
async def reminder_receiver() -> AsyncIterator[Receiver]:
    async with listening() as receiving:
        yield receiving


async def set_rules(tenant: TenantApi, rules: dict[str, Any]) -> Any:
    """PATCH the tenant's policy: the answer, 200 or not."""
    body = {"request_id": rid(), "rules": rules, "update_mask": ",".join(rules)}
    return await tenant.call("PATCH", POLICY, json=body)


def day_of(due: date, offset: int) -> datetime:
    """01:00 UTC on the day `offset` days from `due`."""
    return datetime.combine(due + timedelta(days=offset), time(1), UTC)


def reminders(deliveries: list[Delivery]) -> list[tuple[str, int]]:
    """(invoice id, offset days) of each invoice.reminder delivered, in arrival order."""
    return [(d.event["data"]["invoice"]["id"], d.event["data"]["offset_days"]) for d in deliveries]


async def invoice_status(tenant: TenantApi, invoice_id: str) -> str:
    return str((await tenant.ok("GET", f"/v1/invoices/{invoice_id}"))["invoice"]["status"])


async def test_reminder_days_set_through_the_gateway_reach_the_webhook_once_each_and_stop_once_paid(
    suite: RunningSuite, reminder_receiver: Receiver
) -> None:
    tenant = await b2b_tenant(suite)
    path = f"/{tenant.tenant_id}"
    await endpoint(tenant, reminder_receiver, path, ["invoice.reminder"])
    operator = await tenant.new_key("operator")

    for days in ([2, 2], [-91], list(range(11))):
        answer = await set_rules(tenant, {"invoice_reminder_days": {"days": days}})
        refused(answer, 400, field="rules.invoice_reminder_days.days")
    updated = await set_rules(tenant, {"invoice_reminder_days": {"days": [2, -3]}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["policy"]["rules"]["invoice_reminder_days"]["days"] == [-3, 2]
    read = await tenant.ok("GET", POLICY, params={"plan_id": "enterprise_monthly"})
    assert read["effective_rules"]["invoice_reminder_days"]["days"] == [-3, 2]

    # Two customers on the same terms: one pays after the first reminder, the other only after the second.
    paying, owing = await tenant.customer("DE"), await tenant.customer("DE")
    contracts = [await sign(tenant, customer, payment_terms_days=7) for customer in (paying, owing)]
    await advance_to(tenant, max(add_months(parsed(c["start_time"]), 1) for c in contracts) + timedelta(hours=1))
    paid_early, paid_late = [(await invoices_of(tenant, c["subscription_id"], 1))[0] for c in contracts]
    assert paid_early["reminder_days"] == paid_late["reminder_days"] == [-3, 2]
    due = date.fromisoformat(paid_early["due_date"])
    assert date.fromisoformat(paid_late["due_date"]) == due

    await advance_to(tenant, day_of(due, -3))
    before = await arrived(reminder_receiver, path, lambda at: len(at) >= 2)
    assert sorted(reminders(before)) == sorted([(paid_early["id"], -3), (paid_late["id"], -3)])
    assert all(d.verified and d.event["type"] == "invoice.reminder" for d in before)

    await pay(tenant, paid_early, operator)
    assert await eventually(lambda: _is_paid(tenant, paid_early["id"]), within=30)
    await advance_to(tenant, day_of(due, 2))
    await arrived(reminder_receiver, path, lambda at: (paid_late["id"], 2) in reminders(at))
    await pay(tenant, paid_late, operator)
    assert await eventually(lambda: _is_paid(tenant, paid_late["id"]), within=30)
    await advance_to(tenant, day_of(due, 10))
    # NOTE: the clock move runs payments' reminder sweep; a reminder it sent late would have arrived by now.
    await asyncio.sleep(3)
    assert sorted(reminders(reminder_receiver.at(path))) == sorted(
        [(paid_early["id"], -3), (paid_late["id"], -3), (paid_late["id"], 2)]
    )


async def _is_paid(tenant: TenantApi, invoice_id: str) -> bool:
    return await invoice_status(tenant, invoice_id) == "INVOICE_STATUS_PAID"


async def test_paying_one_of_two_overdue_invoices_keeps_access_suspended_and_paying_both_restores_it(
    suite: RunningSuite,
) -> None:
    tenant = await b2b_tenant(suite)
    # No grace: an overdue invoice puts the contract on hold (access cut) at once.
    no_grace = await set_rules(tenant, {"grace_period": "0s"})
    assert no_grace.status_code == 200, no_grace.text
    operator = await tenant.new_key("operator")
    customer = await tenant.customer("DE")
    # 40 days to pay: the first invoice is not yet overdue when the second period is invoiced.
    contract = await sign(tenant, customer, payment_terms_days=40)
    start = parsed(contract["start_time"])
    assert await eventually(lambda: allowed(tenant, customer), within=30)
    await advance_to(tenant, add_months(start, 1) + timedelta(hours=1))
    await invoices_of(tenant, contract["subscription_id"], 1)
    await advance_to(tenant, add_months(start, 2) + timedelta(hours=1))
    first, second = await invoices_of(tenant, contract["subscription_id"], 2)
    assert first["due_date"] < second["due_date"]

    await advance_to(tenant, day_of(date.fromisoformat(second["due_date"]), 1))

    async def both_overdue_and_suspended() -> bool:
        statuses = {await invoice_status(tenant, i["id"]) for i in (first, second)}
        return (
            statuses == {"INVOICE_STATUS_OVERDUE"}
            and await state_of(tenant, contract["id"]) == "SUBSCRIPTION_STATE_ON_HOLD"
            and not await allowed(tenant, customer)
        )

    assert await eventually(both_overdue_and_suspended, within=30)

    await pay(tenant, first, operator)
    assert await eventually(lambda: _is_paid(tenant, first["id"]), within=30)
    # NOTE: lifecycle follows the payment from payments' event; give it the time it takes to restore access, in vain.
    for _ in range(10):
        assert not await allowed(tenant, customer)
        assert await state_of(tenant, contract["id"]) == "SUBSCRIPTION_STATE_ON_HOLD"
        await asyncio.sleep(0.5)

    await pay(tenant, second, operator)

    async def restored() -> bool:
        return await state_of(tenant, contract["id"]) == "SUBSCRIPTION_STATE_ACTIVE" and await allowed(tenant, customer)

    assert await eventually(restored, within=30)
    history = await tenant.ok("GET", f"/v1/subscriptions/{contract['subscription_id']}/history")
    causes = [(entry["event_type"], entry["cause"]) for entry in history["entries"]]
    assert causes.count(("subscription.recovered", "invoice_paid")) == 1


async def test_a_plan_may_have_no_reminders_and_the_catalog_document_sets_them(suite: RunningSuite) -> None:
    tenant = await b2b_tenant(suite)
    document = CATALOG + (
        b"lifecycle_policy:\n"
        b"  invoice_reminder_days: [3, -7]\n"
        b"  plans:\n"
        b"    enterprise_monthly: {invoice_reminder_days: []}\n"
    )
    dry = await tenant.apply_catalog(document, dry_run=True)
    assert dry.status_code == 200, dry.text
    changes = [
        (c["resource_type"], c["resource_id"], c["change_type"], c["changed_fields"])
        for c in dry.json()["changes"]
        if c["resource_type"].startswith("lifecycle_policy")
    ]
    assert changes == [
        ("lifecycle_policy", "", "CHANGE_TYPE_UPDATED", ["invoice_reminder_days"]),
        ("lifecycle_policy.plan", "enterprise_monthly", "CHANGE_TYPE_CREATED", []),
    ]
    assert (await tenant.apply_catalog(document)).status_code == 200
    stored = await tenant.ok("GET", POLICY, params={"plan_id": "enterprise_monthly"})
    assert stored["policy"]["rules"]["invoice_reminder_days"]["days"] == [-7, 3]
    # An empty list in a plan is "no reminders", not "the tenant's".
    assert stored["policy"]["plan_overrides"]["enterprise_monthly"]["invoice_reminder_days"]["days"] == []
    assert stored["effective_rules"]["invoice_reminder_days"]["days"] == []
    again = await tenant.apply_catalog(document)
    unchanged = [c["change_type"] for c in again.json()["changes"] if c["resource_type"].startswith("lifecycle")]
    assert unchanged == ["CHANGE_TYPE_UNCHANGED", "CHANGE_TYPE_UNCHANGED"]
    bad = document.replace(b"[3, -7]", b"[3, 120]")
    refused(await tenant.apply_catalog(bad, dry_run=True), 400, field="lifecycle_policy.invoice_reminder_days")

    # The plan's override cleared: it inherits the tenant's days again, as a new version.
    body = {"request_id": rid(), "plan_id": "enterprise_monthly", "update_mask": "invoice_reminder_days"}
    cleared = await tenant.ok("PATCH", POLICY, json=body)
    assert int(cleared["policy"]["version"]) == int(stored["policy"]["version"]) + 1
    inherited = await tenant.ok("GET", POLICY, params={"plan_id": "enterprise_monthly"})
    assert inherited["effective_rules"]["invoice_reminder_days"]["days"] == [-7, 3]
