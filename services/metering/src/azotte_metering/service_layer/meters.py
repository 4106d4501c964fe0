"""Use cases of meters: create, get, list and update."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from azotte_metering.domain.meters import Meter
from azotte_metering.errors import InvalidMeter, MeterHasEvents, MeterNotFound
from azotte_metering.ports import MeteringUnitOfWork, MeterQuery
from azotte_platform.paging import Page, PageRequest

UPDATABLE = frozenset({"display_name", "event_type", "value_path", "aggregation", "dimensions", "quota_features"})
"""Fields an update may change; what the meter counts only while it has counted no event."""
ANY_TIME = frozenset({"display_name", "quota_features"})


async def create_meter(uow: MeteringUnitOfWork, meter: Meter) -> Meter:
    """Add a validated meter, stamped with the tenant's time."""
    now = uow.clock.now()
    created = replace(meter, created_at=now, updated_at=now).validated()
    await _check_features_free(uow, created)
    await uow.meters.add(created)
    return created


async def get_meter(uow: MeteringUnitOfWork, tenant_id: str, key: str) -> Meter:
    meter = await uow.meters.get(tenant_id, key)
    if meter is None:
        raise MeterNotFound(f"meter {key!r} not found")
    return meter


async def list_meters(uow: MeteringUnitOfWork, tenant_id: str, query: MeterQuery, paging: PageRequest) -> Page[Meter]:
    after = paging.after_key()
    meters = await uow.meters.find(tenant_id, query, paging.limit, str(after) if after is not None else None)
    return paging.page(meters, lambda meter: [meter.key])


async def update_meter(uow: MeteringUnitOfWork, tenant_id: str, key: str, changes: Mapping[str, object]) -> Meter:
    """Apply `changes` (field -> new value); what a meter counts cannot change once it counted events."""
    unknown = set(changes) - UPDATABLE
    if not changes or unknown:
        raise InvalidMeter.field("update_mask", f"must name only {', '.join(sorted(UPDATABLE))}")
    meter = await get_meter(uow, tenant_id, key)
    counting = {name for name, value in changes.items() if name not in ANY_TIME and getattr(meter, name) != value}
    if counting and await uow.usage.has_events(tenant_id, key):
        raise MeterHasEvents(
            f"meter {key!r} has counted events: {', '.join(sorted(counting))} can no longer change",
            metadata={"fields": ",".join(sorted(counting))},
        )
    updated = meter.updated(changes, uow.clock.now())
    await _check_features_free(uow, updated)
    await uow.meters.save(updated)
    return updated


async def _check_features_free(uow: MeteringUnitOfWork, meter: Meter) -> None:
    """InvalidMeter when another meter of the tenant already measures one of the meter's quota features."""
    if not meter.quota_features:
        return
    measured = {
        quota.feature_key: other.key
        for other in await uow.meters.with_quota_features(meter.tenant_id)
        if other.key != meter.key
        for quota in other.quota_features
    }
    for index, quota in enumerate(meter.quota_features):
        if quota.feature_key in measured:
            raise InvalidMeter.field(
                f"meter.quota_features[{index}].feature_key",
                f"{quota.feature_key!r} is measured by the meter {measured[quota.feature_key]!r} already",
            )
