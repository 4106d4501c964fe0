"""`ports.People` over gRPC: a plan's family from catalog, a customer's identities from lifecycle and its
payment methods' fingerprints from payments, in the tenant of the request context."""

from __future__ import annotations

import grpc

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte.lifecycle.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from azotte.payments.v1 import payments_pb2, payments_pb2_grpc
from azotte_promotions.domain.trials import Marker, markers_of

# NOTE: a customer's payment methods are few; this bounds what one check reads.
MAX_PAYMENT_METHOD_PAGES = 5


def identity_marker(identity: lifecycle_pb2.ChannelIdentity) -> str:
    """`<kind>:<issuer>:<value>`, e.g. `APP_STORE_APP_ACCOUNT_TOKEN::1f0c…`."""
    kind = lifecycle_pb2.ChannelIdentityKind.Name(identity.kind).removeprefix("CHANNEL_IDENTITY_KIND_")
    return f"{kind}:{identity.issuer}:{identity.value}"


class GrpcPeople:
    """Catalog, lifecycle and payments over their gRPC channels."""

    def __init__(self, catalog: grpc.aio.Channel, lifecycle: grpc.aio.Channel, payments: grpc.aio.Channel):
        self._catalog = catalog_pb2_grpc.CatalogServiceStub(catalog)
        self._lifecycle = lifecycle_pb2_grpc.LifecycleServiceStub(lifecycle)
        self._payments = payments_pb2_grpc.PaymentsServiceStub(payments)

    async def product_line(self, plan_id: str) -> str:
        answer = await self._catalog.GetPlan(catalog_pb2.GetPlanRequest(id=plan_id))
        return str(answer.plan.family)

    async def markers(self, customer_id: str, *, with_email: bool = False) -> tuple[Marker, ...]:
        customer = await self._lifecycle.GetCustomer(lifecycle_pb2.GetCustomerRequest(customer_id=customer_id))
        fingerprints: list[str] = []
        token = ""
        for _ in range(MAX_PAYMENT_METHOD_PAGES):
            page = await self._payments.ListPaymentMethods(
                payments_pb2.ListPaymentMethodsRequest(customer_id=customer_id, page_size=100, page_token=token)
            )
            fingerprints.extend(method.fingerprint for method in page.payment_methods)
            token = page.next_page_token
            if not token:
                break
        identities = [identity_marker(identity) for identity in customer.customer.identities]
        email = customer.customer.email if with_email else ""
        return markers_of(customer_id, identities, fingerprints, email)
