"""ContractsService over gRPC: proto -> use case -> proto, through `service_kit.Units`."""

from __future__ import annotations

from typing import Any

from azotte.lifecycle.v1 import contracts_pb2 as pb
from azotte.lifecycle.v1 import contracts_pb2_grpc
from azotte_lifecycle.adapters import contract_proto
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork
from azotte_lifecycle.service_layer import contracts
from azotte_platform.convert import optional_from_timestamp
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units


class ContractsServicer(contracts_pb2_grpc.ContractsServiceServicer):
    """Translates ContractsService calls into the contract use cases."""

    def __init__(self, units: Units[LifecycleUnitOfWork], catalog: Catalog):
        self.units = units
        self._catalog = catalog

    async def CreateContract(self, request: pb.CreateContractRequest, context: Any) -> pb.CreateContractResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.CreateContractResponse:
            asked = contract_proto.terms_from_pb(request.terms)
            start = optional_from_timestamp(request, "start_time")
            contract, sub = await contracts.create_contract(
                uow, self._catalog, tenant, request.customer_id, request.storefront_id, asked, start
            )
            return pb.CreateContractResponse(contract=contract_proto.contract_to_pb(contract, sub))

        return await self.units.mutate(request, pb.CreateContractResponse, work)

    async def GetContract(self, request: pb.GetContractRequest, context: Any) -> pb.GetContractResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetContractResponse:
            contract, sub = await contracts.get_contract(uow, tenant, request.contract_id)
            return pb.GetContractResponse(
                contract=contract_proto.contract_to_pb(contract, sub),
                versions=[contract_proto.version_to_pb(v, contract.currency_code) for v in reversed(contract.versions)],
            )

        return await self.units.read(work)

    async def ListContracts(self, request: pb.ListContractsRequest, context: Any) -> pb.ListContractsResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ListContractsResponse:
            page_request = PageRequest.of(request, "contracts", request.customer_id)
            page = await contracts.list_contracts(uow, tenant, page_request, request.customer_id)
            return pb.ListContractsResponse(
                contracts=[contract_proto.contract_to_pb(c, sub) for c, sub in page.items],
                next_page_token=page.next_page_token,
            )

        return await self.units.read(work)

    async def AmendContract(self, request: pb.AmendContractRequest, context: Any) -> pb.AmendContractResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.AmendContractResponse:
            asked = contract_proto.terms_from_pb(request.terms)
            contract, sub = await contracts.amend_contract(uow, self._catalog, tenant, request.contract_id, asked)
            return pb.AmendContractResponse(contract=contract_proto.contract_to_pb(contract, sub))

        return await self.units.mutate(request, pb.AmendContractResponse, work)

    async def EndContract(self, request: pb.EndContractRequest, context: Any) -> pb.EndContractResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.EndContractResponse:
            contract, sub = await contracts.end_contract(uow, tenant, request.contract_id)
            return pb.EndContractResponse(contract=contract_proto.contract_to_pb(contract, sub))

        return await self.units.mutate(request, pb.EndContractResponse, work)
