"""A client of the App Store Server API: a subscription's transaction history, each transaction verified.

Every request carries a JWT the tenant's in-app purchase key signs (ES256, `kid` the key id): `iss` the issuer
id, `iat`, `exp` (at most an hour later), `aud` `appstoreconnect-v1`, `bid` the app's bundle id. The history
(`GET /inApps/v2/history/{transactionId}`) pages by `revision` while `hasMore`; its signed transactions are
verified exactly as a notification's (the app's root, Apple's marker OIDs, ES256). Used when a notification
arrives for a subscription Azotte does not know (a missed first notification).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from azotte_gateway.adapters.channels.app_store import verify_jws
from azotte_gateway.domain.channels import AppStoreApp, AppStoreEnvironment, InAppPurchaseKey, trusted_root
from azotte_gateway.errors import ChannelNotificationRejected
from azotte_platform.errors import InvalidArgument

AUDIENCE = "appstoreconnect-v1"
TOKEN_LIFETIME = timedelta(minutes=20)
MAX_PAGES = 50
PRODUCTION_URL = "https://api.storekit.itunes.apple.com"
SANDBOX_URL = "https://api.storekit-sandbox.itunes.apple.com"
_TRANSACTION_ID = re.compile(r"^[0-9]{1,32}$")


class AppStoreApiError(Exception):
    """The App Store Server API refused a request or answered something that is not a history."""


def api_token(key: InAppPurchaseKey, bundle_id: str, now: datetime) -> str:
    """The JWT one request to the App Store Server API carries."""
    claims = {
        "iss": key.issuer_id,
        "iat": int(now.timestamp()),
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
        "aud": AUDIENCE,
        "bid": bundle_id,
    }
    return jwt.encode(claims, key.private_key_pem, algorithm="ES256", headers={"kid": key.key_id, "typ": "JWT"})


def base_url_of(app: AppStoreApp) -> str:
    """Apple's API host for the app's environment."""
    return PRODUCTION_URL if app.environment is AppStoreEnvironment.PRODUCTION else SANDBOX_URL


@dataclass
class AppStoreServerApi:
    """The API over `http`: at `base_url` (the sandbox fake) when given, else Apple's host for the app's environment."""

    http: httpx.AsyncClient
    base_url: str = ""
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def transaction_history(
        self, app: AppStoreApp, key: InAppPurchaseKey, transaction_id: str
    ) -> list[dict[str, Any]]:
        """Every transaction of the subscription `transaction_id` belongs to, oldest first, each one verified."""
        if not _TRANSACTION_ID.match(transaction_id):
            raise InvalidArgument.field("transaction_id", "must be an App Store transaction id (digits)")
        root = trusted_root(app.root_certificate_pem)
        transactions: list[dict[str, Any]] = []
        revision = ""
        for _ in range(MAX_PAGES):
            page = await self._page(app, key, transaction_id, revision)
            for signed in page.get("signedTransactions", []):
                try:
                    transactions.append(verify_jws(signed, root, "signed transaction"))
                except ChannelNotificationRejected as error:
                    raise AppStoreApiError(f"a transaction of the history does not verify: {error}") from error
            revision = str(page.get("revision", ""))
            if not page.get("hasMore") or not revision:
                break
        if any(t.get("bundleId") != app.bundle_id for t in transactions):
            raise AppStoreApiError("the history holds a transaction of another app")
        return sorted(transactions, key=lambda t: int(t.get("purchaseDate", 0)))

    async def _page(self, app: AppStoreApp, key: InAppPurchaseKey, transaction_id: str, revision: str) -> Any:
        params = {"sort": "ASCENDING", **({"revision": revision} if revision else {})}
        headers = {"Authorization": f"Bearer {api_token(key, app.bundle_id, self.now())}"}
        url = f"{self.base_url or base_url_of(app)}/inApps/v2/history/{transaction_id}"
        try:
            response = await self.http.get(url, params=params, headers=headers)
        except httpx.HTTPError as error:
            raise AppStoreApiError(f"the App Store Server API is unreachable: {type(error).__name__}") from error
        if response.status_code == 401:
            raise AppStoreApiError("the App Store Server API refused the app's in-app purchase key (401)")
        if response.status_code != 200:
            raise AppStoreApiError(f"the App Store Server API answered {response.status_code}")
        try:
            page = response.json()
        except ValueError as error:
            raise AppStoreApiError("the App Store Server API answered no JSON") from error
        if not isinstance(page, dict) or not isinstance(page.get("signedTransactions", []), list):
            raise AppStoreApiError("the App Store Server API answered no transaction history")
        return page
