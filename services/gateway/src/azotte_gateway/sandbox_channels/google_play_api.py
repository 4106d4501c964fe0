"""An emulator of Google's side of Google Play: `python -m azotte_gateway.sandbox_channels.google_play_api --port N`.

It serves what the gateway calls, with Google's shapes (set `AZOTTE_GOOGLE_APIS_URL` to its URL):
- `POST /token`: the OAuth 2.0 JWT-bearer grant; the assertion must be RS256-signed by a registered service
  account (`iss`), for this endpoint (`aud`), unexpired; answers `{"access_token", "expires_in", "token_type"}`;
- `GET /oauth2/v3/certs`: the JWKS of the keys push tokens are signed with (the ones registered);
- `GET /androidpublisher/v3/applications/{package}/purchases/subscriptionsv2/tokens/{token}`: the
  `SubscriptionPurchaseV2` set for the token (404 otherwise), for an access token of a service account
  granted the package (401 / 403 otherwise);
- `POST /androidpublisher/v3/applications/{package}/purchases/subscriptions/{product}/tokens/{token}:acknowledge`.
What a test or a demo controls (keys and states are theirs: the emulator makes none):
- `PUT /emulator/service-accounts/{email}` `{"public_key_pem", "packages": [...]}`;
- `POST /emulator/jwks` `{"keys": [JWK, ...]}` adds push-token keys;
- `PUT` / `GET /emulator/applications/{package}/subscriptions/{token}`: a purchase's state.
"""

from __future__ import annotations

import argparse
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCESS_TOKEN_SECONDS = 3600


def _error(status: int, message: str) -> JSONResponse:
    # NOTE: Google's error shape.
    return JSONResponse({"error": {"code": status, "message": message}}, status_code=status)


@dataclass
class PlayState:
    """What the emulator holds: service accounts, push-token keys, access tokens, purchases."""

    service_accounts: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    jwks: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    purchases: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def caller(self, request: Request, package: str) -> str | JSONResponse:
        """The service account an API call is authorized as, or the error to answer."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        account, expiry = self.access_tokens.get(token, ("", 0.0))
        if scheme.lower() != "bearer" or expiry < time.monotonic():
            return _error(401, "Request had invalid authentication credentials.")
        if package not in self.service_accounts[account][1]:
            return _error(403, "The current user has insufficient permissions to perform the requested operation.")
        return account


def create_app(state: PlayState | None = None) -> Starlette:
    """The emulator's application over `state`."""
    play = state or PlayState()

    async def token(request: Request) -> JSONResponse:
        # NOTE: application/x-www-form-urlencoded, read without a multipart parser.
        form = {name: values[0] for name, values in parse_qs((await request.body()).decode()).items()}
        assertion = form.get("assertion")
        if form.get("grant_type") != JWT_BEARER_GRANT or not isinstance(assertion, str):
            return _error(400, "unsupported_grant_type")
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss", "")
            public_key = play.service_accounts[issuer][0]
            claims = jwt.decode(
                assertion, public_key, algorithms=["RS256"], audience=str(request.url), options={"require": ["exp"]}
            )
        except (jwt.PyJWTError, KeyError):
            return _error(400, "invalid_grant")
        access_token = secrets.token_urlsafe(24)
        play.access_tokens[access_token] = (claims["iss"], time.monotonic() + ACCESS_TOKEN_SECONDS)
        return JSONResponse({"access_token": access_token, "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"})

    async def certs(request: Request) -> JSONResponse:
        return JSONResponse({"keys": list(play.jwks.values())})

    async def get_subscription(request: Request) -> JSONResponse:
        package, purchase_token = request.path_params["package"], request.path_params["token"]
        caller = play.caller(request, package)
        if isinstance(caller, JSONResponse):
            return caller
        purchase = play.purchases.get((package, purchase_token))
        if purchase is None:
            return _error(404, "The purchase token was not found.")
        return JSONResponse(purchase)

    async def acknowledge(request: Request) -> JSONResponse:
        package, purchase_token = request.path_params["package"], request.path_params["token"]
        caller = play.caller(request, package)
        if isinstance(caller, JSONResponse):
            return caller
        purchase = play.purchases.get((package, purchase_token))
        if purchase is None:
            return _error(404, "The purchase token was not found.")
        if purchase.get("acknowledgementState") == "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED":
            return _error(400, "The subscription purchase is already acknowledged.")
        purchase["acknowledgementState"] = "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED"
        return JSONResponse({})

    async def put_service_account(request: Request) -> JSONResponse:
        body = await request.json()
        packages = frozenset(str(p) for p in body.get("packages", []))
        play.service_accounts[request.path_params["email"]] = (str(body["public_key_pem"]), packages)
        return JSONResponse({})

    async def add_jwks(request: Request) -> JSONResponse:
        for key in (await request.json()).get("keys", []):
            play.jwks[str(key["kid"])] = key
        return JSONResponse({})

    async def purchase(request: Request) -> JSONResponse:
        key = (request.path_params["package"], request.path_params["token"])
        if request.method == "PUT":
            play.purchases[key] = await request.json()
        if key not in play.purchases:
            return _error(404, "The purchase token was not found.")
        return JSONResponse(play.purchases[key])

    publisher = "/androidpublisher/v3/applications/{package}/purchases"
    return Starlette(
        routes=[
            Route("/token", token, methods=["POST"]),
            Route("/oauth2/v3/certs", certs, methods=["GET"]),
            Route(f"{publisher}/subscriptionsv2/tokens/{{token}}", get_subscription, methods=["GET"]),
            Route(f"{publisher}/subscriptions/{{product}}/tokens/{{token}}:acknowledge", acknowledge, methods=["POST"]),
            Route("/emulator/service-accounts/{email}", put_service_account, methods=["PUT"]),
            Route("/emulator/jwks", add_jwks, methods=["POST"]),
            Route("/emulator/applications/{package}/subscriptions/{token}", purchase, methods=["PUT", "GET"]),
        ]
    )


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(description="Emulator of the Google Play Developer API and Google's OAuth")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
