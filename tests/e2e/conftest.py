"""End-to-end tests share the session's one suite (`suite` and `tenant`, tests/conftest.py) with the browser tests.

The suite's helpers live in tests/stack.py; they are imported here too, where other tests look for them.
"""

from __future__ import annotations

from tests.stack import OTT_CATALOG, REPO, YAML, RunningSuite, TenantApi, started_suite

__all__ = ["OTT_CATALOG", "REPO", "YAML", "RunningSuite", "TenantApi", "started_suite"]
