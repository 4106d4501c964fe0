"""What the benchmarks share: a scratch directory; on a whole suite, the suite, its sandbox admin's REST client, the
catalog, customers.

The benchmarks import it as a sibling (`import perf_suite`): tests/perf is on the path when one is run, and pytest
puts it there for a test that imports a benchmark (pyproject.toml).
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx

from azotte_stack.processes import free_port
from azotte_stack.suite import Suite

OTT_CATALOG = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ott-catalog.yaml"
# NOTE: one key sends every call, so its rate limit is lifted: a benchmark measures the path, not the limiter.
UNLIMITED = {"AZOTTE_RATE_LIMIT_BURST": "100000000", "AZOTTE_RATE_LIMIT_PER_SECOND": "100000000"}
KEEPALIVE_EXPIRY_S = 2.0
"""How long a benchmark's HTTP client keeps an idle connection: less than the gateway's 5 s keep-alive, so it never
sends a request on a connection the gateway is closing at that moment (the request would fail unanswered)."""


def scratch_dir(prefix: str) -> Path:
    """A new directory for a benchmark's servers, removed when the benchmark exits: their data runs to gigabytes."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def unlimited_suite(root: Path, **options: Any) -> Suite:
    """A suite under `root` on free gateway ports, with fast storage, warnings-only logs and no rate limit;
    `options` are the Suite's others (replicas, gateway workers, ...)."""
    return Suite(
        root=root,
        gateway_grpc_port=free_port(),
        gateway_rest_port=free_port(),
        fast_storage=True,
        extra_env={**UNLIMITED, "AZOTTE_LOG_LEVEL": "WARNING"},
        **options,
    )


def admin_key(suite: Suite) -> str:
    """The sandbox admin's key, which the started suite wrote under its root."""
    return (suite.root / "sandbox-admin.key").read_text().strip()


def admin_client(suite: Suite, **options: Any) -> httpx.AsyncClient:
    """A client of the gateway's REST API sending the sandbox admin's key; `options` go to httpx."""
    base_url = f"http://127.0.0.1:{suite.gateway_rest_port}"
    return httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {admin_key(suite)}"}, **options)


async def apply_catalog(http: httpx.AsyncClient, path: Path = OTT_CATALOG) -> None:
    """PUT the catalog document at `path` (the OTT example by default)."""
    document = await asyncio.to_thread(path.read_bytes)
    headers = {"Content-Type": "application/yaml", "X-Request-Id": uuid.uuid4().hex}
    (await http.put("/v1/catalog", content=document, headers=headers)).raise_for_status()


async def new_customer(http: httpx.AsyncClient) -> str:
    """A new customer in Germany: its id."""
    body = {"request_id": uuid.uuid4().hex, "external_id": uuid.uuid4().hex, "country_code": "DE"}
    answer = await http.post("/v1/customers", json=body)
    answer.raise_for_status()
    return str(answer.json()["customer"]["id"])
