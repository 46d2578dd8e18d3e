"""The periodic sweep: the level-triggered safety net that catches what events missed.

Each sweep lists every application of the account in every configured region, refreshes the
index (forgetting the gone), and owes each application a reconcile through the same work queue
as events. It waits (bounded) for those reconciles, so its duration and outcome are measured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from daemon import errors
from daemon.aws import AwsByRegion
from daemon.desired.config import DesiredConfig
from daemon.ingest.work import Submit
from daemon.reconcile.budget import FixBudget
from daemon.reconcile.inventory import Inventory, index_applications
from daemon.reconcile.pass_reads import PassReads
from daemon.reconcile.workqueue import Ticket
from daemon.state import AppRef, Cause
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)


class Sweeper:
    def __init__(
        self,
        aws: AwsByRegion,
        account: str,
        config: Callable[[], DesiredConfig],
        inventory: Inventory,
        budget: FixBudget,
        submit: Submit,
        wait_seconds: float,
        indexed: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._aws, self._account, self._config = aws, account, config
        self._inventory, self._budget, self._submit = inventory, budget, submit
        self._wait, self._clock = wait_seconds, clock
        # Set after the first complete listing: role rules must not act on a partial index.
        self.indexed = indexed if indexed is not None else threading.Event()
        self._reads: PassReads | None = None

    def sweep(self) -> bool:
        """One sweep; True when every application was listed and reconciled without error
        within `wait_seconds` (a sweep that runs longer is reported failed, not cancelled)."""
        started = self._clock()
        try:
            apps = self._index()
            self._budget.expire()
            ok = self._reconcile(apps) if apps else True
        except errors.AwsError as exc:
            log.error("sweep_failed", error=str(exc))
            ok = False
        seconds = self._clock() - started
        metrics.record_sweep(seconds, ok)
        log.info("sweep_finished", apps=len(self._inventory), ok=ok, seconds=round(seconds, 3))
        return ok

    def _index(self) -> set[AppRef]:
        apps: set[AppRef] = set()
        self._reads = PassReads()  # the listing's details and batched reads, for this sweep
        for region in self._config().regions:
            found = index_applications(
                self._aws, self._account, [region], self._inventory, self._reads
            )
            for gone in self._inventory.retain(self._account, region, found):
                metrics.forget_application(gone)
            metrics.set_application_count(self._account, region, len(found))
            apps.update(found)
        self.indexed.set()
        return apps

    def _reconcile(self, apps: set[AppRef]) -> bool:
        done = threading.Event()
        outcome = [False]

        def settled(ok: bool) -> None:
            outcome[0] = ok
            done.set()

        reads, self._reads = self._reads, None  # the queued work holds it, and frees it
        self._submit(apps, Cause("sweep", reads=reads), Ticket(apps, settled))
        done.wait(self._wait)
        return outcome[0]
