"""ListLifecyclePolicyVersions through the servicer: AIP-160 filter on plan_id (the versions that changed that
plan's rules, "" the tenant's) and update_time, AIP-132 order_by on version, page tokens bound to both."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_platform.errors import InvalidArgument
from tests.unit.lifecycle.conftest import T0, UseCases
from tests.unit.lifecycle.test_lifecycle_use_cases_search_and_policy import as_key, days, update


@pytest.fixture
async def versions(use_cases: UseCases) -> UseCases:
    """Version 1 changes the tenant's grace, 2 premium's hold, 3 the tenant's hold, each a day after the last."""
    for request in (
        update("grace_period", grace_period=days(5)),
        update("hold_period", plan_id="premium", hold_period=days(5)),
        update("hold_period", hold_period=days(9)),
    ):
        await as_key(use_cases.servicer.UpdateLifecyclePolicy, request)
        use_cases.clock.advance(timedelta(days=1))
    return use_cases


async def listed(use_cases: UseCases, **fields: Any) -> tuple[list[int], str]:
    request = pb.ListLifecyclePolicyVersionsRequest(**fields)
    answer = await as_key(use_cases.servicer.ListLifecyclePolicyVersions, request)
    return [v.version for v in answer.versions], answer.next_page_token


async def test_plan_id_keeps_the_versions_that_changed_that_plans_rules(versions: UseCases) -> None:
    assert await listed(versions) == ([3, 2, 1], "")
    assert await listed(versions, filter='plan_id = ""') == ([3, 1], "")
    assert await listed(versions, filter="plan_id = premium") == ([2], "")
    assert await listed(versions, filter="plan_id = basic") == ([], "")


async def test_update_time_compares_and_order_by_version_reverses(versions: UseCases) -> None:
    since = (T0 + timedelta(days=1)).isoformat()
    assert await listed(versions, filter=f'update_time >= "{since}"') == ([3, 2], "")
    assert await listed(versions, filter=f'update_time < "{since}" AND plan_id = ""') == ([1], "")
    first, token = await listed(versions, order_by="version", page_size=2)
    assert first == [1, 2]
    assert await listed(versions, order_by="version", page_size=2, page_token=token) == ([3], "")
    with pytest.raises(InvalidArgument) as refused:
        await listed(versions, page_size=2, page_token=token)
    assert refused.value.violations[0].field == "page_token"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"filter": "plan_id > premium"}, "filter"),
        ({"filter": "update_time > yesterday"}, "filter"),
        ({"filter": 'update_time > "2026-01-01T00:00:00"'}, "filter"),
        ({"filter": "actor = me"}, "filter"),
        ({"order_by": "update_time"}, "order_by"),
    ],
)
async def test_a_bad_filter_or_order_names_its_field(use_cases: UseCases, fields: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await listed(use_cases, **fields)
    assert refused.value.violations[0].field == field
