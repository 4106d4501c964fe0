"""Failover across PSPs and the per-PSP circuit breaker."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta
from typing import Any

from azotte.payments.v1 import payments_pb2 as P
from tests.integration.payments.payments_harness import SandboxPsp, payments_service, storefront


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_unreachable_psp_fails_over_but_a_hard_decline_does_not(servers, sandbox_psps) -> None:
    urls = {"stripe_like": _dead_url(), "adyen_like": sandbox_psps["adyen_like"].url}
    async with payments_service(servers, sandbox_psps, psp_urls=urls) as payments:
        tenant = f"t{uuid.uuid4().hex[:12]}"
        payments.catalog.storefronts[(tenant, "de")] = storefront()
        good = await payments.add_customer(tenant)
        charge = await payments.charge(tenant, good)
        assert charge.status == P.CHARGE_STATUS_SUCCEEDED and charge.psp == "adyen_like"
        assert [(a.psp, a.decline.reason) for a in charge.attempts] == [
            ("stripe_like", "PSP_UNAVAILABLE"),
            ("adyen_like", ""),
        ]
        assert await sandbox_psps["adyen_like"].captures(f"{charge.id}:adyen_like") == 1

    async with payments_service(servers, sandbox_psps) as payments:
        payments.catalog.storefronts[(tenant, "de")] = storefront()
        stolen = await payments.add_customer(tenant, "tok_stolen_card")
        declined = await payments.charge(tenant, stolen)
        assert (declined.status, declined.outcome) == (P.CHARGE_STATUS_FAILED, P.DECLINE_OUTCOME_HARD_DECLINE)
        assert [a.psp for a in declined.attempts] == ["stripe_like"]


async def test_breaker_skips_a_failing_psp_and_probes_it_back(servers, sandbox_psps) -> None:
    stripe: SandboxPsp = sandbox_psps["stripe_like"]
    settings: dict[str, Any] = {"breaker_failure_threshold": 2, "breaker_cooldown_s": 30.0}
    async with payments_service(servers, sandbox_psps, **settings) as payments:
        tenant = f"t{uuid.uuid4().hex[:12]}"
        payments.catalog.storefronts[(tenant, "de")] = storefront()
        customer = await payments.add_customer(tenant)
        await stripe.set_outage(True)
        try:
            failing = [await payments.charge(tenant, customer) for _ in range(2)]
            assert all([a.psp for a in c.attempts] == ["stripe_like", "adyen_like"] for c in failing)
            skipped = await payments.charge(tenant, customer)
            assert [a.psp for a in skipped.attempts] == ["adyen_like"]
            assert skipped.status == P.CHARGE_STATUS_SUCCEEDED
        finally:
            await stripe.set_outage(False)
        still_open = await payments.charge(tenant, customer)
        assert [a.psp for a in still_open.attempts] == ["adyen_like"]
        payments.clock.advance(timedelta(seconds=31))
        probe = await payments.charge(tenant, customer)
        assert [a.psp for a in probe.attempts] == ["stripe_like"] and probe.status == P.CHARGE_STATUS_SUCCEEDED
        closed = await payments.charge(tenant, customer)
        assert [a.psp for a in closed.attempts] == ["stripe_like"]
