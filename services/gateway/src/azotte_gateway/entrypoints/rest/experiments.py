"""REST endpoints of A/B experiments: configuration, a customer's variant, the results."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter
from google.protobuf import json_format
from pydantic import Field, WithJsonSchema

from azotte.gateway.v1 import experiments_pb2 as gx
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.entrypoints.rest.common import JSON, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers, response_model
from azotte_platform.errors import InvalidArgument

router = APIRouter(tags=["experiments"])
READ = "Needs `read_experiments` (viewer and up)."
MANAGE = "Needs `manage_experiments` (manager and up)."
ExperimentJson = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "allOf": [{"$ref": f"#/components/schemas/{response_model(pr.Experiment).__name__}"}],
            "description": "An experiment: 2 to 4 variants, the first the control; state and times are ignored.",
        }
    ),
]


class ExperimentBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "experiment": {}}

    experiment: ExperimentJson | None = None


class AssignBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {
        **MutatingBody.use_case_rules,
        "customer_id": {"minLength": 1},
    }

    customer_id: str = Field(default="", description="Required: the customer whose variant is asked.")


class EndBody(MutatingBody):
    ship_variant_id: str = Field(default="", description="Empty: stop the experiment; a variant id: ship it.")


@router.post(
    "/v1/experiments", summary="Create an A/B experiment", description=MANAGE, **answers(gx.CreateExperimentResponse)
)
async def create_experiment(body: ExperimentBody, who: Who, g: Gw) -> JSON:
    request = gx.CreateExperimentRequest(request_id=body.request_id)
    if body.experiment is not None:
        try:
            request.experiment.CopyFrom(json_format.ParseDict(body.experiment, pr.Experiment()))
        except (json_format.ParseError, TypeError, ValueError) as error:
            raise InvalidArgument.field("experiment", str(error)) from None
    return js(await g.experiments.create_experiment(who, request))


@router.get("/v1/experiments", summary="List experiments", description=READ, **answers(gx.ListExperimentsResponse))
async def list_experiments(who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = gx.ListExperimentsRequest(page_size=page_size, page_token=page_token)
    return js(await g.experiments.list_experiments(who, request))


@router.get(
    "/v1/experiments/{experiment_id}", summary="An experiment", description=READ, **answers(gx.GetExperimentResponse)
)
async def get_experiment(experiment_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.experiments.get_experiment(who, gx.GetExperimentRequest(experiment_id=experiment_id)))


@router.post(
    "/v1/experiments/{experiment_id}:assign",
    summary="The customer's variant (sticky; the first call records the exposure)",
    description="Needs `assign_experiment_variants` (operator and up; a publishable key for its bound customer).",
    **answers(gx.AssignExperimentVariantResponse),
)
async def assign_experiment_variant(experiment_id: str, body: AssignBody, who: Who, g: Gw) -> JSON:
    request = gx.AssignExperimentVariantRequest(
        request_id=body.request_id, experiment_id=experiment_id, customer_id=body.customer_id
    )
    return js(await g.experiments.assign_experiment_variant(who, request))


@router.get(
    "/v1/experiments/{experiment_id}/results",
    summary="Exposed, converted, revenue per customer and significance per variant",
    description=READ + " Each variant but the first (the control) carries a two-proportion z-test of its "
    "conversion against the control: `z_score`, `p_value`, `significant` (p < 0.05).",
    **answers(gx.GetExperimentResultsResponse),
)
async def get_experiment_results(experiment_id: str, who: Who, g: Gw) -> JSON:
    request = gx.GetExperimentResultsRequest(experiment_id=experiment_id)
    return js(await g.experiments.get_experiment_results(who, request))


@router.post(
    "/v1/experiments/{experiment_id}:end",
    summary="Stop the experiment, or ship a variant to every customer",
    description=MANAGE,
    **answers(gx.EndExperimentResponse),
)
async def end_experiment(experiment_id: str, body: EndBody, who: Who, g: Gw) -> JSON:
    request = gx.EndExperimentRequest(
        request_id=body.request_id, experiment_id=experiment_id, ship_variant_id=body.ship_variant_id
    )
    return js(await g.experiments.end_experiment(who, request))
