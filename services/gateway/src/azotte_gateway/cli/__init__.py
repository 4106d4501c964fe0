"""The `azotte` command line: tenants, keys, catalog, sandbox clock, customers and the demo."""

from azotte_gateway.cli.commands import app

__all__ = ["app"]
