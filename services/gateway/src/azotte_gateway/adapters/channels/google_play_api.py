"""Google's side of Google Play: the OIDC keys that sign Pub/Sub pushes, and the Play Developer API.

- `GoogleEndpoints`: where Google's token endpoint, certificates and Play Developer API are (configurable: the
  emulator `azotte_gateway.sandbox_channels.google_play_api` serves all three under one URL).
- `HttpJwks`: the push tokens' signing keys, read from the certificates URL and cached by `kid` (read again,
  at most once a minute, when a token names a key not seen yet).
- `PlayDeveloperApi`: `purchases.subscriptionsv2.get` and `purchases.subscriptions.acknowledge`, authorized
  by an OAuth 2.0 access token obtained with the JWT-bearer grant (RFC 7523) signed by the app's service
  account key; access tokens are cached per service account key until a minute before they expire.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import jwt

from azotte_gateway.domain.channel_accounts import GooglePlayApp, ServiceAccountKey
from azotte_gateway.errors import ChannelApiUnavailable, ChannelNotificationRejected

ANDROID_PUBLISHER_SCOPE = "https://www.googleapis.com/auth/androidpublisher"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600
JWKS_REFRESH_SECONDS = 60.0
TOKEN_MARGIN_SECONDS = 60.0


def _cache_key(key: ServiceAccountKey) -> str:
    """Whose access token: the account and its private key, so only the holder of that key reuses the token."""
    return hashlib.sha256(f"{key.client_email}\n{key.private_key_pem}".encode()).hexdigest()


def _json(answer: httpx.Response) -> Any:
    """The answer's JSON body; None when it has none."""
    try:
        return answer.json()
    except ValueError:
        return None


@dataclass(frozen=True)
class GoogleEndpoints:
    """Where Google's OAuth token endpoint, OIDC certificates and Play Developer API answer."""

    token_url: str = "https://oauth2.googleapis.com/token"
    certs_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    api_url: str = "https://androidpublisher.googleapis.com"

    @classmethod
    def under(cls, base_url: str) -> GoogleEndpoints:
        """Google's endpoints, or all three under `base_url` when it is set (an emulator)."""
        if not base_url:
            return cls()
        base = base_url.rstrip("/")
        return cls(token_url=f"{base}/token", certs_url=f"{base}/oauth2/v3/certs", api_url=base)


@dataclass
class HttpJwks:
    """Implements `google_play.SigningKeys` over a JWKS URL."""

    http: httpx.AsyncClient
    url: str
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    _read_at: float = float("-inf")

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys and time.monotonic() - self._read_at >= JWKS_REFRESH_SECONDS:
            await self._read()
        return self._keys.get(kid)

    async def _read(self) -> None:
        try:
            answer = await self.http.get(self.url)
            answer.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(answer.json()).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
            raise ChannelApiUnavailable(f"the push tokens' signing keys could not be read: {error}") from error
        self._read_at = time.monotonic()
        self._keys = {key.key_id: key for key in keys if key.key_id}


@dataclass
class PlayDeveloperApi:
    """Implements `google_play.PlayPurchases`: reads and acknowledges subscription purchases as the app's account."""

    http: httpx.AsyncClient
    endpoints: GoogleEndpoints
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    async def subscription(self, app: GooglePlayApp, purchase_token: str) -> dict[str, Any]:
        url = f"{self._purchases(app)}/subscriptionsv2/tokens/{quote(purchase_token, safe='')}"
        answer = await self._call("GET", url, app)
        if answer.status_code in (400, 404, 410):
            raise ChannelNotificationRejected("Google Play knows no subscription of the notification's purchase token")
        body = _json(answer)
        if answer.status_code != 200 or not isinstance(body, dict):
            raise ChannelApiUnavailable("the Play Developer API answered a subscription that is not a JSON object")
        return body

    async def acknowledge(self, app: GooglePlayApp, product_id: str, purchase_token: str) -> None:
        product, token = quote(product_id, safe=""), quote(purchase_token, safe="")
        await self._call("POST", f"{self._purchases(app)}/subscriptions/{product}/tokens/{token}:acknowledge", app)

    def _purchases(self, app: GooglePlayApp) -> str:
        package = quote(app.package_name, safe="")
        return f"{self.endpoints.api_url}/androidpublisher/v3/applications/{package}/purchases"

    async def _call(self, method: str, url: str, app: GooglePlayApp) -> httpx.Response:
        key = app.service_account_key()
        try:
            headers = {"Authorization": f"Bearer {await self._access_token(key)}"}
            answer = await self.http.request(method, url, headers=headers, json={} if method == "POST" else None)
            if answer.status_code == 401:
                # NOTE: a token revoked before its expiry: forget it, and ask once more with a new one.
                self._tokens.pop(_cache_key(key), None)
                headers = {"Authorization": f"Bearer {await self._access_token(key)}"}
                answer = await self.http.request(method, url, headers=headers, json={} if method == "POST" else None)
        except httpx.HTTPError as error:
            raise ChannelApiUnavailable(f"the Play Developer API did not answer: {error}") from error
        if answer.status_code >= 500 or answer.status_code in (401, 403, 429):
            raise ChannelApiUnavailable(f"the Play Developer API answered {answer.status_code}")
        return answer

    async def _access_token(self, key: ServiceAccountKey) -> str:
        cached = self._tokens.get(_cache_key(key))
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        now = int(time.time())
        claims = {
            "iss": key.client_email,
            "scope": ANDROID_PUBLISHER_SCOPE,
            "aud": self.endpoints.token_url,
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
        }
        assertion = jwt.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": key.private_key_id})
        answer = await self.http.post(
            self.endpoints.token_url, data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
        )
        body = _json(answer)
        token, lifetime = (body.get("access_token"), body.get("expires_in")) if isinstance(body, dict) else (None, None)
        if answer.status_code != 200 or not isinstance(token, str) or not isinstance(lifetime, int):
            raise ChannelApiUnavailable(f"Google refused the app's service account ({answer.status_code})")
        self._tokens[_cache_key(key)] = (token, time.monotonic() + lifetime - TOKEN_MARGIN_SECONDS)
        return token
