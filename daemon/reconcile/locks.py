"""Per-resource locks for resources that several applications share (an execution role).

The work queue serialises reconciles of one application, not of two applications that share a
role: without a lock both could observe the same bad role and both write it. The reconciler
holds these locks only around re-observe + plan + apply of a plan that changes such a resource,
so the second reconcile decides on a fresh read (`observe(..., fresh=True)`) and finds
nothing left to do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager


class ResourceLocks:
    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    @contextmanager
    def holding(self, keys: Iterable[str]) -> Iterator[None]:
        """Hold the locks of all keys; taken in sorted order, so two holders never deadlock."""
        with ExitStack() as stack:
            for key in sorted(set(keys)):
                stack.enter_context(self._lock(key))
            yield
