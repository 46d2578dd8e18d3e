"""The own-credential canary: every write CloudTrail shows made with the daemon's credentials must
be one the daemon sent, as it planned it.

Own-principal events are never acted on (loop prevention); the intake hands each one here. Its
`requestID` is looked up in the ledger of the daemon's own writes (the shared state store, so a
write by any replica is found). The ledger entry is written once the reply is in, and CloudTrail
can be quicker than that, so a request id not found is looked up again after `grace_seconds`
(once, not forever). A write found in neither look is `unledgered`; one found but carrying
application code, environment properties, an encryption setting, an execution role or a trust
principal that no planned call of it sent is `unplanned` (daemon/apply/planned_writes.py). Both
go to `report` (metric, audit record, CRITICAL Security Hub finding: wired by the runtime).

When the state store does not answer, nothing is reported: an outage is not misuse. The write
is logged as unverified and counted (`own_writes_checked_total{result="unverified"}`).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from daemon.apply.planned_writes import OwnWriteEvent, UnexplainedWrite
from daemon.ingest.events import Hint
from daemon.reconcile.safeguards import OwnWrite
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)
GRACE_SECONDS = 60.0  # the daemon records its request ids within seconds of the reply

Ledger = Callable[[str], OwnWrite | None]
Report = Callable[[UnexplainedWrite], None]


def own_write_event(hint: Hint, body: str | bytes) -> OwnWriteEvent:
    """The canary's view of an own-principal event the parser accepted (so `body` is an
    EventBridge envelope, or a bare record for `replay`)."""
    data = json.loads(body)
    record: Mapping[str, Any] = data.get("detail", data)
    parameters = record.get("requestParameters")

    def text(key: str) -> str:
        value = record.get(key)
        return value[:512] if isinstance(value, str) else ""

    return OwnWriteEvent(
        event_id=hint.event_id,
        event_name=hint.event_name,
        request_id=text("requestID"),
        account=hint.account,
        region=hint.region,
        actor=hint.actor,
        source_ip=text("sourceIPAddress"),
        user_agent=text("userAgent"),
        event_time=hint.event_time,
        targets=hint.targets,
        parameters=parameters if isinstance(parameters, dict) else {},
    )


class OwnWriteCanary:
    def __init__(
        self,
        ledger: Ledger,
        store_answers: Callable[[], bool],
        report: Report,
        grace_seconds: float = GRACE_SECONDS,
    ) -> None:
        self._ledger = ledger
        self._store_answers = store_answers
        self._report = report
        self._grace = grace_seconds
        # Writes to look up again, with when. One thread for all of them (a timer each was a
        # thread per write: hundreds during a large sweep's fixes). The grace is one constant,
        # so they come due in the order they were put.
        self._waiting: queue.SimpleQueue[tuple[float, OwnWriteEvent]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._rechecker: threading.Thread | None = None

    def check(self, hint: Hint, body: str | bytes) -> None:
        """Called by the intake for every own-principal event; never blocks it."""
        event = own_write_event(hint, body)
        if not self._judge(event, final=False):
            self._waiting.put((time.monotonic() + self._grace, event))
            with self._lock:
                if self._rechecker is None:
                    self._rechecker = threading.Thread(
                        target=self._recheck_forever, name="own-write-recheck", daemon=True
                    )
                    self._rechecker.start()

    def _recheck_forever(self) -> None:
        while True:
            due, event = self._waiting.get()
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                self._judge(event, final=True)
            except Exception:  # one bad look must not end the canary
                log.exception("own_write_check_failed", request_id=event.request_id)

    def _judge(self, event: OwnWriteEvent, final: bool) -> bool:
        """True when judged; False: not in the ledger yet, look again after the grace."""
        write = self._ledger(event.request_id) if event.request_id else None
        if write is None and not final:
            return False
        if write is None and not self._store_answers():
            metrics.count_own_write_checked("unverified")
            log.warning("own_write_unverified", **_fields(event), reason="state store unavailable")
            return True
        if write is None:
            self._flag(UnexplainedWrite(event, "unledgered"))
            return True
        unplanned = event.parts - frozenset(write.planned)
        if unplanned:
            self._flag(UnexplainedWrite(event, "unplanned", tuple(sorted(unplanned))))
            return True
        metrics.count_own_write_checked("explained")
        log.debug("own_write_explained", **_fields(event), rules=list(write.rules))
        return True

    def _flag(self, unexplained: UnexplainedWrite) -> None:
        metrics.count_own_write_checked(unexplained.reason)
        metrics.count_unexplained_own_write(unexplained.event.event_name, unexplained.reason)
        log.critical(
            "unexplained_own_write_detected",
            **_fields(unexplained.event),
            reason=unexplained.reason,
            parts=list(unexplained.parts),
            detail=unexplained.text,
        )
        try:
            self._report(unexplained)
        except Exception:  # the metric and the log line above stand even if reporting failed
            log.exception("own_write_report_failed", request_id=unexplained.event.request_id)


def _fields(event: OwnWriteEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_name": event.event_name,
        "request_id": event.request_id,
        "account": event.account,
        "region": event.region,
        "actor": event.actor,
        "source_ip": event.source_ip,
        "user_agent": event.user_agent,
        "targets": list(event.targets),
    }
