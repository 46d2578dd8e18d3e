"""The ledger of the daemon's own writes (private to `Safeguards`).

Before a write is sent it is recorded in its application's state (`SentWrite`: the action, the
planned change's digest, the version it was planned on, the time); once its reply is in, the
entry leaves the app's state (a change still in progress becomes a `Pending` in the same store
write) and each AWS request id gets an `OwnWrite` item of its own, which the own-credential
canary looks up by the request id CloudTrail shows. An entry still there when another process
reconciles the app is a write whose sender died before recording what it did: the follow-up
(daemon/reconcile/followup.py) confirms it from AWS and records its outcome. Once: whoever
records a write's outcome (its sender, or the replica that took it over) first claims
`outcome#<write id>` in the store (`claim_outcome`), a conditional write only one process wins,
so a sender that was merely slow and the replica that thought it dead never both record it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import uuid
from dataclasses import replace
from datetime import timedelta

import structlog

from daemon.apply.planned_writes import sensitive_parts
from daemon.reconcile.safeguards._codec import decode_as, encode
from daemon.reconcile.safeguards._states import KEEP, AppStates
from daemon.reconcile.safeguards.records import AppState, OwnWrite, Pending, SentWrite, WallClock
from daemon.state import Action, Cause
from daemon.store import Item, StoreUnavailable, VersionConflict, get

log = structlog.get_logger(__name__)

# A write recorded this long ago by another process and not visible in AWS is taken as never
# made: the longest a send can take (5 attempts of up to 30 s reads, with backoff).
ORPHAN_SECONDS = 180.0
# A live sender records its reply moments after AWS answered: a younger entry of another process
# is a write in flight there (not an orphan, even when AWS already shows it), looked at again.
LIVE_SENDER_SECONDS = 20.0


def digest(action: Action) -> str:
    calls = [[c.service, c.operation, encode(c.params)] for c in action.calls]
    return hashlib.sha256(json.dumps(calls, sort_keys=True, default=str).encode()).hexdigest()


class Ledger:
    def __init__(self, states: AppStates, clock: WallClock) -> None:
        self._states = states
        self._clock = clock
        self._in_flight: set[str] = set()  # write ids this process is sending now
        self._lock = threading.Lock()

    def sending(self, action: Action, cause: Cause, version: int) -> str:
        write_id = uuid.uuid4().hex
        first = action.calls[0].operation if action.calls else ""
        entry = SentWrite(write_id, action, cause, first, digest(action), version, self._clock())
        with self._lock:
            self._in_flight.add(write_id)
        self._states.change(action.app, lambda s: replace(s, sent=(*s.sent, entry)))
        return write_id

    def wrote(
        self,
        action: Action,
        write_id: str,
        request_ids: tuple[str, ...],
        operation_id: str | None,
        version_after: int,
    ) -> None:
        """The reply is in: `operation_id` None when the change is complete, else the
        operation to follow ("" when the reply named none)."""

        def settle(state: AppState) -> AppState:
            entry = next((w for w in state.sent if w.write_id == write_id), None)
            if entry is None:  # another process took it over (it thought us dead)
                return state
            sent = tuple(w for w in state.sent if w.write_id != write_id)
            if operation_id is None:
                return replace(state, sent=sent)
            pending = Pending(
                entry.action,
                entry.cause,
                operation_id,
                entry.version_before,
                entry.sent_at,
                version_after=version_after,
                write_id=write_id,
            )
            return replace(state, sent=sent, pending=(*state.pending, pending))

        try:
            self._states.change(action.app, settle)
            for request_id in request_ids:
                self._own(action, write_id, request_id)
        finally:
            with self._lock:
                self._in_flight.discard(write_id)

    def claim_outcome(self, write_id: str) -> bool:
        """May this process record the outcome of write `write_id`? The sender and a replica
        that took the write over may both get to it (a reply slower than LIVE_SENDER_SECONDS, a
        settle that did not land): the one whose conditional write of the claim lands first
        records it, the other does not. Without the store: True (an outcome is never lost,
        though a replica that takes the write over later may then record it again)."""
        if not write_id or self._states.claim(f"outcome#{write_id}", KEEP.total_seconds()):
            return True
        log.info("write_outcome_recorded_elsewhere", write_id=write_id)
        return False

    def orphans(self, state: AppState) -> tuple[SentWrite, ...]:
        """Entries no reconcile of this process is sending."""
        with self._lock:
            return tuple(w for w in state.sent if w.write_id not in self._in_flight)

    def settling_for(self, write: SentWrite) -> float:
        """Seconds its sender may still be recording its reply (0: an orphan if still there)."""
        age = (self._clock() - write.sent_at).total_seconds()
        return max(LIVE_SENDER_SECONDS - age, 0.0)

    def expired(self, write: SentWrite) -> bool:
        return self._clock() - write.sent_at > timedelta(seconds=ORPHAN_SECONDS)

    def own_write(self, request_id: str) -> OwnWrite | None:
        try:
            item = get(self._states.store, f"write#{request_id}")
        except StoreUnavailable:
            return None
        return decode_as(OwnWrite, item.data) if item is not None else None

    def _own(self, action: Action, write_id: str, request_id: str) -> None:
        call = action.calls[0] if action.calls else None
        record = OwnWrite(
            request_id,
            action.app,
            (call.resource if call else "") or action.app.arn,
            f"{call.service}:{call.operation}" if call else "",
            action.rules,
            digest(action),
            self._clock(),
            write_id,
            tuple(
                sorted(set().union(*(sensitive_parts(c.operation, c.params) for c in action.calls)))
            ),
        )
        item = Item(f"write#{request_id}", encode(record), self._clock() + KEEP)
        # Not stored: the canary then sees an unknown request id (it reports, never acts).
        with contextlib.suppress(StoreUnavailable, VersionConflict):
            self._states.store.put(item)
