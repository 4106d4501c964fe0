"""The whole suite as tests drive it: started under a directory, reached only through the gateway's REST API.

The session's one suite is the `suite` fixture of tests/conftest.py, shared by tests/e2e and tests/browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from azotte_stack.processes import free_port
from azotte_stack.suite import Suite

REPO = Path(__file__).resolve().parents[1]
OTT_CATALOG = REPO / "docs" / "examples" / "ott-catalog.yaml"
YAML = {"Content-Type": "application/yaml"}


@dataclass
class TenantApi:
    """One tenant's view of the gateway, through an admin key."""

    tenant_id: str
    key: str
    http: httpx.AsyncClient

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    async def call(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={**self.auth(key), **kwargs.pop("headers", {})}, **kwargs)

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self.call(method, path, **kwargs)
        assert answer.status_code == 200, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.headers["content-type"].startswith("application/json") else answer.text

    async def new_key(self, role: str) -> str:
        body = {"request_id": uuid.uuid4().hex, "display_name": role, "role": role}
        created = await self.ok("POST", "/v1/api-keys", json=body)
        return str(created["secret"])

    async def apply_catalog(
        self, document: bytes | None = None, *, dry_run: bool = False, key: str | None = None
    ) -> Any:
        """PUT the OTT example catalog (or `document`); a dry run needs no request id."""
        content = document if document is not None else await asyncio.to_thread(OTT_CATALOG.read_bytes)
        if dry_run:
            return await self.call("PUT", "/v1/catalog?dry_run=true", content=content, headers=YAML, key=key)
        headers = {**YAML, "X-Request-Id": uuid.uuid4().hex}
        return await self.call("PUT", "/v1/catalog", content=content, headers=headers, key=key)

    async def customer(self, country: str = "US") -> str:
        external = uuid.uuid4().hex[:10]
        created = await self.ok(
            "POST",
            "/v1/customers",
            json={
                "request_id": uuid.uuid4().hex,
                "external_id": external,
                "email": f"{external}@example.com",
                "country_code": country,
            },
        )
        return str(created["customer"]["id"])

    async def checkout(
        self,
        customer_id: str,
        *,
        storefront: str = "us",
        plan: str = "basic_monthly",
        token: str = "tok_success",
        request_id: str | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        body = {
            "request_id": request_id or uuid.uuid4().hex,
            "customer_id": customer_id,
            "storefront_id": storefront,
            "plan_id": plan,
            "channel": "web",
            "payment_method_token": token,
        }
        return await self.call("POST", "/v1/checkout", json=body, key=key)


@dataclass
class RunningSuite:
    """The started suite, its REST address and the root tenant's admin key."""

    suite: Suite
    base_url: str
    root_key: str
    http: httpx.AsyncClient

    async def new_tenant(self, *, live: bool = False, with_catalog: bool = True) -> TenantApi:
        tenant_id = f"t-{uuid.uuid4().hex[:10]}"
        answer = await self.http.post(
            "/v1/tenants",
            json={
                "request_id": uuid.uuid4().hex,
                "tenant_id": tenant_id,
                "display_name": tenant_id,
                "mode": "live" if live else "sandbox",
            },
            headers={"Authorization": f"Bearer {self.root_key}"},
        )
        assert answer.status_code == 200, answer.text
        tenant = TenantApi(tenant_id, answer.json()["admin_secret"], self.http)
        if with_catalog:
            applied = await tenant.apply_catalog()
            assert applied.status_code == 200, applied.text
        return tenant


@contextlib.asynccontextmanager
async def running(suite: Suite) -> AsyncIterator[Suite]:
    """`suite` started, and stopped on exit (also when it fails to start)."""
    try:
        await suite.start()
        yield suite
    finally:
        suite.stop()


@contextlib.asynccontextmanager
async def started_suite(root: Path, extra_env: dict[str, str] | None = None) -> AsyncIterator[RunningSuite]:
    """The whole suite under `root` (services get `extra_env`), stopped on exit; shared with tests/faults."""
    suite = Suite(
        root=root,
        gateway_grpc_port=free_port(),
        gateway_rest_port=free_port(),
        fast_storage=True,
        extra_env=extra_env or {},
    )
    async with running(suite):
        base_url = f"http://127.0.0.1:{suite.gateway_rest_port}"
        root_key = (root / "sandbox-admin.key").read_text().strip()
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            yield RunningSuite(suite, base_url, root_key, http)
