"""Remembered application tags, informer-style: an event's reconcile need not read them again.

Tags decide config overrides (`match.tags`), the opt-out tag and `required_tags`, so every
reconcile used to call ListTagsForResource next to DescribeApplication. The daemon remembers
the tags each read returned, per application, and a reconcile caused by an event uses them
while they are younger than `max_age_seconds` (default: the sweep interval). Tags are read
fresh, and remembered, by: a sweep, the one-shot commands (they keep no cache), an app never
read, an entry past its age, and an app named by a TagResource/UntagResource event: its entry
is dropped when the event arrives (`forget`), so the reconcile it causes reads AWS. A read that
began before such a drop is not remembered (it may predate the change). The daemon's own tag
writes drop the entry too (its own events are ignored by intake).

The trade-off: a tag change takes effect when its CloudTrail event is processed, or at the
next sweep if the event is lost; never later than `max_age_seconds`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from daemon.state import AppRef
from daemon.ttl_cache import TtlCache

TAG_EVENTS = frozenset({"TagResource", "UntagResource"})


@dataclass(frozen=True)
class ReadTicket:
    """Taken before a tag read: its place in the order of reads and drops, and its time (an
    entry's age counts from the start of the read that made it)."""

    seq: int
    started: float


class TagCache:
    def __init__(self, max_age_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: TtlCache[AppRef, Mapping[str, str]] = TtlCache(max_age_seconds, clock)
        # A read's ticket is a number from `_seq`; a drop records the number it happened at,
        # so a read that started earlier is not remembered. Kept only until a later read lands.
        self._seq = itertools.count(1)
        self._dropped_at: dict[AppRef, int] = {}
        self._lock = threading.Lock()

    def get(self, app: AppRef) -> Mapping[str, str] | None:
        """The remembered tags if younger than max age, else None (read them fresh)."""
        return self._entries.get(app)

    def begin_read(self) -> ReadTicket:
        """A ticket to pass to `remember` with the tags this read returns."""
        with self._lock:
            return ReadTicket(next(self._seq), self._clock())

    def remember(self, app: AppRef, tags: Mapping[str, str], ticket: ReadTicket) -> None:
        with self._lock:
            if self._dropped_at.get(app, 0) > ticket.seq:
                return  # dropped while this read was in flight: it may predate the change
            self._dropped_at.pop(app, None)
            self._entries.put(app, dict(tags), since=ticket.started)

    def forget(self, apps: Iterable[AppRef]) -> None:
        """Their tags changed (or they are gone): the next reconcile of each reads AWS."""
        with self._lock:
            for app in apps:
                self._entries.pop(app)
                self._dropped_at[app] = next(self._seq)

    def discard(self, app: AppRef) -> None:
        """The app is gone: nothing of it is kept."""
        with self._lock:
            self._entries.pop(app)
            self._dropped_at.pop(app, None)

    def __len__(self) -> int:
        return len(self._entries)
