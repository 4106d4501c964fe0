"""`make demo` runs clean against the suite (last: it moves its tenant's clock by over three months)."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from azotte_gateway.cli.client import GatewayClient
from azotte_gateway.cli.demo import run_demo
from tests.e2e.conftest import OTT_CATALOG, RunningSuite


async def test_the_demo_tour_runs_clean(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    output = io.StringIO()
    gateway = GatewayClient(suite.base_url, tenant.key)
    try:
        failed = await asyncio.to_thread(run_demo, gateway, OTT_CATALOG, Console(file=output, width=140, emoji=False))
    finally:
        gateway.close()
    assert failed == [], output.getvalue()
    assert "The tour ran clean." in output.getvalue()
    assert "a third invite is refused: 409 SEAT_LIMIT_REACHED" in output.getvalue()
