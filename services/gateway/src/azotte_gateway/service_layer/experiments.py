"""A/B experiments (promotions does the work): configure them, ask a customer's variant, read the results.

NOTE: experiments, variants and results are answered as promotions sends them (the re-export policy in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

from azotte.gateway.v1 import experiments_pb2 as gx
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require, require_mutation


@dataclass(frozen=True)
class Experiments:
    """ExperimentsService."""

    peers: Peers

    async def create_experiment(
        self, caller: Caller, request: gx.CreateExperimentRequest
    ) -> gx.CreateExperimentResponse:
        authorize(caller.principal, Permission.MANAGE_EXPERIMENTS)
        require_mutation(request)
        answer = await self.peers.promotions.CreateExperiment(
            pr.CreateExperimentRequest(request_id=request.request_id, experiment=request.experiment)
        )
        return gx.CreateExperimentResponse(experiment=answer.experiment)

    async def get_experiment(self, caller: Caller, request: gx.GetExperimentRequest) -> gx.GetExperimentResponse:
        authorize(caller.principal, Permission.READ_EXPERIMENTS)
        require(request, "experiment_id")
        answer = await self.peers.promotions.GetExperiment(pr.GetExperimentRequest(experiment_id=request.experiment_id))
        return gx.GetExperimentResponse(experiment=answer.experiment)

    async def list_experiments(self, caller: Caller, request: gx.ListExperimentsRequest) -> gx.ListExperimentsResponse:
        authorize(caller.principal, Permission.READ_EXPERIMENTS)
        answer = await self.peers.promotions.ListExperiments(
            pr.ListExperimentsRequest(page_size=request.page_size, page_token=request.page_token)
        )
        return gx.ListExperimentsResponse(experiments=answer.experiments, next_page_token=answer.next_page_token)

    async def assign_experiment_variant(
        self, caller: Caller, request: gx.AssignExperimentVariantRequest
    ) -> gx.AssignExperimentVariantResponse:
        authorize(caller.principal, Permission.ASSIGN_EXPERIMENT_VARIANTS, customer_id=request.customer_id)
        require_mutation(request, "experiment_id", "customer_id")
        answer = await self.peers.promotions.AssignExperimentVariant(
            pr.AssignExperimentVariantRequest(
                request_id=request.request_id, experiment_id=request.experiment_id, customer_id=request.customer_id
            )
        )
        return gx.AssignExperimentVariantResponse(variant=answer.variant)

    async def get_experiment_results(
        self, caller: Caller, request: gx.GetExperimentResultsRequest
    ) -> gx.GetExperimentResultsResponse:
        authorize(caller.principal, Permission.READ_EXPERIMENTS)
        require(request, "experiment_id")
        answer = await self.peers.promotions.GetExperimentResults(
            pr.GetExperimentResultsRequest(experiment_id=request.experiment_id)
        )
        return gx.GetExperimentResultsResponse(experiment=answer.experiment, results=answer.results)

    async def end_experiment(self, caller: Caller, request: gx.EndExperimentRequest) -> gx.EndExperimentResponse:
        authorize(caller.principal, Permission.MANAGE_EXPERIMENTS)
        require_mutation(request, "experiment_id")
        answer = await self.peers.promotions.EndExperiment(
            pr.EndExperimentRequest(
                request_id=request.request_id,
                experiment_id=request.experiment_id,
                ship_variant_id=request.ship_variant_id,
            )
        )
        return gx.EndExperimentResponse(experiment=answer.experiment)
