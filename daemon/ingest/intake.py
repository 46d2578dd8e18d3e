"""The front of the event pipeline, shared by the daemon and `replay`: parse, then drop what
must not cause work (the daemon's own changes, duplicates, accounts and Regions not covered),
counting every drop by reason. Nothing here calls AWS: an event claiming an account the daemon
does not cover is dropped before anything reads it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import structlog

from daemon import errors
from daemon.desired.config import DesiredConfig
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.events import Hint, NotCovered, parse, source_of
from daemon.ingest.identity import OwnIdentity
from daemon.telemetry import metrics
from remediations import RULES

# Application lifecycle events keep the inventory current even if no rule listens to them.
LIFECYCLE_EVENTS = frozenset({"CreateApplication", "DeleteApplication"})
# Rejections that only a hand-written message causes (EventBridge never delivers such a body):
# logged as warnings, since someone with sqs:SendMessage on the queue wrote it.
FORGED = frozenset({"bare_record", "source_mismatch", "account_mismatch"})
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Ignored:
    reason: metrics.IgnoreReason
    detail: str


class Intake:
    """`dedupe_completed_only`: the daemon drops an eventID only once work for it completed
    (`completed`), so a redelivery of an event still in flight is let through and tracked;
    `replay`, which handles each event as it reads it, drops every repeat. `bare_records`:
    `replay` reads CloudTrail log files, whose records have no EventBridge envelope; the
    daemon's queue accepts envelopes only."""

    def __init__(
        self,
        identity: OwnIdentity,
        dedupe: EventIdCache,
        config: Callable[[], DesiredConfig],
        accounts: Callable[[], Iterable[str]] | None = None,
        *,
        dedupe_completed_only: bool = False,
        bare_records: bool = False,
        own_writes: Callable[[Hint, str | bytes], None] | None = None,
    ) -> None:
        self._bare_records = bare_records
        # The own-credential canary: told of every own-principal event (never acted on).
        self._own_writes = own_writes
        self._identity = identity
        self._dedupe = dedupe
        self._completed_only = dedupe_completed_only
        self._config = config
        # The covered accounts (config plus organisation discovery); default: the config's.
        self._accounts = accounts or (lambda: self._config().accounts)
        self._event_names = LIFECYCLE_EVENTS.union(*(r.trigger_events for r in RULES.values()))
        self._told: set[str] = set()  # the uncovered scopes already warned about
        self._told_lock = threading.Lock()

    def set_identity(self, identity: OwnIdentity) -> None:
        """Member roles change when accounts are discovered or the config is reloaded."""
        self._identity = identity

    def accept(self, body: str | bytes) -> Hint | Ignored:
        config = self._config()
        try:
            hint = parse(
                body,
                accounts=frozenset(self._accounts()),
                regions=frozenset(config.regions),
                event_names=self._event_names,
                bare_records=self._bare_records,
            )
        except errors.EventError as exc:
            metrics.count_event_received(source_of(body))
            if isinstance(exc, NotCovered):
                self._warn_once(exc, config)
            elif exc.reason in FORGED:
                log.warning("event_rejected", reason=exc.reason, detail=str(exc)[:300])
            return self._ignored(cast(metrics.IgnoreReason, exc.reason), str(exc))
        metrics.count_event_received(hint.source)
        if self._identity.caused(hint):
            if self._own_writes is not None:
                self._own_writes(hint, body)
            return self._ignored("own_identity", f"{hint.event_name} by the daemon itself")
        if self._is_duplicate(hint.event_id):
            return self._ignored("duplicate", f"event {hint.event_id} already handled")
        if hint.event_time is not None:
            metrics.observe_event_lag((datetime.now(UTC) - hint.event_time).total_seconds())
        return hint

    def _warn_once(self, exc: NotCovered, config: DesiredConfig) -> None:
        """Say once per account or Region why its events cause nothing, and what to change:
        otherwise the only trace is a counter (events_ignored_total) and info lines."""
        with self._told_lock:
            if exc.scope in self._told:
                return
            self._told.add(exc.scope)
        region = exc.reason == "region_not_configured"
        log.warning(
            "events_not_covered",
            reason=exc.reason,
            scope=exc.scope,
            covered=list(config.regions) if region else sorted(self._accounts()),
            fix=(
                "add the Region to `regions:` in the desired state, or point the queue at "
                "events of a Region it lists"
                if region
                else "add the account to `accounts:` in the desired state (with a role to "
                "assume), or leave its events off this queue"
            ),
        )

    def completed(self, hint: Hint) -> None:
        """Work for the event is done: later copies of it are duplicates."""
        self._dedupe.remember(hint.event_id)

    def _is_duplicate(self, event_id: str) -> bool:
        if self._completed_only:
            return self._dedupe.contains(event_id)
        return self._dedupe.seen_before(event_id)

    @staticmethod
    def _ignored(reason: metrics.IgnoreReason, detail: str) -> Ignored:
        metrics.count_event_ignored(reason)
        return Ignored(reason, detail[:300])
