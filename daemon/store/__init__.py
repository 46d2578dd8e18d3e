"""The state store: the records that decide whether a fix may run, kept outside the process.

One small interface (`StateStore`) with two implementations: `MemoryStore` for one-shot
commands and unit tests, `DynamoStore` (one Amazon DynamoDB table) for the daemon, so a pod
restart or a second replica sees the backoffs, follow-ups and announcements of the first.

Every item carries an expiry (wall-clock time; DynamoDB's TTL deletes it later, and reads
ignore an expired item at once) and a version: a write names the version it read and is refused
(`VersionConflict`) when someone wrote a newer one meanwhile, so two replicas never overwrite
each other. A store that cannot be read or written (throttled, down, access denied) raises
`StoreUnavailable`: the caller decides what is safe without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

__all__ = ["Item", "StateStore", "StoreUnavailable", "VersionConflict"]

BATCH_GET_LIMIT = 100  # BatchGetItem takes at most 100 keys per request


@dataclass(frozen=True)
class Item:
    key: str
    data: Mapping[str, Any]  # JSON-compatible
    expires: datetime
    version: int = 0  # the stored version this item was read at (0: not stored)


class StoreUnavailable(Exception):
    """The store did not answer (throttled, unreachable, access denied, no such table)."""


class VersionConflict(Exception):
    """Someone stored a newer version of the item since it was read."""


class StateStore(Protocol):
    name: str  # what /readyz and the logs call it

    def get_many(self, keys: Sequence[str]) -> dict[str, Item]:
        """The live (unexpired) items among `keys`; a missing key is absent from the answer."""
        ...

    def put(self, item: Item) -> Item:
        """Store `item` if the stored version is still `item.version` (0: none stored, or only
        an expired one); returns it with its new version. Raises VersionConflict."""
        ...


def get(store: StateStore, key: str) -> Item | None:
    return store.get_many([key]).get(key)
