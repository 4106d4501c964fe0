"""PSP adapters: one interface, one module per provider wire API."""
