"""Usage written to PostgreSQL: the upsert keeps what the projection keeps (`Usage.replaced_by`), with its end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azotte_entitlement.adapters.repositories.access import PostgresAccessRepository
from azotte_entitlement.domain.projection import Usage
from azotte_entitlement.entrypoints.main import MIGRATIONS
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate

TENANT = "acme-usage"
DAY = datetime(2026, 3, 1, tzinfo=UTC)


async def test_a_report_changes_the_stored_usage_only_when_it_is_kept_and_the_end_round_trips(servers) -> None:
    url = servers.new_database_url("usage_writes")
    await migrate(MIGRATIONS, url)
    engine = create_engine(url)
    reports = [
        Usage(10, DAY, DAY + timedelta(days=1)),
        Usage(10, DAY, DAY + timedelta(days=1)),  # the same again: unchanged
        Usage(5, DAY, DAY + timedelta(days=2)),  # less of the same period: unchanged
        Usage(10, DAY, DAY + timedelta(days=2)),  # as much, ending at another time: the end moves
        Usage(10, DAY, None),  # ... or no longer ends
        Usage(3, DAY - timedelta(days=1), None),  # an older period: unchanged
        Usage(1, DAY + timedelta(days=1), DAY + timedelta(days=2)),  # a newer period replaces it
    ]
    async with engine.begin() as connection:
        repository = PostgresAccessRepository(connection)
        changed = [
            await repository.record_usage(TENANT, "cust-a", "tokens", r.used, r.period_start, r.period_end)
            for r in reports
        ]
    async with engine.connect() as connection:
        loaded = await PostgresAccessRepository(connection).load()
    await engine.dispose()
    assert changed == [True, False, False, True, True, False, True]
    assert loaded[TENANT, "cust-a"].usage == {"tokens": reports[-1]}
