"""Fixtures of the catalog unit tests."""

from __future__ import annotations

from typing import Any

import pytest
from catalog_builders import small_document


@pytest.fixture
def doc() -> dict[str, Any]:
    """A fresh valid document to mutate."""
    return small_document()
