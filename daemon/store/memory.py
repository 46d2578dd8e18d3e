"""The in-memory state store: one-shot commands (`plan`, `apply`), a daemon run without
`--state-table`, and unit tests. Same semantics as the table: versions, conditional writes,
expiry on the injected wall clock. Each item's data is kept as compact JSON text, as the table
keeps it (a few hundred bytes a record, several times less than the dicts it was made from; a
read gets its own copy, as a read of the table does)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from daemon.store import Item, VersionConflict


@dataclass(frozen=True)
class _Stored:
    text: str  # the item's data as JSON
    expires: datetime
    version: int


class MemoryStore:
    name = "memory"

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._items: dict[str, _Stored] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, Item]:
        now = self._clock()
        with self._lock:
            found = {k: self._items.get(k) for k in keys}
        return {
            k: Item(k, json.loads(s.text), s.expires, s.version)
            for k, s in found.items()
            if s is not None and s.expires > now
        }

    def put(self, item: Item) -> Item:
        now = self._clock()
        text = json.dumps(item.data, separators=(",", ":"), sort_keys=True)
        with self._lock:
            stored = self._items.get(item.key)
            current = stored.version if stored is not None and stored.expires > now else 0
            if current != item.version:
                raise VersionConflict(f"{item.key}: version {current}, not {item.version}")
            self._items[item.key] = _Stored(text, item.expires, item.version + 1)
        return Item(item.key, item.data, item.expires, item.version + 1)
