"""Request bodies of the REST API; responses are the protobuf messages in their JSON form."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from azotte.common.v1 import channel_pb2

ChannelName = Literal["web", "app_store", "google_play", "telecom", "partner"]
CHANNELS: dict[str, int] = {
    "web": channel_pb2.CHANNEL_WEB,
    "app_store": channel_pb2.CHANNEL_APP_STORE,
    "google_play": channel_pb2.CHANNEL_GOOGLE_PLAY,
    "telecom": channel_pb2.CHANNEL_TELECOM,
    "partner": channel_pb2.CHANNEL_PARTNER,
}
RequestId = Field(
    default="", max_length=128, description="Makes the call retry-safe: a repeat returns the first answer."
)


class Body(BaseModel):
    """Unknown fields are refused, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid")


class MutatingBody(Body):
    request_id: str = RequestId


class CheckoutBody(Body):
    request_id: str = Field(min_length=1, max_length=128, description="Makes the whole checkout idempotent.")
    customer_id: str = Field(min_length=1)
    storefront_id: str = Field(min_length=1)
    plan_id: str = Field(min_length=1)
    channel: ChannelName = "web"
    payment_method_token: str = Field(default="", description="A payment provider token, e.g. tok_success.")
    promotion_code: str | None = None


class CustomerBody(MutatingBody):
    external_id: str = ""
    email: str = ""
    country_code: str = Field(default="", max_length=2)


class PaymentMethodBody(MutatingBody):
    payment_method_token: str = Field(min_length=1, description="A payment provider token, e.g. tok_success.")


class CancelBody(MutatingBody):
    timing: Literal["at_period_end", "immediately"] = "at_period_end"
    reason: str = ""
    refund: bool = Field(default=False, description="Immediately only: pay the unused part of the current period back.")


class PauseBody(MutatingBody):
    resume_time: datetime | None = Field(default=None, description="Unset: paused for the policy's maximum pause.")


class PlanChangeBody(MutatingBody):
    new_plan_id: str = Field(min_length=1)
    timing: Literal["immediately", "at_period_end"] | None = Field(
        default=None, description="Unset: upgrades now, downgrades at period end."
    )


class MoneyBody(Body):
    currency_code: str = Field(min_length=3, max_length=3)
    amount_minor: int = Field(gt=0)


class RefundBody(MutatingBody):
    amount: MoneyBody | None = Field(default=None, description="Unset refunds what remains of the charge.")
    reason: str = ""


class ClockAdvanceBody(MutatingBody):
    advance_by_seconds: int | None = Field(default=None, ge=0)
    advance_by_days: int | None = Field(default=None, ge=0)
    advance_to: datetime | None = None


class TenantBody(MutatingBody):
    tenant_id: str = Field(min_length=1)
    display_name: str = Field(min_length=1)
    mode: Literal["sandbox", "live"] = "sandbox"


class ApiKeyBody(MutatingBody):
    display_name: str = Field(min_length=1)
    role: Literal["admin", "manager", "operator", "viewer", "publishable"]
    expire_time: datetime | None = None
