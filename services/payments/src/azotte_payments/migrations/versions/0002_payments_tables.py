"""Payment methods, charges and their attempts, refunds, credit balances and the revenue journal.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payment_methods",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("method_type", sa.Text, nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("brand", sa.Text, nullable=False),
        sa.Column("last4", sa.Text, nullable=False),
        sa.Column("exp_month", sa.Integer),
        sa.Column("exp_year", sa.Integer),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    )
    op.create_index("payment_methods_by_customer", "payment_methods", ["tenant_id", "customer_id", "created_at"])
    op.create_table(
        "charges",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("idempotency_key", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("price_minor", sa.BigInteger, nullable=False),
        sa.Column("discount_minor", sa.BigInteger, nullable=False),
        sa.Column("gross_minor", sa.BigInteger, nullable=False),
        sa.Column("tax_minor", sa.BigInteger, nullable=False),
        sa.Column("net_minor", sa.BigInteger, nullable=False),
        sa.Column("credit_applied_minor", sa.BigInteger, nullable=False),
        sa.Column("refunded_minor", sa.BigInteger, nullable=False),
        sa.Column("refunded_to_method_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("decline_reason", sa.Text),
        sa.Column("decline_raw", sa.Text),
        sa.Column("psp", sa.Text),
        sa.Column("psp_reference", sa.Text),
        sa.Column("payment_method_id", sa.Text, nullable=False),
        sa.Column("payment_method_type", sa.Text, nullable=False),
        sa.Column("payment_token", sa.Text, nullable=False),
        sa.Column("candidates", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("period_key", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="charges_idempotency_key"),
    )
    op.create_index("charges_by_customer", "charges", ["tenant_id", "customer_id", "created_at"])
    op.create_index("charges_open", "charges", ["status"], postgresql_where=sa.text("status IN ('pending', 'unknown')"))
    op.create_table(
        "charge_attempts",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("charge_id", sa.Text, primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("psp", sa.Text, nullable=False),
        sa.Column("psp_idempotency_key", sa.Text, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("outcome", sa.Text),
        sa.Column("decline_reason", sa.Text),
        sa.Column("decline_raw", sa.Text),
        sa.Column("psp_reference", sa.Text),
        sa.Column("latency_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "refunds",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("charge_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("gross_minor", sa.BigInteger, nullable=False),
        sa.Column("tax_minor", sa.BigInteger, nullable=False),
        sa.Column("net_minor", sa.BigInteger, nullable=False),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("psp_reference", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("refunds_by_charge", "refunds", ["tenant_id", "charge_id"])
    op.create_table(
        "credit_balances",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint("balance_minor >= 0", name="credit_balances_not_negative"),
    )
    op.create_table(
        "journal_entries",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("period", sa.Text, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "kind", "source_id", name="journal_entries_once_per_source"),
    )
    op.create_index("journal_entries_by_period", "journal_entries", ["tenant_id", "period"])
    op.create_table(
        "postings",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("side", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="postings_positive"),
    )


def downgrade() -> None:
    # No foreign keys between these tables: reverse creation order; indexes go with their tables.
    for table in (
        "postings",
        "journal_entries",
        "credit_balances",
        "refunds",
        "charge_attempts",
        "charges",
        "payment_methods",
    ):
        op.drop_table(table)
