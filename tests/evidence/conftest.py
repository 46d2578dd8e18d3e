"""Evidence tests run against the session sandbox seeded with the demo account."""

from __future__ import annotations

from tests.e2e.conftest import demo

__all__ = ["demo"]
