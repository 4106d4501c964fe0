"""Payments domain model: charges, refunds, credits, tax, routing and the revenue ledger."""
