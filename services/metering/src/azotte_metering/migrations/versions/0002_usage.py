"""Meters, deduplicated usage events (partitioned by time) and their rollups.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"

_TS = sa.DateTime(timezone=True)


def _rollup_key() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("meter_key", sa.Text, primary_key=True),
        sa.Column("granularity", sa.Text, primary_key=True),
        sa.Column("bucket_start", _TS, primary_key=True),
        sa.Column("dimensions_key", sa.Text, primary_key=True),
    ]


def upgrade() -> None:
    op.create_table(
        "meters",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("value_path", sa.Text, nullable=False),
        sa.Column("aggregation", sa.Text, nullable=False),
        sa.Column("dimensions", JSONB, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("meters_by_event_type", "meters", ["tenant_id", "event_type"])
    op.create_table(
        "usage_event_ids",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("received_at", _TS, nullable=False),
    )
    op.create_index("usage_event_ids_by_receipt", "usage_event_ids", ["received_at"])
    op.create_table(
        "usage_events",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("time", _TS, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        postgresql_partition_by="RANGE (time)",
    )
    op.create_index("usage_events_by_subject", "usage_events", ["tenant_id", "subject", "time"])
    op.create_table(
        "usage_rollups",
        *_rollup_key(),
        sa.Column("dimensions", JSONB, nullable=False),
        sa.Column("event_count", sa.BigInteger, nullable=False),
        sa.Column("total", sa.Numeric, nullable=False),
        sa.Column("minimum", sa.Numeric),
        sa.Column("maximum", sa.Numeric),
        sa.Column("latest_time", _TS, nullable=False),
        sa.Column("latest_value", sa.Numeric),
        sa.Column("distinct_count", sa.BigInteger, nullable=False, server_default="0"),
        postgresql_with={"fillfactor": 70},
    )
    op.create_table("usage_distinct_values", *_rollup_key(), sa.Column("value", sa.Text, primary_key=True))


def downgrade() -> None:
    for table in ("usage_distinct_values", "usage_rollups", "usage_events", "usage_event_ids", "meters"):
        op.drop_table(table)
