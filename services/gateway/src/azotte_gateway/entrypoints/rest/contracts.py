"""REST endpoints of enterprise contracts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import contracts_pb2 as gc
from azotte.lifecycle.v1 import contracts_pb2 as lc
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.invoices import MoneyBody
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform import convert

router = APIRouter(tags=["contracts"])

READ = "Role: `read_contracts` (viewer and up)."
MANAGE = "Role: `manage_contracts` (manager and up)."


class MeterPriceBody(Body):
    meter_key: str = ""
    unit_price_minor: str = Field(default="", description="Decimal, in minor units per unit.")
    included_quantity: str = Field(default="", description="Decimal; units per period at no charge.")


class ContactBody(Body):
    name: str = ""
    email: str = ""
    address: str = ""
    country_code: str = ""
    tax_id: str = Field(default="", description="A business's tax id; another country's means reverse charge.")


class FeatureGrantBody(Body):
    feature_key: str = ""
    limit: int | None = Field(
        default=None, ge=0, le=2**63 - 1, description="A quota's amount per reset period or a seat count; unset: none."
    )

    def pb(self) -> cat.FeatureGrant:
        return cat.FeatureGrant(feature_key=self.feature_key, limit=self.limit)


class IntervalBody(Body):
    unit: Literal["INTERVAL_UNIT_DAY", "INTERVAL_UNIT_WEEK", "INTERVAL_UNIT_MONTH", "INTERVAL_UNIT_YEAR"]
    count: int = Field(default=1, ge=1, le=2**31 - 1)

    def pb(self) -> cat.BillingInterval:
        return cat.BillingInterval(unit=cat.IntervalUnit.Value(self.unit), count=self.count)


class TermsBody(Body):
    plan_id: str = Field(default="", description="Empty: the contract grants its `features` only.")
    recurring_price: MoneyBody | None = Field(
        default=None, description="Per period; unset is the storefront's price of the plan (kept by an amendment)."
    )
    meter_prices: list[MeterPriceBody] = Field(default_factory=list, max_length=100)
    committed_minimum: MoneyBody = Field(
        default_factory=MoneyBody, description="Each period is invoiced at least this much before tax (true-up)."
    )
    end_time: datetime | None = Field(default=None, description="End of the initial term; required.")
    renewal_periods: int = Field(
        default=0, ge=-(2**31), le=2**31 - 1, description="Periods renewed after end_time (0: it ends there)."
    )
    payment_terms_days: int = Field(
        default=30, ge=-(2**31), le=2**31 - 1, description="Invoices are due this many days after issue (0 to 365)."
    )
    billing_contact: ContactBody = Field(default_factory=ContactBody)
    features: list[FeatureGrantBody] = Field(
        default_factory=list,
        max_length=100,
        description="Catalog features granted besides the plan's; one of a key the plan grants replaces the plan's.",
    )
    interval: IntervalBody | None = Field(default=None, description="Billing period; required without a plan.")

    def pb(self) -> lc.ContractTerms:
        terms = lc.ContractTerms(
            plan_id=self.plan_id,
            meter_prices=[lc.MeterPrice(**price.model_dump()) for price in self.meter_prices],
            committed_minimum=self.committed_minimum.pb(),
            end_time=convert.optional_timestamp(self.end_time),
            renewal_periods=self.renewal_periods,
            payment_terms_days=self.payment_terms_days,
            billing_contact=lc.BillingContact(**self.billing_contact.model_dump()),
            features=[feature.pb() for feature in self.features],
        )
        if self.recurring_price is not None:
            terms.recurring_price.CopyFrom(self.recurring_price.pb())
        if self.interval is not None:
            terms.interval.CopyFrom(self.interval.pb())
        return terms


class CreateContractBody(MutatingBody):
    customer_id: str = ""
    storefront_id: str = ""
    terms: TermsBody = Field(default_factory=TermsBody)
    start_time: datetime | None = Field(
        default=None, description="Unset: now; at most one billing interval back, or up to a year ahead (scheduled)."
    )


class AmendContractBody(MutatingBody):
    terms: TermsBody = Field(default_factory=TermsBody)


@router.post(
    "/v1/contracts",
    summary="Sign a contract for a customer",
    description=MANAGE + " Its subscription (channel DIRECT) starts at `start_time` (now, back-dated, or scheduled: "
    "no access before it) and follows the one lifecycle; each period is invoiced at its end: the recurring price, "
    "usage at the negotiated meter prices, a true-up to the minimum. It grants its plan, its custom features, or both.",
    **answers(gc.CreateContractResponse),
)
async def create_contract(body: CreateContractBody, who: Who, g: Gw) -> JSON:
    request = gc.CreateContractRequest(
        request_id=body.request_id, customer_id=body.customer_id, storefront_id=body.storefront_id,
        terms=body.terms.pb(), start_time=convert.optional_timestamp(body.start_time),
    )  # fmt: skip
    return js(await g.contracts.create_contract(who, request))


@router.get(
    "/v1/contracts",
    summary="List contracts, newest first",
    description=READ,
    **answers(gc.ListContractsResponse),
)
async def list_contracts(who: Who, g: Gw, customer_id: str = "", page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = gc.ListContractsRequest(customer_id=customer_id, page_size=page_size, page_token=page_token)
    return js(await g.contracts.list_contracts(who, request))


@router.get(
    "/v1/contracts/{contract_id}",
    summary="A contract and its versions, newest first",
    description=READ,
    **answers(gc.GetContractResponse),
)
async def get_contract(contract_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.contracts.get_contract(who, gc.GetContractRequest(contract_id=contract_id)))


@router.post(
    "/v1/contracts/{contract_id}:amend",
    summary="Amend a contract (a new version)",
    description=MANAGE + " The whole new terms; invoiced from the next invoice on, a new plan applies now.",
    **answers(gc.AmendContractResponse),
)
async def amend_contract(contract_id: str, body: AmendContractBody, who: Who, g: Gw) -> JSON:
    request = gc.AmendContractRequest(request_id=body.request_id, contract_id=contract_id, terms=body.terms.pb())
    return js(await g.contracts.amend_contract(who, request))


@router.post(
    "/v1/contracts/{contract_id}:end",
    summary="End a contract with its current period",
    description=MANAGE + " The current period is still invoiced; the subscription then expires.",
    **answers(gc.EndContractResponse),
)
async def end_contract(contract_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gc.EndContractRequest(request_id=body.request_id, contract_id=contract_id)
    return js(await g.contracts.end_contract(who, request))
