"""Tenant scopes: the tenant acted for inside the block, the outer context's again after it."""

from __future__ import annotations

import contextvars

from azotte_platform.context import current, tenant_scope


def test_a_scope_sets_the_tenant_inside_and_restores_the_outer_one_after() -> None:
    with tenant_scope("acme", request_id="req-1"):
        with tenant_scope("globex") as inner:
            assert (inner.tenant_id, inner.request_id) == ("globex", "req-1")
        assert current().tenant_id == "acme"
    assert current().tenant_id == ""


def test_a_scope_closed_in_another_context_leaves_that_context_as_it_was() -> None:
    # NOTE: what the garbage collector does to a request's abandoned dependency: it closes the scope elsewhere.
    scope = tenant_scope("acme")
    entered = contextvars.copy_context()
    entered.run(scope.__enter__)
    assert entered.run(current).tenant_id == "acme"
    with tenant_scope("globex"):
        scope.__exit__(None, None, None)
        assert current().tenant_id == "globex"
    assert current().tenant_id == ""
