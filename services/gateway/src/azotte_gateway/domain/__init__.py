"""Gateway domain: tenants, API keys, roles and permissions, rate limits."""
