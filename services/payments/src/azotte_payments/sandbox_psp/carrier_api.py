"""A sandbox telecom carrier serving the CAMARA Carrier Billing API subset Azotte uses, and its notifications.

Run it with `python -m azotte_payments.sandbox_psp.carrier_api --port 12115` (the suite does). Each bearer key is
its own merchant account at the carrier. The subscriber's number picks the scenario by its last digit:
`…1` is denied (no balance; so is a line barred by `POST /_test/lines`); `…2` waits (one step: `processing`
until `POST /_test/payments/{id}/resolve`; two steps: `pending_validation` until `validatePayment` with code
`0000`); any other digit succeeds (or is reserved, two steps). A merchant registers where its notifications go
(`POST /_sandbox/notification-endpoints`, answered with the secret that signs them); every notification sent is
listed at `GET /_test/notifications`.
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from fastapi import BackgroundTasks, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from azotte_payments.adapters.psp.carrier import API, REFUND_API, PaymentStatus
from azotte_payments.adapters.psp.carrier_notifications import sign

VALIDATION_CODE = "0000"
EVENT_TYPES = {
    PaymentStatus.SUCCEEDED: "payment-completed",
    PaymentStatus.DENIED: "payment-denied",
    PaymentStatus.RESERVED: "payment-reserved",
    PaymentStatus.PENDING_VALIDATION: "payment-pending-validation",
    PaymentStatus.CANCELLED: "payment-cancelled",
}


@dataclass
class Payment:
    """A payment as the carrier keeps it."""

    payment_id: str
    merchant: str
    correlator: str
    transaction: dict[str, Any]
    status: PaymentStatus
    two_step: bool
    created_at: str
    denial_reason: str = ""
    refunded: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "paymentId": self.payment_id,
            "paymentStatus": self.status.value,
            "paymentCreationDate": self.created_at,
            "amountTransaction": self.transaction,
        }
        if self.denial_reason:
            answer["denialReason"] = self.denial_reason
        if self.status is PaymentStatus.PENDING_VALIDATION:
            answer["validationInfo"] = {"action": "validate", "authorizationId": f"auth_{self.payment_id}"}
        return answer


@dataclass
class Carrier:
    """Every merchant's payments, notification endpoints and the notifications sent."""

    payments: dict[str, Payment] = field(default_factory=dict)
    endpoints: dict[str, tuple[str, str]] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    barred: set[str] = field(default_factory=set)

    def find(self, merchant: str, payment_id: str) -> Payment:
        payment = self.payments.get(payment_id)
        if payment is None or payment.merchant != merchant:
            raise HTTPException(404, {"status": 404, "code": "NOT_FOUND", "message": "no such payment"})
        return payment

    def by_correlator(self, merchant: str, correlator: str) -> Payment | None:
        return next((p for p in self.payments.values() if (p.merchant, p.correlator) == (merchant, correlator)), None)

    def notice(self, payment: Payment) -> dict[str, Any] | None:
        """The signed CloudEvent announcing the payment's state (None when nobody registered an endpoint)."""
        event_type = EVENT_TYPES.get(payment.status)
        endpoint = self.endpoints.get(payment.merchant)
        if event_type is None or endpoint is None:
            return None
        data: dict[str, Any] = {"paymentId": payment.payment_id, "status": "succeeded", "description": event_type}
        if payment.denial_reason:
            data.update(status="failed", denialReason=payment.denial_reason)
        event = {
            "id": uuid.uuid4().hex,
            "source": "https://sandbox-carrier.azotte.test",
            "type": f"org.camaraproject.carrier-billing.v0.{event_type}",
            "specversion": "1.0",
            "datacontenttype": "application/json",
            "time": _now(),
            "data": data,
        }
        payload = json.dumps(event).encode()
        signature = sign(payload, endpoint[1], int(time.time()))
        notice = {
            "url": endpoint[0],
            "payload": payload.decode(),
            "signature": signature,
            "paymentId": payment.payment_id,
        }
        self.sent.append(notice)
        return notice


async def deliver(notice: dict[str, Any] | None) -> None:
    """POST a notification to its endpoint once (the sandbox does not retry; Azotte's reconciler covers it)."""
    if notice is None:
        return
    headers = {"Content-Type": "application/cloudevents+json", "X-Carrier-Signature": notice["signature"]}
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            await http.post(notice["url"], content=notice["payload"], headers=headers)
    except httpx.HTTPError:
        return


def create_app() -> FastAPI:
    """The sandbox carrier, with its state in memory."""
    app = FastAPI(title="Sandbox carrier (CAMARA Carrier Billing)")
    carrier = Carrier()

    def merchant(authorization: str) -> str:
        key = authorization.removeprefix("Bearer ").strip()
        if not authorization.startswith("Bearer ") or not key:
            raise HTTPException(401, {"status": 401, "code": "UNAUTHENTICATED", "message": "a bearer key is required"})
        return key

    async def start(request: Request, authorization: str, tasks: BackgroundTasks, two_step: bool) -> JSONResponse:
        owner = merchant(authorization)
        body = await request.json()
        transaction = body.get("amountTransaction") if isinstance(body, dict) else None
        if not isinstance(transaction, dict) or not str(transaction.get("phoneNumber", "")).startswith("+"):
            raise HTTPException(400, {"status": 400, "code": "INVALID_ARGUMENT", "message": "phoneNumber required"})
        correlator = str(transaction.get("clientCorrelator", ""))
        existing = carrier.by_correlator(owner, correlator) if correlator else None
        if existing is not None:
            return JSONResponse(existing.body(), status_code=201)
        number = str(transaction["phoneNumber"])
        status = PaymentStatus.RESERVED if two_step else PaymentStatus.SUCCEEDED
        denial = ""
        if number.endswith("1") or number in carrier.barred:
            status, denial = PaymentStatus.DENIED, "insufficient balance"
        elif number.endswith("2"):
            status = PaymentStatus.PENDING_VALIDATION if two_step else PaymentStatus.PROCESSING
        payment = Payment(f"pay_{uuid.uuid4().hex}", owner, correlator, transaction, status, two_step, _now(), denial)
        carrier.payments[payment.payment_id] = payment
        tasks.add_task(deliver, carrier.notice(payment))
        return JSONResponse(payment.body(), status_code=201)

    @app.post(f"{API}/payments")
    async def create_payment(request: Request, tasks: BackgroundTasks, authorization: str = Header("")) -> Response:
        return await start(request, authorization, tasks, two_step=False)

    @app.post(f"{API}/payments/prepare")
    async def prepare_payment(request: Request, tasks: BackgroundTasks, authorization: str = Header("")) -> Response:
        return await start(request, authorization, tasks, two_step=True)

    @app.post(f"{API}/payments/{{payment_id}}/confirm")
    async def confirm_payment(payment_id: str, tasks: BackgroundTasks, authorization: str = Header("")) -> Response:
        payment = carrier.find(merchant(authorization), payment_id)
        if payment.status is PaymentStatus.RESERVED:
            payment.status = PaymentStatus.SUCCEEDED
            tasks.add_task(deliver, carrier.notice(payment))
        elif payment.status is not PaymentStatus.SUCCEEDED:
            return _conflict(payment)
        return JSONResponse(payment.body())

    @app.post(f"{API}/payments/{{payment_id}}/cancel")
    async def cancel_payment(payment_id: str, tasks: BackgroundTasks, authorization: str = Header("")) -> Response:
        payment = carrier.find(merchant(authorization), payment_id)
        if payment.status in (PaymentStatus.RESERVED, PaymentStatus.PENDING_VALIDATION):
            payment.status = PaymentStatus.CANCELLED
            tasks.add_task(deliver, carrier.notice(payment))
        elif payment.status is not PaymentStatus.CANCELLED:
            return _conflict(payment)
        return Response(status_code=204)

    @app.post(f"{API}/payments/{{payment_id}}/validate")
    async def validate_payment(
        payment_id: str, request: Request, tasks: BackgroundTasks, authorization: str = Header("")
    ) -> Response:
        payment = carrier.find(merchant(authorization), payment_id)
        if payment.status is not PaymentStatus.PENDING_VALIDATION:
            return _conflict(payment)
        code = (await request.json()).get("code")
        payment.status = PaymentStatus.RESERVED if code == VALIDATION_CODE else PaymentStatus.DENIED
        payment.denial_reason = "" if code == VALIDATION_CODE else "wrong validation code"
        tasks.add_task(deliver, carrier.notice(payment))
        return JSONResponse(payment.body())

    @app.get(f"{API}/payments/{{payment_id}}")
    async def retrieve_payment(payment_id: str, authorization: str = Header("")) -> Response:
        return JSONResponse(carrier.find(merchant(authorization), payment_id).body())

    @app.get(f"{API}/payments")
    async def retrieve_payments(clientCorrelator: str = "", authorization: str = Header("")) -> Response:
        found = carrier.by_correlator(merchant(authorization), clientCorrelator)
        return JSONResponse({"payments": [found.body()] if found else []})

    @app.post(f"{REFUND_API}/refunds")
    async def create_refund(request: Request, authorization: str = Header("")) -> Response:
        body = await request.json()
        payment = carrier.find(merchant(authorization), str(body.get("paymentId", "")))
        if payment.status is not PaymentStatus.SUCCEEDED:
            return _conflict(payment)
        refund_id = f"ref_{body.get('clientCorrelator') or uuid.uuid4().hex}"
        if refund_id not in payment.refunded:
            payment.refunded.append(refund_id)
        return JSONResponse({"refundId": refund_id, "refundStatus": "succeeded"}, status_code=201)

    @app.post("/_sandbox/notification-endpoints")
    async def register_endpoint(request: Request, authorization: str = Header("")) -> Response:
        secret = f"cbn_{secrets.token_hex(24)}"
        carrier.endpoints[merchant(authorization)] = (str((await request.json())["url"]), secret)
        return JSONResponse({"secret": secret}, status_code=201)

    @app.post("/_test/payments/{payment_id}/resolve")
    async def resolve(payment_id: str, request: Request, tasks: BackgroundTasks) -> Response:
        payment = carrier.payments.get(payment_id)
        if payment is None or payment.status is not PaymentStatus.PROCESSING:
            raise HTTPException(409, "only a processing payment resolves")
        succeeded = (await request.json()).get("outcome") == "succeeded"
        payment.status = PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.DENIED
        payment.denial_reason = "" if succeeded else "spending limit reached"
        tasks.add_task(deliver, carrier.notice(payment))
        return JSONResponse(payment.body())

    @app.post("/_test/lines")
    async def bar_line(request: Request) -> Response:
        body = await request.json()
        (carrier.barred.add if body.get("barred") else carrier.barred.discard)(str(body["phoneNumber"]))
        return Response(status_code=204)

    @app.get("/_test/notifications")
    async def notifications(paymentId: str = "") -> Response:
        return JSONResponse({"data": [n for n in carrier.sent if not paymentId or n["paymentId"] == paymentId]})

    return app


def _conflict(payment: Payment) -> JSONResponse:
    message = f"the payment is {payment.status.value}"
    return JSONResponse({"status": 409, "code": "CONFLICT", "message": message}, status_code=409)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def main() -> None:
    """Serve the sandbox carrier until interrupted."""
    parser = argparse.ArgumentParser(description="Azotte sandbox telecom carrier")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
