"""Promotions through the gateway, REST and gRPC: a manager's promotion and shared code, a checkout that pays the
discounted price and redeems it, the limits it is held to, a declined card giving the reservation back, a device
validating a code, batches and goodwill codes, codes, batches and redemptions read back, and who may do each of
these."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import grpc
import pytest

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import promotions_pb2 as gp
from azotte.gateway.v1 import promotions_pb2_grpc
from azotte.promotions.v1 import promotions_pb2 as pr
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_checkout import payments_charges
from tests.helpers import eventually

PRICE = 699  # basic_monthly in the US storefront (tax exclusive at 0 %)
DISCOUNT = 350  # 50 % of 699, rounded half up


def rid() -> str:
    return uuid.uuid4().hex


def bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


async def premiere(tenant: TenantApi, manager: str, *, code_limit: int) -> tuple[str, str]:
    """An active promotion of 50 % off basic_monthly, once per customer, and its shared code limited to `code_limit`."""
    promotion = {
        "display_name": "Premiere",
        "discount": {
            "kind": "DISCOUNT_KIND_PERCENT_OFF",
            "percent_basis_points": 5000,
            "duration": "DISCOUNT_DURATION_ONCE",
        },
        "targets": {"plan_ids": ["basic_monthly"]},
        "limits": {"max_per_customer": 1},
    }
    created = await tenant.ok("POST", "/v1/promotions", json={"request_id": rid(), "promotion": promotion}, key=manager)
    promotion_id = created["promotion"]["id"]
    assert created["promotion"]["state"] == "PROMOTION_STATE_DRAFT"
    code = f"premiere-{uuid.uuid4().hex[:8]}"
    made = await tenant.ok(
        "POST",
        f"/v1/promotions/{promotion_id}/codes",
        json={"request_id": rid(), "code": code, "max_redemptions": code_limit},
        key=manager,
    )
    assert made["code"]["code"] == code.replace("-", "").upper()
    activated = await tenant.ok(
        "POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": rid()}, key=manager
    )
    assert activated["promotion"]["state"] == "PROMOTION_STATE_ACTIVE"
    return promotion_id, code


async def checkout(tenant: TenantApi, customer: str, code: str, token: str = "tok_success") -> Any:
    body = {
        "request_id": rid(),
        "customer_id": customer,
        "storefront_id": "us",
        "plan_id": "basic_monthly",
        "channel": "web",
        "payment_method_token": token,
        "promotion_code": code,
    }
    return await tenant.call("POST", "/v1/checkout", json=body)


async def usage(tenant: TenantApi, promotion_id: str) -> tuple[int, int]:
    read = (await tenant.ok("GET", f"/v1/promotions/{promotion_id}"))["promotion"]["usage"]
    return int(read["reserved_count"]), int(read["confirmed_count"])


async def test_a_checkout_with_a_code_pays_the_discounted_price_and_the_limits_hold(tenant: TenantApi) -> None:
    manager = await tenant.new_key("manager")
    promotion_id, code = await premiere(tenant, manager, code_limit=2)
    first, second, third = tenant.customer(), tenant.customer(), tenant.customer()
    alice, bob, carol = await first, await second, await third

    paid = await checkout(tenant, alice, code.lower())
    assert paid.status_code == 200, paid.text
    charge, applied = paid.json()["charge"], paid.json()["promotion"]
    assert (charge["net"]["amount_minor"], charge["discount"]["amount_minor"]) == (str(PRICE - DISCOUNT), str(DISCOUNT))
    assert charge["gross"]["amount_minor"] == str(PRICE - DISCOUNT)
    assert (applied["promotion_id"], applied["list_price"]["amount_minor"]) == (promotion_id, str(PRICE))
    assert await usage(tenant, promotion_id) == (0, 1)

    # The customer's one use is spent: after cancelling, a second checkout with the code is refused.
    subscription = paid.json()["subscription"]["id"]
    await tenant.ok(
        "POST", f"/v1/subscriptions/{subscription}:cancel", json={"request_id": rid(), "timing": "immediately"}
    )
    again = await checkout(tenant, alice, code)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["details"][0]["reason"] == "PROMOTION_LIMIT_REACHED"
    assert "customer_limit_reached" in again.text

    # A declined card gives the reservation back: the count is unchanged and the customer may pay later.
    declined = await checkout(tenant, bob, code, token="tok_insufficient_funds")
    assert declined.status_code == 402, declined.text
    assert await usage(tenant, promotion_id) == (0, 1)
    assert (await checkout(tenant, bob, code)).status_code == 200
    assert await usage(tenant, promotion_id) == (0, 2)

    # The shared code's limit of 2 is reached.
    exhausted = await checkout(tenant, carol, code)
    assert exhausted.status_code == 409, exhausted.text
    assert "code_exhausted" in exhausted.text
    assert await usage(tenant, promotion_id) == (0, 2)


async def test_a_code_that_does_not_apply_is_400_naming_promotion_code_and_its_reasons(
    suite: RunningSuite, tenant: TenantApi
) -> None:
    manager = await tenant.new_key("manager")
    _, code = await premiere(tenant, manager, code_limit=10)
    customer = await tenant.customer()
    body = {
        "request_id": rid(),
        "customer_id": customer,
        "storefront_id": "us",
        "plan_id": "family_monthly",
        "channel": "web",
        "payment_method_token": "tok_success",
        "promotion_code": code,
    }
    refused = await tenant.call("POST", "/v1/checkout", json=body)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert "PROMOTION_CODE_NOT_ELIGIBLE" in refused.text and "plan_not_eligible" in refused.text
    assert any(v["field"] == "promotion_code" for d in error["details"] for v in d.get("field_violations", []))
    unknown = await checkout(tenant, customer, "NO-SUCH-CODE")
    assert unknown.status_code == 400 and "PROMOTION_CODE_UNKNOWN" in unknown.text
    assert await payments_charges(suite, tenant, customer) == []


async def active_code(tenant: TenantApi, manager: str, discount: dict[str, Any]) -> tuple[str, str]:
    """An active promotion on standard_monthly (a 7-day trial) with `discount`, and a shared code of it."""
    promotion = {"display_name": "Trial offer", "discount": discount, "targets": {"plan_ids": ["standard_monthly"]}}
    created = await tenant.ok("POST", "/v1/promotions", json={"request_id": rid(), "promotion": promotion}, key=manager)
    promotion_id, code = created["promotion"]["id"], f"trial-{uuid.uuid4().hex[:8]}"
    body = {"request_id": rid(), "code": code}
    await tenant.ok("POST", f"/v1/promotions/{promotion_id}/codes", json=body, key=manager)
    await tenant.ok("POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": rid()}, key=manager)
    return promotion_id, code


async def test_an_extra_trial_days_code_lengthens_the_trial_and_a_money_off_code_gives_its_reservation_back(
    suite: RunningSuite, tenant: TenantApi
) -> None:
    manager = await tenant.new_key("manager")
    weeks, weeks_code = await active_code(tenant, manager, {"kind": "DISCOUNT_KIND_EXTRA_TRIAL_DAYS", "trial_days": 14})
    customer = await tenant.customer()
    body = {
        "request_id": rid(),
        "customer_id": customer,
        "storefront_id": "us",
        "plan_id": "standard_monthly",
        "channel": "web",
        "payment_method_token": "tok_success",
        "promotion_code": weeks_code,
    }
    bought = await tenant.call("POST", "/v1/checkout", json=body)
    assert bought.status_code == 200, bought.text
    answer = bought.json()
    subscription = answer["subscription"]
    started = datetime.fromisoformat(subscription["current_period_start_time"])
    trial = datetime.fromisoformat(subscription["trial_end_time"]) - started
    assert abs(trial - timedelta(days=7 + 14)) < timedelta(minutes=1), trial
    assert answer["promotion"]["extra_trial_days"] == 14 and "charge" not in answer
    assert await payments_charges(suite, tenant, customer) == []
    assert await usage(tenant, weeks) == (0, 1)

    half_off = {"kind": "DISCOUNT_KIND_PERCENT_OFF", "percent_basis_points": 5000}
    half, half_code = await active_code(tenant, manager, half_off)
    other = await tenant.customer()
    refused = await tenant.call(
        "POST", "/v1/checkout", json={**body, "request_id": rid(), "customer_id": other, "promotion_code": half_code}
    )
    assert refused.status_code == 400 and "plan_has_trial" in refused.text, refused.text
    assert await usage(tenant, half) == (0, 0)
    assert await payments_charges(suite, tenant, other) == []


async def test_a_device_validates_a_code_before_paying(tenant: TenantApi) -> None:
    manager = await tenant.new_key("manager")
    _, code = await premiere(tenant, manager, code_limit=10)
    publishable = await tenant.new_key("publishable")
    customer = await tenant.customer()
    body = {"storefront_id": "us", "plan_id": "basic_monthly", "channel": "web", "customer_id": customer}
    answer = await tenant.ok("POST", f"/v1/promotion-codes/{code}:validate", json=body, key=publishable)
    validation = answer["validation"]
    assert validation["eligible"] is True
    assert (validation["discount"]["amount_minor"], validation["final_amount"]["amount_minor"]) == (
        str(DISCOUNT),
        str(PRICE - DISCOUNT),
    )
    other_plan = {**body, "plan_id": "premium_annual"}
    refused = await tenant.ok("POST", f"/v1/promotion-codes/{code}:validate", json=other_plan, key=publishable)
    assert [i["reason"] for i in refused["validation"]["ineligibilities"]] == ["INELIGIBILITY_REASON_PLAN_NOT_ELIGIBLE"]


async def test_batches_export_page_by_page_and_revoke_as_a_whole(tenant: TenantApi) -> None:
    manager = await tenant.new_key("manager")
    promotion_id, _ = await premiere(tenant, manager, code_limit=10)
    batch = (
        await tenant.ok(
            "POST",
            f"/v1/promotions/{promotion_id}/code-batches",
            json={"request_id": rid(), "code_count": 3, "prefix": "VIP"},
            key=manager,
        )
    )["batch"]
    page = await tenant.ok("GET", f"/v1/code-batches/{batch['id']}/codes", params={"page_size": 2}, key=manager)
    rest = await tenant.ok(
        "GET", f"/v1/code-batches/{batch['id']}/codes", params={"page_token": page["next_page_token"]}, key=manager
    )
    codes = page["codes"] + rest["codes"]
    assert len(set(codes)) == 3 and all(c.startswith("VIP") for c in codes) and not rest["next_page_token"]
    viewer = await tenant.new_key("viewer")
    hidden = await tenant.call("GET", f"/v1/code-batches/{batch['id']}/codes", key=viewer)
    assert hidden.status_code == 403
    await tenant.ok("POST", f"/v1/code-batches/{batch['id']}:revoke", json={"request_id": rid()}, key=manager)
    body = {"storefront_id": "us", "plan_id": "basic_monthly", "channel": "web"}
    revoked = await tenant.ok("POST", f"/v1/promotion-codes/{codes[0]}:validate", json=body)
    assert [i["reason"] for i in revoked["validation"]["ineligibilities"]] == ["INELIGIBILITY_REASON_CODE_REVOKED"]


async def test_the_role_matrix_over_rest(suite: RunningSuite, tenant: TenantApi) -> None:
    manager = await tenant.new_key("manager")
    promotion_id, code = await premiere(tenant, manager, code_limit=10)
    keys = {role: await tenant.new_key(role) for role in ("viewer", "operator", "publishable")}
    create = {"request_id": rid(), "promotion": {"display_name": "x"}}
    for role in ("viewer", "operator", "publishable"):
        assert (await tenant.call("POST", "/v1/promotions", json=create, key=keys[role])).status_code == 403, role
    assert (await tenant.call("GET", f"/v1/promotions/{promotion_id}", key=keys["publishable"])).status_code == 403
    listed = await tenant.ok(
        "GET", "/v1/promotions", params={"filter": "state = PROMOTION_STATE_ACTIVE"}, key=keys["viewer"]
    )
    assert promotion_id in [p["id"] for p in listed["promotions"]]
    customer = await tenant.customer()
    goodwill = {"request_id": rid(), "promotion_id": promotion_id}
    path = f"/v1/customers/{customer}/goodwill-codes"
    assert (await tenant.call("POST", path, json=goodwill, key=keys["viewer"])).status_code == 403
    issued = await tenant.ok("POST", path, json=goodwill, key=keys["operator"])
    assert issued["code"] and issued["batch_id"]

    foreign = await suite.new_tenant(with_catalog=False)
    assert (await foreign.call("GET", f"/v1/promotions/{promotion_id}")).status_code == 404
    assert (await foreign.call("POST", path, json={**goodwill, "request_id": rid()})).status_code == 404
    body = {"storefront_id": "us", "plan_id": "basic_monthly", "channel": "web"}
    elsewhere = await foreign.call("POST", f"/v1/promotion-codes/{code}:validate", json=body)
    assert elsewhere.status_code == 404  # the foreign tenant sells no such plan


async def test_promotions_over_grpc(suite: RunningSuite, tenant: TenantApi) -> None:
    manager_key, publishable_key, viewer_key = [await tenant.new_key(r) for r in ("manager", "publishable", "viewer")]
    foreign = await suite.new_tenant(with_catalog=False)
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = promotions_pb2_grpc.PromotionsServiceStub(channel)
        created = await stub.CreatePromotion(
            gp.CreatePromotionRequest(
                request_id=rid(),
                promotion=pr.Promotion(
                    display_name="Spring",
                    discount=pr.Discount(
                        kind=pr.DISCOUNT_KIND_PERCENT_OFF,
                        percent_basis_points=2000,
                        duration=pr.DISCOUNT_DURATION_ONCE,
                    ),
                ),
            ),
            metadata=bearer(manager_key),
        )
        promotion_id = created.promotion.id
        await stub.ActivatePromotion(
            gp.ActivatePromotionRequest(request_id=rid(), promotion_id=promotion_id), metadata=bearer(manager_key)
        )
        code = f"SPRING{uuid.uuid4().hex[:8].upper()}"
        await stub.CreatePromotionCode(
            gp.CreatePromotionCodeRequest(request_id=rid(), promotion_id=promotion_id, code=code),
            metadata=bearer(manager_key),
        )
        validated = await stub.ValidatePromotionCode(
            gp.ValidatePromotionCodeRequest(
                code=code, storefront_id="us", plan_id="basic_monthly", channel=channel_pb2.CHANNEL_WEB
            ),
            metadata=bearer(publishable_key),
        )
        assert validated.validation.eligible and validated.validation.discount.amount_minor == 140  # 20 % of 699
        read = await stub.GetPromotion(gp.GetPromotionRequest(promotion_id=promotion_id), metadata=bearer(viewer_key))
        assert read.promotion.state == pr.PROMOTION_STATE_ACTIVE
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.EndPromotion(
                gp.EndPromotionRequest(request_id=rid(), promotion_id=promotion_id), metadata=bearer(viewer_key)
            )
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await stub.GetPromotion(gp.GetPromotionRequest(promotion_id=promotion_id), metadata=bearer(foreign.key))
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
        ended = await stub.EndPromotion(
            gp.EndPromotionRequest(request_id=rid(), promotion_id=promotion_id), metadata=bearer(manager_key)
        )
        assert ended.promotion.state == pr.PROMOTION_STATE_ENDED


async def test_operators_read_codes_batches_and_redemptions_and_another_tenant_finds_none(
    suite: RunningSuite, tenant: TenantApi
) -> None:
    manager, viewer, operator = [await tenant.new_key(role) for role in ("manager", "viewer", "operator")]
    promotion_id, code = await premiere(tenant, manager, code_limit=5)
    second = f"encore-{uuid.uuid4().hex[:8]}"
    await tenant.ok(
        "POST", f"/v1/promotions/{promotion_id}/codes", json={"request_id": rid(), "code": second}, key=manager
    )
    paid = await checkout(tenant, await tenant.customer(), code)
    assert paid.status_code == 200, paid.text
    redemption_id = paid.json()["promotion"]["redemption_id"]

    page = await tenant.ok("GET", f"/v1/promotions/{promotion_id}/codes", params={"page_size": 1}, key=manager)
    rest = await tenant.ok(
        "GET", f"/v1/promotions/{promotion_id}/codes", params={"page_token": page["next_page_token"]}, key=manager
    )
    listed = {c["code"]: c for c in page["codes"] + rest["codes"]}
    normal = code.replace("-", "").upper()
    assert sorted(listed) == sorted([normal, second.replace("-", "").upper()]) and not rest["next_page_token"]
    assert (listed[normal]["confirmed_count"], listed[normal]["max_redemptions"]) == ("1", "5")
    hidden = await tenant.call("GET", f"/v1/promotions/{promotion_id}/codes", key=operator)
    assert hidden.status_code == 403  # the codes are the discount

    read = await tenant.ok("GET", f"/v1/promotion-codes/{code.lower()}", key=viewer)
    assert (read["code"]["code"], read["code"]["promotion_id"], read["code"]["confirmed_count"]) == (
        normal,
        promotion_id,
        "1",
    )
    redemption = (await tenant.ok("GET", f"/v1/redemptions/{redemption_id}", key=viewer))["redemption"]
    assert (redemption["code"], redemption["state"]) == (normal, "REDEMPTION_STATE_CONFIRMED")
    assert redemption["discount"]["amount_minor"] == str(DISCOUNT) and redemption["charge_id"]
    batch = (
        await tenant.ok(
            "POST",
            f"/v1/promotions/{promotion_id}/code-batches",
            json={"request_id": rid(), "code_count": 2, "prefix": "VIP"},
            key=manager,
        )
    )["batch"]
    got = (await tenant.ok("GET", f"/v1/code-batches/{batch['id']}", key=viewer))["batch"]
    assert (got["code_count"], got["prefix"], got["revoked"]) == (2, "VIP", False)

    publishable = await tenant.new_key("publishable")
    assert (await tenant.call("GET", f"/v1/redemptions/{redemption_id}", key=publishable)).status_code == 403
    foreign = await suite.new_tenant(with_catalog=False)
    for path in (
        f"/v1/promotion-codes/{code}",
        f"/v1/promotions/{promotion_id}/codes",
        f"/v1/code-batches/{batch['id']}",
        f"/v1/redemptions/{redemption_id}",
    ):
        elsewhere = await foreign.call("GET", path)
        assert elsewhere.status_code == 404, (path, elsewhere.text)
    assert (await tenant.call("GET", "/v1/redemptions/red_unknown")).status_code == 404


async def test_an_automatic_promotion_takes_its_discount_off_checkouts_without_a_code_while_it_is_active(
    suite: RunningSuite,
) -> None:
    shop = await suite.new_tenant()  # its own: an automatic promotion applies to every checkout it suits
    manager = await shop.new_key("manager")
    sale = {
        "display_name": "Spring sale",
        "discount": {
            "kind": "DISCOUNT_KIND_PERCENT_OFF",
            "percent_basis_points": 2000,
            "duration": "DISCOUNT_DURATION_ONCE",
        },
        "targets": {"plan_ids": ["basic_monthly"]},
        "automatic": True,
    }
    created = await shop.ok("POST", "/v1/promotions", json={"request_id": rid(), "promotion": sale}, key=manager)
    promotion_id = created["promotion"]["id"]
    assert created["promotion"]["automatic"] is True
    before = (await checkout(shop, await shop.customer(), "")).json()  # a draft applies to nothing
    assert "promotion" not in before
    await shop.ok("POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": rid()}, key=manager)

    async def discounted() -> dict[str, Any]:
        answer: dict[str, Any] = (await checkout(shop, await shop.customer(), "")).json()
        assert "promotion" in answer
        return answer

    paid = await eventually(discounted, interval=0.2)  # the gateway learns of the activation from an event
    applied, charge = paid["promotion"], paid["charge"]
    assert (applied["promotion_id"], applied.get("code", "")) == (promotion_id, "")
    off = (int(applied["list_price"]["amount_minor"]) * 20 + 50) // 100
    assert applied["discount"]["amount_minor"] == charge["discount"]["amount_minor"] == str(off)

    # NOTE: a paywall shows the discount before the checkout; a device's key asks for its own customer.
    publishable = await shop.new_key("publishable")
    buyer = await shop.customer()
    paywall = {"storefront_id": "us", "plan_id": "basic_monthly", "channel": "web", "customer_id": buyer}
    shown = (await shop.ok("POST", "/v1/automatic-promotions:validate", json=paywall, key=publishable))["validation"]
    assert (shown["eligible"], shown["promotion_id"]) == (True, promotion_id)
    assert shown["discount"]["amount_minor"] == str(off)
    assert int(shown["final_amount"]["amount_minor"]) == int(applied["list_price"]["amount_minor"]) - off
    untargeted = {**paywall, "plan_id": "standard_monthly"}
    assert await shop.ok("POST", "/v1/automatic-promotions:validate", json=untargeted, key=publishable) == {}
    missing = await shop.call("POST", "/v1/automatic-promotions:validate", json={**paywall, "storefront_id": ""})
    assert missing.status_code == 400
    assert missing.json()["error"]["details"][1]["field_violations"][0]["field"] == "storefront_id"
    other = {"request_id": rid(), "customer_id": await shop.customer(), "storefront_id": "us"}
    body = {**other, "plan_id": "standard_monthly", "channel": "web", "payment_method_token": "tok_success"}
    assert "promotion" not in await shop.ok("POST", "/v1/checkout", json=body)  # not a target of the sale

    await shop.ok("POST", f"/v1/promotions/{promotion_id}:pause", json={"request_id": rid()}, key=manager)
    assert "promotion" not in (await checkout(shop, await shop.customer(), "")).json()
    assert await shop.ok("POST", "/v1/automatic-promotions:validate", json=paywall, key=publishable) == {}
    weeks = {**sale, "discount": {"kind": "DISCOUNT_KIND_EXTRA_TRIAL_DAYS", "trial_days": 14}}
    refused = await shop.call("POST", "/v1/promotions", json={"request_id": rid(), "promotion": weeks}, key=manager)
    assert refused.status_code == 400
    assert "automatic" in refused.json()["error"]["message"]
