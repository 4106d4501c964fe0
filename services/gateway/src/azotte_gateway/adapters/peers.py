"""gRPC clients of the services the gateway fronts (the platform client forwards the request context)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc

from azotte.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from azotte.entitlement.v1.entitlement_pb2_grpc import EntitlementServiceStub
from azotte.lifecycle.v1.contracts_pb2_grpc import ContractsServiceStub
from azotte.lifecycle.v1.lifecycle_pb2_grpc import LifecycleServiceStub
from azotte.metering.v1.metering_pb2_grpc import MeteringServiceStub
from azotte.metering.v1.wallets_pb2_grpc import WalletsServiceStub
from azotte.payments.v1.invoices_pb2_grpc import InvoicesServiceStub
from azotte.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from azotte.promotions.v1.promotions_pb2_grpc import PromotionsServiceStub
from azotte_platform.grpc.client import connect
from azotte_platform.settings import ServiceSettings

if TYPE_CHECKING:
    from azotte.catalog.v1.catalog_pb2_grpc import CatalogServiceAsyncStub
    from azotte.entitlement.v1.entitlement_pb2_grpc import EntitlementServiceAsyncStub
    from azotte.lifecycle.v1.contracts_pb2_grpc import ContractsServiceAsyncStub
    from azotte.lifecycle.v1.lifecycle_pb2_grpc import LifecycleServiceAsyncStub
    from azotte.metering.v1.metering_pb2_grpc import MeteringServiceAsyncStub
    from azotte.metering.v1.wallets_pb2_grpc import WalletsServiceAsyncStub
    from azotte.payments.v1.invoices_pb2_grpc import InvoicesServiceAsyncStub
    from azotte.payments.v1.payments_pb2_grpc import PaymentsServiceAsyncStub
    from azotte.promotions.v1.promotions_pb2_grpc import PromotionsServiceAsyncStub


@dataclass(frozen=True)
class GrpcPeers:
    """Implements `ports.Peers`: one stub per service, over channels this object closes."""

    catalog: CatalogServiceAsyncStub
    lifecycle: LifecycleServiceAsyncStub
    payments: PaymentsServiceAsyncStub
    entitlement: EntitlementServiceAsyncStub
    promotions: PromotionsServiceAsyncStub
    metering: MeteringServiceAsyncStub
    wallets: WalletsServiceAsyncStub
    invoices: InvoicesServiceAsyncStub
    contracts: ContractsServiceAsyncStub
    channels: tuple[grpc.aio.Channel, ...] = ()

    @classmethod
    def connect(
        cls,
        *,
        catalog: str,
        lifecycle: str,
        payments: str,
        entitlement: str,
        promotions: str,
        metering: str = ServiceSettings.model_fields["metering_addr"].default,
    ) -> GrpcPeers:
        """Channels to each service at `host:port`."""
        addresses = (catalog, lifecycle, payments, entitlement, promotions, metering)
        channels = tuple(connect(addr) for addr in addresses)
        return cls(
            catalog=CatalogServiceStub(channels[0]),
            lifecycle=LifecycleServiceStub(channels[1]),
            payments=PaymentsServiceStub(channels[2]),
            entitlement=EntitlementServiceStub(channels[3]),
            promotions=PromotionsServiceStub(channels[4]),
            metering=MeteringServiceStub(channels[5]),
            wallets=WalletsServiceStub(channels[5]),
            invoices=InvoicesServiceStub(channels[2]),
            contracts=ContractsServiceStub(channels[1]),
            channels=channels,
        )

    async def close(self) -> None:
        """Close every channel."""
        for channel in self.channels:
            await channel.close(None)
