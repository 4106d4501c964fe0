"""Invoice reminder days and the seller printed at issue; PDFs rendered after the issuing transaction.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.add_column("invoices", sa.Column("reminder_days", sa.JSON, nullable=False, server_default=sa.text("'[]'::json")))
    op.add_column(
        "invoices", sa.Column("reminders_pending", sa.JSON, nullable=False, server_default=sa.text("'[]'::json"))
    )
    op.add_column("invoices", sa.Column("next_reminder_on", sa.Date))
    op.add_column("invoices", sa.Column("seller", sa.JSON))
    op.create_index(
        "invoices_reminders",
        "invoices",
        ["next_reminder_on"],
        postgresql_where=sa.text("next_reminder_on IS NOT NULL"),
    )
    op.create_table(
        "unrendered_documents",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("unrendered_documents_due", "unrendered_documents", ["not_before"])


def downgrade() -> None:
    op.drop_table("unrendered_documents")
    op.drop_index("invoices_reminders", table_name="invoices")
    for column in ("seller", "next_reminder_on", "reminders_pending", "reminder_days"):
        op.drop_column("invoices", column)
