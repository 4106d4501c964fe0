"""Tables every service database has: the event outbox and inbox, and the idempotency store."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

platform_metadata = sa.MetaData()

outbox = sa.Table(
    "outbox",
    platform_metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("id", UUID(as_uuid=False), nullable=False, unique=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data_schema", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("headers", JSONB, nullable=False),
)
"""Events waiting to be published, in commit order (`seq`); the relay deletes a row once JetStream has it."""

inbox = sa.Table(
    "inbox",
    platform_metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    platform_metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("operation", sa.Text, primary_key=True),
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("response", sa.LargeBinary),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)


def create_platform_tables(connection: sa.Connection) -> None:
    """Create the outbox, inbox and idempotency tables (used by each service's first migration)."""
    platform_metadata.create_all(connection)


def delete_published_outbox_rows(connection: sa.Connection) -> None:
    """Outbox rows are deleted once published: drop the `published_at` mark and the rows it marked.

    A no-op on a database whose outbox was created without the mark.
    """
    if "published_at" in {column["name"] for column in sa.inspect(connection).get_columns("outbox")}:
        connection.execute(sa.text("DELETE FROM outbox WHERE published_at IS NOT NULL"))
        connection.execute(sa.text("DROP INDEX IF EXISTS outbox_unpublished"))
        connection.execute(sa.text("ALTER TABLE outbox DROP COLUMN published_at"))


def restore_published_outbox_mark(connection: sa.Connection) -> None:
    """Undo `delete_published_outbox_rows`: every row left is unpublished."""
    connection.execute(sa.text("ALTER TABLE outbox ADD COLUMN published_at TIMESTAMP WITH TIME ZONE"))
    connection.execute(sa.text("CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL"))


def drop_platform_tables(connection: sa.Connection) -> None:
    """Drop what `create_platform_tables` created."""
    platform_metadata.drop_all(connection)
