"""The in-memory state store: one-shot commands (`plan`, `apply`) and unit tests. Same
semantics as the table: versions, conditional writes, expiry on the injected wall clock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from daemon.store import Item, VersionConflict


class MemoryStore:
    name = "memory"

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._items: dict[str, Item] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, Item]:
        now = self._clock()
        with self._lock:
            found = {k: self._items.get(k) for k in keys}
        return {k: item for k, item in found.items() if item is not None and item.expires > now}

    def put(self, item: Item) -> Item:
        now = self._clock()
        with self._lock:
            stored = self._items.get(item.key)
            current = stored.version if stored is not None and stored.expires > now else 0
            if current != item.version:
                raise VersionConflict(f"{item.key}: version {current}, not {item.version}")
            self._items[item.key] = replace(item, version=item.version + 1)
            return self._items[item.key]
