"""Fixtures of the promotions unit tests: the use cases over fakes, from a fixed clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient
from azotte_platform.clock import FixedClock
from azotte_platform.context import tenant_scope
from azotte_promotions.domain.promotion import Definition, Discount, DiscountKind, Limits, PromotionState
from azotte_promotions.ports import PromotionsUnitOfWork
from azotte_promotions.service_layer import promotions
from tests.unit.promotions.fakes import FakePromotionsUnitOfWork

T0 = datetime(2026, 3, 1, tzinfo=UTC)
TENANT = "acme"
R = TypeVar("R")


def definition(kind: DiscountKind = DiscountKind.PERCENT_OFF, **fields: Any) -> Definition:
    """A definition: 50 % off once unless told otherwise (`discount=`, `limits=`, ...)."""
    discount = fields.pop("discount", None) or Discount(kind, percent_basis_points=5_000)
    return Definition(display_name="Premiere", discount=discount, **fields)


@dataclass
class UseCases:
    """The promotions use cases over fakes, acting for TENANT from T0."""

    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))

    def __post_init__(self) -> None:
        self.uow = FakePromotionsUnitOfWork(self.clock)

    async def run(self, work: Callable[[PromotionsUnitOfWork], Awaitable[R]], tenant: str = TENANT) -> R:
        """Run a use case in a unit of work as `tenant` would, and commit."""
        with tenant_scope(tenant):
            async with self.uow:
                result = await work(self.uow)
                await self.uow.commit()
                return result

    async def active(self, limits: Limits | None = None, **fields: Any) -> str:
        """A new active promotion's id."""
        d = definition(limits=limits or Limits(), **fields)
        view = await self.run(lambda uow: promotions.create_promotion(uow, TENANT, d))
        await self.run(lambda uow: promotions.change_state(uow, TENANT, view.promotion.id, PromotionState.ACTIVE))
        return view.promotion.id


@pytest.fixture
def use_cases() -> UseCases:
    return UseCases()


@dataclass
class FakeGatewayRest:
    """The gateway's REST API answering `answers` by (method, path), recording what the CLI sent."""

    answers: dict[tuple[str, str], Any]
    sent: list[httpx.Request] = field(default_factory=list)

    def run(self, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
        """Run `azotte <args>` against these answers; what it printed."""

        def answer(request: httpx.Request) -> httpx.Response:
            self.sent.append(request)
            return httpx.Response(200, json=self.answers[(request.method, request.url.path)])

        gateway = GatewayClient("http://gateway", "azk_sandbox_x_y", transport=httpx.MockTransport(answer))
        monkeypatch.setattr(commands, "client", lambda: gateway)
        monkeypatch.setattr(commands.console, "width", 200)  # wide tables: no cell is cut short
        result = CliRunner().invoke(commands.app, list(args))
        assert result.exit_code == 0, result.output
        return result.output
