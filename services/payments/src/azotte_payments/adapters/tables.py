"""SQLAlchemy Core tables of the payments database (money in bigint minor units)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

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
    # NOTE: what the amount is made of, as the request gave it (`domain/charge_lines.py`); [] for one price.
    sa.Column("lines", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
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
    sa.Column("access", sa.Text, nullable=False, server_default="keep"),
    sa.UniqueConstraint("tenant_id", "account_id", "psp_dispute_id", name="disputes_once_per_psp_dispute"),
)

# What a dispute opened does to its subscription's access, per tenant (none: keep).
dispute_policies = sa.Table(
    "dispute_policies",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("on_dispute_opened", sa.Text, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

# --- invoices, credit notes and bank transfers ---

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("idempotency_key", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("number", sa.Text),
    sa.Column("payment_reference", sa.Text),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("period_key", sa.Text, nullable=False),
    sa.Column("memo", sa.Text, nullable=False),
    sa.Column("bill_to", sa.JSON, nullable=False),
    sa.Column("lines", sa.JSON, nullable=False),
    sa.Column("due_in_days", sa.Integer, nullable=False),
    sa.Column("reverse_charge", sa.Boolean, nullable=False),
    sa.Column("tax_rate", sa.Text, nullable=False),
    sa.Column("charges_minor", sa.BigInteger, nullable=False),
    sa.Column("reductions_minor", sa.BigInteger, nullable=False),
    sa.Column("net_minor", sa.BigInteger, nullable=False),
    sa.Column("tax_minor", sa.BigInteger, nullable=False),
    sa.Column("total_minor", sa.BigInteger, nullable=False),
    sa.Column("paid_minor", sa.BigInteger, nullable=False),
    sa.Column("credited_minor", sa.BigInteger, nullable=False),
    sa.Column("credited_tax_minor", sa.BigInteger, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("issued_at", _TS),
    sa.Column("due_on", sa.Date),
    sa.Column("closed_at", _TS),
    sa.Column("status_note", sa.Text, nullable=False),
    sa.Column("reminder_days", sa.JSON, nullable=False, server_default=sa.text("'[]'::json")),
    sa.Column("reminders_pending", sa.JSON, nullable=False, server_default=sa.text("'[]'::json")),
    sa.Column("next_reminder_on", sa.Date),
    sa.Column("seller", sa.JSON),
    sa.UniqueConstraint("tenant_id", "idempotency_key", name="invoices_idempotency_key"),
    sa.UniqueConstraint("tenant_id", "storefront_id", "number", name="invoices_number"),
    sa.UniqueConstraint("tenant_id", "payment_reference", name="invoices_payment_reference"),
    sa.Index("invoices_by_customer", "tenant_id", "customer_id", "created_at"),
    sa.Index("invoices_due", "due_on", postgresql_where=sa.text("status IN ('open', 'partially_paid')")),
    sa.Index("invoices_reminders", "next_reminder_on", postgresql_where=sa.text("next_reminder_on IS NOT NULL")),
)

document_sequences = sa.Table(
    "document_sequences",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("storefront_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("last_number", sa.BigInteger, nullable=False),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("pdf", sa.LargeBinary, nullable=False),
    sa.Column("rendered_at", _TS, nullable=False),
)

unrendered_documents = sa.Table(
    "unrendered_documents",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("not_before", _TS, nullable=False, server_default=sa.func.now()),
    sa.Index("unrendered_documents_due", "not_before"),
)

credit_notes = sa.Table(
    "credit_notes",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("invoice_id", sa.Text, nullable=False),
    sa.Column("invoice_number", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("number", sa.Text, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("tax_minor", sa.BigInteger, nullable=False),
    sa.Column("to_balance_minor", sa.BigInteger, nullable=False),
    sa.Column("refund_minor", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("issued_at", _TS, nullable=False),
    sa.UniqueConstraint("tenant_id", "storefront_id", "number", name="credit_notes_number"),
    sa.Index("credit_notes_by_invoice", "tenant_id", "invoice_id"),
)

invoice_profiles = sa.Table(
    "invoice_profiles",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("storefront_id", sa.Text, primary_key=True),
    sa.Column("seller_name", sa.Text, nullable=False),
    sa.Column("seller_address", sa.Text, nullable=False),
    sa.Column("seller_tax_id", sa.Text, nullable=False),
    sa.Column("bank_account_holder", sa.Text, nullable=False),
    sa.Column("iban", sa.Text, nullable=False),
    sa.Column("bic", sa.Text, nullable=False),
)

bank_payments = sa.Table(
    "bank_payments",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("dedupe_key", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("import_id", sa.Text, nullable=False),
    sa.Column("bank_reference", sa.Text, nullable=False),
    sa.Column("booked_on", sa.Date, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("payer", sa.Text, nullable=False),
    sa.Column("remittance", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("invoice_id", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("applied_minor", sa.BigInteger, nullable=False),
    sa.Column("excess_minor", sa.BigInteger, nullable=False),
    sa.Column("unmatched_reason", sa.Text),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("recorded_at", _TS, nullable=False),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    sa.UniqueConstraint("tenant_id", "dedupe_key", name="bank_payments_once_per_transfer"),
    sa.Index("bank_payments_by_status", "tenant_id", "status", "seq"),
    sa.Index("bank_payments_by_invoice", "tenant_id", "invoice_id"),
)

statement_imports = sa.Table(
    "statement_imports",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("imported_at", _TS, nullable=False),
    sa.Column("entries", sa.Integer, nullable=False),
    sa.Column("matched", sa.Integer, nullable=False),
    sa.Column("unmatched", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.UniqueConstraint("tenant_id", "digest", name="statement_imports_once_per_file"),
)
