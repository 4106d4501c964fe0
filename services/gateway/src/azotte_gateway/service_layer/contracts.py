"""ContractsService: enterprise contracts billed by invoice (lifecycle's ContractsService does the work)."""

from __future__ import annotations

from dataclasses import dataclass

from azotte.gateway.v1 import contracts_pb2 as gc
from azotte.lifecycle.v1 import contracts_pb2 as lc
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require, require_mutation


@dataclass(frozen=True)
class Contracts:
    """Each method is one ContractsService RPC: authorize, validate, call lifecycle's ContractsService, answer."""

    peers: Peers
    customers: KnownCustomers

    async def create_contract(self, caller: Caller, request: gc.CreateContractRequest) -> gc.CreateContractResponse:
        authorize(caller.principal, Permission.MANAGE_CONTRACTS)
        require_mutation(request, "customer_id", "storefront_id")
        # NOTE: another tenant's (or an unknown) customer answers NOT_FOUND, like a missing one.
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.contracts.CreateContract(
            lc.CreateContractRequest(
                request_id=request.request_id,
                customer_id=request.customer_id,
                storefront_id=request.storefront_id,
                terms=request.terms,
                start_time=request.start_time if request.HasField("start_time") else None,
            )
        )
        return gc.CreateContractResponse(contract=answer.contract)

    async def get_contract(self, caller: Caller, request: gc.GetContractRequest) -> gc.GetContractResponse:
        authorize(caller.principal, Permission.READ_CONTRACTS)
        require(request, "contract_id")
        answer = await self.peers.contracts.GetContract(lc.GetContractRequest(contract_id=request.contract_id))
        return gc.GetContractResponse(contract=answer.contract, versions=answer.versions)

    async def list_contracts(self, caller: Caller, request: gc.ListContractsRequest) -> gc.ListContractsResponse:
        authorize(caller.principal, Permission.READ_CONTRACTS)
        if request.customer_id:
            await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.contracts.ListContracts(
            lc.ListContractsRequest(
                customer_id=request.customer_id, page_size=request.page_size, page_token=request.page_token
            )
        )
        return gc.ListContractsResponse(contracts=answer.contracts, next_page_token=answer.next_page_token)

    async def amend_contract(self, caller: Caller, request: gc.AmendContractRequest) -> gc.AmendContractResponse:
        authorize(caller.principal, Permission.MANAGE_CONTRACTS)
        require_mutation(request, "contract_id")
        answer = await self.peers.contracts.AmendContract(
            lc.AmendContractRequest(request_id=request.request_id, contract_id=request.contract_id, terms=request.terms)
        )
        return gc.AmendContractResponse(contract=answer.contract)

    async def end_contract(self, caller: Caller, request: gc.EndContractRequest) -> gc.EndContractResponse:
        authorize(caller.principal, Permission.MANAGE_CONTRACTS)
        require_mutation(request, "contract_id")
        answer = await self.peers.contracts.EndContract(
            lc.EndContractRequest(request_id=request.request_id, contract_id=request.contract_id)
        )
        return gc.EndContractResponse(contract=answer.contract)
