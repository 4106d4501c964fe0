"""PostgreSQL repositories of the promotions service, one module per aggregate, and the ledger of limits."""
