"""`make demo` runs clean against the suite (last: it moves its tenant's clock by over five months)."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from azotte_gateway.cli.client import GatewayClient, sandbox_urls
from azotte_gateway.cli.demo import run_demo
from tests.e2e.conftest import OTT_CATALOG, RunningSuite


@pytest.mark.timeout(900)  # fourteen sections on one tenant, each waiting for the suite's background work
async def test_the_demo_tour_runs_clean(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    output = io.StringIO()
    gateway = GatewayClient(suite.base_url, tenant.key)
    try:
        console = Console(file=output, width=140, emoji=False)
        urls = sandbox_urls(suite.suite.root)  # as `make up` leaves them for `make demo`
        failed = await asyncio.to_thread(run_demo, gateway, OTT_CATALOG, console, urls)
    finally:
        gateway.close()
    assert failed == [], output.getvalue()
    assert "The tour ran clean." in output.getvalue()
    shown = output.getvalue()
    assert "a third invite is refused: 409 SEAT_LIMIT_REACHED" in shown
    rows = table_rows(shown)
    assert {
        ("App Store", "SUBSCRIBED", "lena", "allowed"),
        ("App Store", "DID_RENEW", "lena", "allowed"),
        ("Google Play", "ON_HOLD", "milo", "denied"),
        ("Google Play", "RECOVERED", "milo", "allowed"),
        ("carrier", "renewal a month later", "noah", "allowed"),
    } <= rows, shown
    [partner] = [row for row in rows if row[0] == "partner"]  # its subscriber is the partner's own reference
    assert (partner[1], partner[3]) == ("activate", "allowed")
    assert "noah's phone bill: 2 periods paid through carrier-" in shown
    assert "every visitor saw the same variant on both visits: True" in shown
    variants = {row[0]: row for row in rows if row[0] in ("control", "lower")}
    assert sum(int(row[1]) for row in variants.values()) == 8 and sum(int(row[2]) for row in variants.values()) == 3
    [offer] = [row for row in rows if row[0] == "olga"]
    assert offer[2:4] == ("renewal_failed", "basic_monthly"), shown
    assert f"olga's code {offer[4]}: eligible True, takes 3.50 USD off" in shown
    ai = shown[shown.index("batch 1: 300 large") :]
    assert "batch 5: 300 large, 2000 small tokens → wallet 0.00 USD" in ai, ai
    emptied, topped_up = (
        [line for line in part.splitlines() if "access: erin" in line] for part in ai.split("top-up of 20.00 USD")
    )
    assert emptied[-1].startswith("  access: erin → priority_access: denied ("), ai
    assert topped_up == ["  access: erin → priority_access: allowed"], ai
    assert "  quota: erin → tokens_gpt_large: 1,500 of 2,000,000 used" in ai.splitlines(), ai
    assert "  quota: erin → tokens_gpt_small: 10,000 of 20,000,000 used" in ai.splitlines(), ai


def table_rows(shown: str) -> set[tuple[str, ...]]:
    """The cells of every row of the tables the demo printed."""
    return {
        tuple(cell.strip() for cell in line.split("│")[1:-1]) for line in shown.splitlines() if line.count("│") >= 3
    }
