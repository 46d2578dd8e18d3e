"""When a waiver expires, the drift it allowed reopens by itself: a reconcile at that moment.

`WaiverExpiries` is a reconcile listener: it remembers, per application, the waivers that
allowed a drift in its last reconcile (and keeps `flink_remediator_waived` to those). Its
`due()` is a periodic job, as the deferred fixes' check is (controller.due_submitter): every
application whose waiver has expired on the daemon's wall clock, or left the config, or now
expires earlier than when it was recorded, is owed a reconcile at once, not at the next sweep.
It also publishes every configured waiver's seconds to expiry (the WaiverExpiring alert).

Every replica that reconciled the app recorded its waiver, so each finds it lapsed: `claim`
(Safeguards.claim: a conditional write in the state store) lets only the first submit it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from daemon.desired.config import DesiredConfig
from daemon.reconcile.result import ReconcileResult
from daemon.state import AppRef, Cause, WaiverRef
from daemon.telemetry import metrics

# The clock may jump (a test's sandbox clock, NTP): a cheap in-memory check, every few seconds.
EXPIRY_CHECK_SECONDS = 5.0
DAY_SECONDS = 86400.0
CLAIM_SECONDS = 600.0  # a lapse is fired again only if its claimant did not reconcile by then
Claim = Callable[[str, float], bool]


class WaiverExpiries:
    def __init__(
        self,
        config: Callable[[], DesiredConfig],
        clock: Callable[[], datetime],
        claim: Claim = lambda key, seconds: True,
    ) -> None:
        self._config = config
        self._clock = clock
        self._claim = claim
        self._lock = threading.Lock()
        self._waived: dict[AppRef, dict[str, WaiverRef]] = {}  # app -> rule -> waiver

    def reconciled(self, result: ReconcileResult, cause: Cause) -> None:
        waived = {
            rule: outcome.action.waiver
            for outcome in result.outcomes
            if outcome.outcome == "waived" and outcome.action.waiver is not None
            for rule in outcome.action.rules
        }
        if result.plan is None and result.result != "gone":
            return  # nothing was planned (busy, failed to read): what was waived still stands
        with self._lock:
            before = self._waived.pop(result.app, {})
            if waived:
                self._waived[result.app] = waived
        self._publish(result.app, before, waived)

    def due(self) -> list[AppRef]:
        """Apps whose recorded waiver no longer holds: each is forgotten (its reconcile records
        what holds now) and returned to be reconciled."""
        now = self._clock()
        config = self._config()
        expiries = {w.id: w.expires for w in config.waivers}
        warn = config.waiver_policy.warn_days * DAY_SECONDS
        metrics.set_waiver_expiries(
            {wid: (at - now).total_seconds() for wid, at in expiries.items()}, warn
        )
        lapsed: dict[AppRef, WaiverRef] = {}
        with self._lock:
            for app, rules in list(self._waived.items()):
                ended = sorted(
                    (w for w in rules.values() if _lapsed(w, expiries, now)),
                    key=lambda w: (w.expires, w.id),
                )
                if ended:
                    lapsed[app] = ended[0]
                    self._publish(app, self._waived.pop(app), {})
        # Claimed outside the lock (a store call); the lapse names the waiver as recorded.
        owed: list[AppRef] = []
        for app, w in lapsed.items():
            won = self._claim(f"waiver#{app}#{w.id}#{w.expires.isoformat()}", CLAIM_SECONDS)
            metrics.count_timer_claim("waiver_expiry", won)
            owed += [app] if won else []
        return owed

    def waived(self) -> Mapping[AppRef, Mapping[str, WaiverRef]]:
        with self._lock:
            return {app: dict(rules) for app, rules in self._waived.items()}

    @staticmethod
    def _publish(
        app: AppRef, before: Mapping[str, WaiverRef], after: Mapping[str, WaiverRef]
    ) -> None:
        for rule, waiver in before.items():
            if after.get(rule) != waiver:
                metrics.set_waived(app, rule, waiver.id, False)
        for rule, waiver in after.items():
            metrics.set_waived(app, rule, waiver.id, True)


def _lapsed(waiver: WaiverRef, expiries: Mapping[str, datetime], now: datetime) -> bool:
    """Expired, removed from the config, or moved to an earlier expiry since it was recorded."""
    current = expiries.get(waiver.id)
    return current is None or current < waiver.expires or now >= min(current, waiver.expires)
