"""SQLAlchemy Core tables of the payments database (money in bigint minor units)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

_TS = sa.DateTime(timezone=True)

payment_methods = sa.Table(
    "payment_methods",
    metadata,
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
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    sa.Index("payment_methods_by_customer", "tenant_id", "customer_id", "created_at"),
)

charges = sa.Table(
    "charges",
    metadata,
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
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.UniqueConstraint("tenant_id", "idempotency_key", name="charges_idempotency_key"),
    sa.Index("charges_by_customer", "tenant_id", "customer_id", "created_at"),
    sa.Index("charges_open", "status", postgresql_where=sa.text("status IN ('pending', 'unknown')")),
)

charge_attempts = sa.Table(
    "charge_attempts",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("charge_id", sa.Text, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("psp", sa.Text, nullable=False),
    sa.Column("psp_idempotency_key", sa.Text, nullable=False),
    sa.Column("started_at", _TS, nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("decline_reason", sa.Text),
    sa.Column("decline_raw", sa.Text),
    sa.Column("psp_reference", sa.Text),
    sa.Column("latency_ms", sa.BigInteger, nullable=False),
    sa.Column("client_secret", sa.Text),
    sa.Index("charge_attempts_by_psp_reference", "tenant_id", "psp", "psp_reference"),
)

refunds = sa.Table(
    "refunds",
    metadata,
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
    sa.Column("created_at", _TS, nullable=False),
    sa.Index("refunds_by_charge", "tenant_id", "charge_id"),
)

credit_balances = sa.Table(
    "credit_balances",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("balance_minor", sa.BigInteger, nullable=False),
    sa.CheckConstraint("balance_minor >= 0", name="credit_balances_not_negative"),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("plan_id", sa.Text, nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("occurred_at", _TS, nullable=False),
    sa.UniqueConstraint("tenant_id", "kind", "source_id", name="journal_entries_once_per_source"),
    sa.Index("journal_entries_by_period", "tenant_id", "period"),
)

postings = sa.Table(
    "postings",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("side", sa.Text, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.CheckConstraint("amount_minor > 0", name="postings_positive"),
)

credit_movements = sa.Table(
    "credit_movements",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("balance_after_minor", sa.BigInteger, nullable=False),
    sa.Column("charge_id", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("occurred_at", _TS, nullable=False),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    sa.Index("credit_movements_by_customer", "tenant_id", "customer_id", "seq"),
)

psp_accounts = sa.Table(
    "psp_accounts",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("credential_hints", sa.JSON, nullable=False),
    sa.Column("kek_id", sa.Text, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("nonce", sa.LargeBinary, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

psp_webhook_events = sa.Table(
    "psp_webhook_events",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("received_at", _TS, nullable=False),
)

disputes = sa.Table(
    "disputes",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("psp_dispute_id", sa.Text, nullable=False),
    sa.Column("charge_id", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("fee_minor", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("opened_at", _TS, nullable=False),
    sa.Column("closed_at", _TS),
    sa.UniqueConstraint("tenant_id", "account_id", "psp_dispute_id", name="disputes_once_per_psp_dispute"),
)
