"""A fake of the App Store Server API: `python -m azotte_gateway.sandbox_channels.app_store_api --port N`.

It serves `GET /inApps/v2/history/{transactionId}` (Apple's shape: `signedTransactions`, `revision`, `hasMore`,
pages of `page_size` transactions) to a caller whose bearer JWT verifies: ES256 by a registered key (`kid`),
`iss` that key's issuer, `aud` `appstoreconnect-v1`, `bid` the history's bundle id, `iat` not in the future and
`exp` at most an hour after it (401 otherwise, as Apple answers). What a test or a demo controls (the keys and
the signed transactions are theirs: the fake signs nothing):
- `PUT /fake/keys/{kid}` `{"issuer_id", "public_key_pem"}`;
- `PUT /fake/histories/{originalTransactionId}` `{"bundle_id", "signed_transactions": [JWS, ...]}`, each of its
  transactions' ids then answering that history.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

AUDIENCE = "appstoreconnect-v1"
MAX_LIFETIME_S = 3600
CLOCK_SKEW_S = 60


@dataclass
class History:
    bundle_id: str
    signed_transactions: list[str]


@dataclass
class FakeAppStoreApi:
    """The registered keys and histories; `page_size` transactions per page."""

    page_size: int = 20
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)
    by_transaction: dict[str, str] = field(default_factory=dict)

    def authorized(self, request: Request, bundle_id: str | None) -> bool:
        """Whether the request's bearer JWT is one Apple would accept (for `bundle_id`, when given)."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            issuer, public_key = self.keys[str(kid)]
            claims = jwt.decode(
                token,
                public_key,
                algorithms=["ES256"],
                audience=AUDIENCE,
                issuer=issuer,
                options={"require": ["iss", "iat", "exp", "aud", "bid"]},
            )
        except (jwt.PyJWTError, KeyError):
            return False
        now = time.time()
        fresh = claims["iat"] <= now + CLOCK_SKEW_S and claims["exp"] - claims["iat"] <= MAX_LIFETIME_S
        return bool(fresh and (bundle_id is None or claims["bid"] == bundle_id))

    async def history(self, request: Request) -> JSONResponse:
        original = self.by_transaction.get(request.path_params["transaction_id"])
        history = self.histories.get(original or "")
        if history is None:
            # NOTE: Apple authenticates before it looks anything up.
            return _error(404 if self.authorized(request, None) else 401, "TransactionIdNotFoundError")
        if not self.authorized(request, history.bundle_id):
            return _error(401, "Unauthenticated")
        start = int(request.query_params.get("revision") or 0)
        page = history.signed_transactions[start : start + self.page_size]
        end = start + len(page)
        return JSONResponse(
            {
                "signedTransactions": page,
                "revision": str(end),
                "hasMore": end < len(history.signed_transactions),
                "bundleId": history.bundle_id,
                "environment": "Sandbox",
            }
        )

    async def put_key(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        self.keys[request.path_params["kid"]] = (str(body["issuer_id"]), str(body["public_key_pem"]))
        return Response(status_code=204)

    async def put_history(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        original = request.path_params["original"]
        signed = [str(jws) for jws in body["signed_transactions"]]
        self.histories[original] = History(str(body["bundle_id"]), signed)
        self.by_transaction[original] = original
        for jws in signed:
            claims = jwt.decode(jws, options={"verify_signature": False})
            self.by_transaction[str(claims.get("transactionId", original))] = original
        return Response(status_code=204)


def _error(status: int, name: str) -> JSONResponse:
    return JSONResponse({"errorCode": 4040010 if status == 404 else 4010000, "errorMessage": name}, status_code=status)


def create_app(fake: FakeAppStoreApi | None = None) -> Starlette:
    """The fake's HTTP app."""
    state = fake or FakeAppStoreApi()
    return Starlette(
        routes=[
            Route("/inApps/v2/history/{transaction_id}", state.history, methods=["GET"]),
            Route("/fake/keys/{kid}", state.put_key, methods=["PUT"]),
            Route("/fake/histories/{original}", state.put_history, methods=["PUT"]),
        ]
    )


def main() -> None:
    """Serve the fake until interrupted."""
    parser = argparse.ArgumentParser(description="App Store Server API fake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
