"""The portal's pages over the fake suite: sign-in, CSRF, roles (hidden controls and forged posts), forms."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import portal_users_pb2 as pu
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.entrypoints.rest.app import create_app
from azotte_gateway.service_layer.gateway import Gateway
from tests.unit.gateway.fakes import STOREFRONT, TENANT, FakeSuite, caller
from tests.unit.gateway.portal_fakes import PortalWorld

OTHER = Tenant("other-tv", "Other TV", TenantMode.SANDBOX)
ADMIN = "admin@acme.example"


class Portal:
    """A browser-like client of the portal: cookies kept, redirects not followed."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client

    async def sign_in(self, tenant: str, email: str, password: str, next_page: str = "") -> httpx.Response:
        """Open the sign-in form (its pre-session token) and send it."""
        form = (await self.client.get("/portal/sign-in")).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        data = {"tenant_id": tenant, "email": email, "password": password, "csrf_token": token.group(1)}
        return await self.client.post("/portal/sign-in", data={**data, "next": next_page})

    async def form_fields(self, path: str) -> dict[str, str]:
        """The CSRF token and the first request id of the page's forms."""
        page = (await self.client.get(path)).text
        fields = dict(re.findall(r'name="(csrf_token|request_id)" value="([^"]+)"', page))
        return fields


@pytest.fixture
async def gateway() -> Gateway:
    suite = FakeSuite()
    suite.data.tenants.update({TENANT.id: TENANT, OTHER.id: OTHER})

    async def list_storefronts(request: cat.ListStorefrontsRequest) -> cat.ListStorefrontsResponse:
        return cat.ListStorefrontsResponse(storefronts=[STOREFRONT])

    suite.catalog.ListStorefronts = list_storefronts  # type: ignore[attr-defined]
    return dataclasses.replace(suite.gateway(), portal_users=PortalWorld(suite.clock, TENANT, OTHER).area())


@pytest.fixture
async def passwords(gateway: Gateway) -> dict[str, str]:
    """One user per role in TENANT, and an admin of OTHER; their passwords by email."""
    users = gateway.portal_users
    found = {ADMIN: await users.add_first_admin(TENANT.id, ADMIN), "other@other.example": None}
    found["other@other.example"] = await users.add_first_admin(OTHER.id, "other@other.example")
    for role in ("viewer", "operator", "manager"):
        request = pu.CreatePortalUserRequest(
            request_id=role,
            email=f"{role}@acme.example",
            role=pu.PortalUserRole.Value(f"PORTAL_USER_ROLE_{role.upper()}"),
        )
        with caller().scope():
            found[f"{role}@acme.example"] = (await users.create_portal_user(caller(), request)).initial_password
    return {email: password or "" for email, password in found.items()}


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(gateway))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        yield http


async def signed_in(
    client: httpx.AsyncClient, email: str, passwords: dict[str, str], tenant: Tenant = TENANT
) -> Portal:
    portal = Portal(client)
    answer = await portal.sign_in(tenant.id, email, passwords[email])
    assert answer.status_code == 303, answer.text
    return portal


async def test_a_page_without_a_session_leads_to_the_sign_in_page(client: httpx.AsyncClient) -> None:
    answer = await client.get("/portal/tenant/webhooks")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portal/sign-in?next=/portal/tenant/webhooks"


async def test_sign_in_sets_a_strict_http_only_cookie_and_goes_back_to_the_page_asked_for(
    client: httpx.AsyncClient, passwords: dict[str, str]
) -> None:
    answer = await Portal(client).sign_in(TENANT.id, ADMIN, passwords[ADMIN], "/portal/analytics")
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/analytics"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/portal" in cookie
    assert "Secure" not in cookie  # plain http here; https adds it
    page = await client.get("/portal/dashboard")
    assert page.status_code == 200 and ADMIN in page.text
    assert page.headers["x-frame-options"] == "DENY" and "script-src" not in page.headers["content-security-policy"]
    assert page.headers["server-timing"].startswith("app;dur=")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/portal/", "/v1/api-keys", "/portal\\@evil"]
)
async def test_sign_in_never_sends_the_browser_elsewhere(
    client: httpx.AsyncClient, passwords: dict[str, str], target: str
) -> None:
    answer = await Portal(client).sign_in(TENANT.id, ADMIN, passwords[ADMIN], target)
    assert answer.headers["location"] == "/portal/dashboard"


async def test_a_sign_in_posted_without_the_forms_own_token_is_refused(
    client: httpx.AsyncClient, passwords: dict[str, str]
) -> None:
    data = {"tenant_id": TENANT.id, "email": ADMIN, "password": passwords[ADMIN], "csrf_token": "made-up"}
    answer = await client.post("/portal/sign-in", data=data)
    assert answer.status_code == 403 and "the sign-in form expired" in answer.text
    assert not any(c.startswith("azotte_portal=") for c in answer.headers.get_list("set-cookie"))


async def test_a_wrong_password_and_an_unknown_email_read_the_same(
    client: httpx.AsyncClient, passwords: dict[str, str]
) -> None:
    wrong = await Portal(client).sign_in(TENANT.id, ADMIN, "nope")
    unknown = await Portal(client).sign_in(TENANT.id, "nobody@acme.example", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert "the tenant, email or password is wrong" in wrong.text
    assert not any(c.startswith("azotte_portal=") for c in wrong.headers.get_list("set-cookie"))
    token = re.compile(r'name="csrf_token" value="[^"]+"')
    assert token.sub("", wrong.text.replace(ADMIN, "X")) == token.sub(
        "", unknown.text.replace("nobody@acme.example", "X")
    )


async def test_a_post_without_the_sessions_csrf_token_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, passwords: dict[str, str], gateway: Gateway
) -> None:
    portal = await signed_in(client, ADMIN, passwords)
    fields = await portal.form_fields("/portal/tenant/api-keys")
    for token in ("", "forged", fields["csrf_token"] + "x"):
        data = {"csrf_token": token, "request_id": "r1", "display_name": "ci", "role": "admin"}
        answer = await client.post("/portal/tenant/api-keys", data=data)
        assert answer.status_code == 403
    listed = (await client.get("/portal/tenant/api-keys")).text
    assert "<td>ci</td>" not in listed


async def test_an_admin_creates_a_key_whose_secret_is_shown_once(
    client: httpx.AsyncClient, passwords: dict[str, str]
) -> None:
    portal = await signed_in(client, ADMIN, passwords)
    fields = await portal.form_fields("/portal/tenant/api-keys")
    data = {**fields, "display_name": "backend", "role": "operator"}
    created = await client.post("/portal/tenant/api-keys", data=data)
    secret = re.search(r"data-secret>([^<]+)<", created.text)
    assert created.status_code == 200 and secret is not None and secret.group(1).startswith("azk_sandbox_")
    again = await client.post("/portal/tenant/api-keys", data=data)
    assert "data-secret" not in again.text and "already created" in again.text
    listed = (await client.get("/portal/tenant/api-keys")).text
    assert listed.count("<td>backend</td>") == 1 and secret.group(1) not in listed


@pytest.mark.parametrize(
    ("name", "error"),
    [("", "must not be empty"), ("a\x00b", "must not contain a NUL character"), ("x" * 5000, "at most 4096")],
)
async def test_a_bad_form_comes_back_with_the_message_next_to_its_field(
    client: httpx.AsyncClient, passwords: dict[str, str], name: str, error: str
) -> None:
    portal = await signed_in(client, ADMIN, passwords)
    fields = await portal.form_fields("/portal/tenant/api-keys")
    answer = await client.post("/portal/tenant/api-keys", data={**fields, "display_name": name, "role": "viewer"})
    assert answer.status_code == 400 and error in answer.text


async def test_a_viewer_sees_no_write_control_and_a_forged_write_is_refused(
    client: httpx.AsyncClient, passwords: dict[str, str], gateway: Gateway
) -> None:
    portal = await signed_in(client, "viewer@acme.example", passwords)
    webhooks = await client.get("/portal/tenant/webhooks")
    assert webhooks.status_code == 200
    assert "Add endpoint" not in webhooks.text and "Replay" not in webhooks.text
    dashboard = (await client.get("/portal/dashboard")).text
    assert "Create an API key" not in dashboard and "Schedule a price change" not in dashboard

    fields = await portal.form_fields("/portal/tenant/webhooks")
    forged = await client.post(
        "/portal/tenant/api-keys",
        data={"csrf_token": fields["csrf_token"], "request_id": "f1", "display_name": "evil", "role": "admin"},
    )
    assert forged.status_code == 403 and "manage_api_keys" in forged.text
    with caller().scope():
        keys = await gateway.admin.list_api_keys(caller(), ta.ListApiKeysRequest())
    assert all(k.display_name != "evil" for k in keys.api_keys)
    assert (await client.get("/portal/tenant/api-keys")).status_code == 403


async def test_another_tenants_user_is_not_found_by_url(
    client: httpx.AsyncClient, passwords: dict[str, str], gateway: Gateway
) -> None:
    await signed_in(client, ADMIN, passwords)
    page = (await client.get("/portal/tenant/portal-users")).text
    viewer_id = re.search(r"/portal/tenant/portal-users/([^/]+)/disable", page)
    assert viewer_id is not None

    theirs = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://portal.test")
    async with theirs:
        portal = await signed_in(theirs, "other@other.example", passwords, OTHER)
        fields = await portal.form_fields("/portal/tenant/portal-users")
        answer = await theirs.post(f"/portal/tenant/portal-users/{viewer_id.group(1)}/disable", data=fields)
        assert answer.status_code == 404
    assert (
        await Portal(client).sign_in(TENANT.id, "viewer@acme.example", passwords["viewer@acme.example"])
    ).status_code == 303


async def test_sign_out_ends_the_session(client: httpx.AsyncClient, passwords: dict[str, str]) -> None:
    portal = await signed_in(client, ADMIN, passwords)
    fields = await portal.form_fields("/portal/dashboard")
    cookie = client.cookies.get("azotte_portal")
    answer = await client.post("/portal/sign-out", data={"csrf_token": fields["csrf_token"]})
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/sign-in"
    client.cookies.set("azotte_portal", cookie or "", path="/portal")
    assert (await client.get("/portal/dashboard")).status_code == 303


async def test_the_dashboard_filters_are_checked(client: httpx.AsyncClient, passwords: dict[str, str]) -> None:
    await signed_in(client, ADMIN, passwords)
    answer = await client.get("/portal/dashboard", params={"channel": "FAX"})
    assert answer.status_code == 400 and "is not a channel" in answer.text
    csv = await client.get("/portal/analytics/revenue.csv", params={"period": "90d"})
    assert csv.status_code == 200 and csv.text.startswith("start_time,end_time,gross_minor")
    assert len(csv.text.strip().splitlines()) == 91


async def test_revenue_is_shown_to_admins_only(client: httpx.AsyncClient, passwords: dict[str, str]) -> None:
    await signed_in(client, "manager@acme.example", passwords)
    dashboard = await client.get("/portal/dashboard")
    assert dashboard.status_code == 200 and dashboard.text.count('<svg class="chart"') == 2
    analytics = await client.get("/portal/analytics")
    assert analytics.status_code == 200 and 'id="revenue"' not in analytics.text
    assert (await client.get("/portal/analytics/revenue.csv")).status_code == 403
    assert (await client.get("/portal/analytics/mrr.csv")).status_code == 200

    await signed_in(client, ADMIN, passwords)
    assert (await client.get("/portal/dashboard")).text.count('<svg class="chart"') == 3
    assert 'id="revenue"' in (await client.get("/portal/analytics")).text
