"""Who watches a customer's access, woken when an entitlement event (or this replica's own write) names them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

Customer = tuple[str, str]  # (tenant id, customer id)


class AccessChanges:
    """One wake-up flag per open watch; a change of a customer sets the flags of its watches."""

    def __init__(self) -> None:
        self._watches: dict[Customer, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def watch(self, customer: Customer) -> Iterator[asyncio.Event]:
        """A flag set on every change of `customer` while the block runs (the watcher clears it)."""
        flag = asyncio.Event()
        watches = self._watches.setdefault(customer, set())
        watches.add(flag)
        try:
            yield flag
        finally:
            watches.discard(flag)
            if not watches:
                self._watches.pop(customer, None)

    def changed(self, customer: Customer) -> None:
        for flag in self._watches.get(customer, ()):
            flag.set()

    def tenant_changed(self, tenant_id: str) -> None:
        """Everything of the tenant may have changed (its sandbox clock moved)."""
        for (tenant, _), flags in self._watches.items():
            if tenant == tenant_id:
                for flag in flags:
                    flag.set()

    def all_changed(self) -> None:
        """Events may have been missed (NATS reconnected)."""
        for flags in self._watches.values():
            for flag in flags:
                flag.set()

    def watching(self, customer: Customer) -> int:
        """How many watches of `customer` are open."""
        return len(self._watches.get(customer, ()))
