"""The periodic sweep: the level-triggered safety net that catches what events missed.

Each sweep re-reads which accounts are covered (the organisation, if configured), lists every
application of each account in every configured region (member accounts through their assumed
role), refreshes the index (forgetting the gone), and owes a reconcile, through the same work
queue as events, to each application the watch finds changed (every one on a full resync:
daemon/reconcile/list_watch.py). One account failing (say, its role cannot be assumed) fails the
sweep but not the other accounts' listing. It waits (bounded) for those reconciles, so its
duration and outcome are measured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import structlog

from daemon import errors
from daemon.aws import AwsByRegion
from daemon.desired.config import DesiredConfig
from daemon.reconcile.controller import Submit
from daemon.reconcile.inventory import Inventory, list_applications
from daemon.reconcile.list_watch import Watch, time_driven
from daemon.reconcile.pass_reads import PassReads
from daemon.reconcile.safeguards import Safeguards
from daemon.reconcile.watched_index import WatchedTicket, index_changed
from daemon.state import AppRef, Cause
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)


class Sweeper:
    def __init__(
        self,
        aws: Callable[[str], AwsByRegion],
        accounts: Callable[[], Iterable[str]],
        config: Callable[[], DesiredConfig],
        inventory: Inventory,
        safeguards: Safeguards,
        submit: Submit,
        wait_seconds: float,
        indexed: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        watch: Watch | None = None,
    ) -> None:
        self._aws, self._accounts, self._config = aws, accounts, config
        self._inventory, self._safeguards, self._submit = inventory, safeguards, submit
        self._wait, self._clock = wait_seconds, clock
        # Set after the first complete listing: role rules must not act on a partial index.
        self.indexed = indexed if indexed is not None else threading.Event()
        self._reads: PassReads | None = None
        self._watch = watch if watch is not None else Watch()
        self._full = True

    def sweep(self) -> bool:
        """One sweep; True when every application was listed and reconciled without error
        within `wait_seconds` (a sweep that runs longer is reported failed, not cancelled)."""
        started = self._clock()
        try:
            apps, ok = self._index()  # the apps due a reconcile
            self._safeguards.prefetch(sorted(apps))  # the apps' state: 100 per store call
            self._safeguards.expire_fights()
            ok = (self._reconcile(apps) if apps else True) and ok
        except errors.AwsError as exc:
            log.error("sweep_failed", error=str(exc))
            ok = False
        seconds = self._clock() - started
        metrics.record_sweep(seconds, ok)
        log.info("sweep_finished", apps=len(self._inventory), ok=ok, seconds=round(seconds, 3))
        return ok

    def index(self) -> bool:
        """List and describe every covered account's applications into the inventory, without
        reconciling them (a replica with queue sweeps fills its event index this way once)."""
        complete = self._index()[1]
        self._reads = None  # nothing reconciles from this listing: free its details
        log.info("inventory_indexed", apps=len(self._inventory), complete=complete)
        return complete

    def list_place(self, account: str, region: str) -> tuple[AppRef, ...]:
        """ListApplications of one account and Region (no DescribeApplication), forgetting the
        apps gone from there: what a queue sweep's tick fans out."""
        found = list_applications(self._aws(account).region(region), account)
        self._retain(account, region, set(found))
        return found

    def _retain(self, account: str, region: str, found: set[AppRef]) -> None:
        for gone in self._inventory.retain(account, region, found):
            metrics.forget_application(gone)
        metrics.set_application_count(account, region, len(found))

    def _index(self) -> tuple[set[AppRef], bool]:
        """Every covered account's applications; False if some account could not be listed
        (its apps stay indexed as they were: a failed read is not a deletion)."""
        apps: set[AppRef] = set()
        self._full = self._watch.begin_sweep()
        self._reads = PassReads()  # the listing's details and batched reads, for this sweep
        complete = True
        for account in self._accounts():
            try:
                apps.update(self._index_account(account))
            except errors.AwsError as exc:
                log.error("sweep_account_failed", account=account, error=str(exc))
                complete = False
        if complete:
            self.indexed.set()
        return apps, complete

    def _index_account(self, account: str) -> set[AppRef]:
        regions = self._config().regions
        indexed = index_changed(
            self._aws(account),
            account,
            regions,
            self._inventory,
            self._watch,
            self._full,
            self._reads,
            running_too=time_driven(self._config()),
        )
        for region in regions:
            self._retain(account, region, {a for a in indexed.listed if a.region == region})
        return set(indexed.due)

    def _reconcile(self, apps: set[AppRef]) -> bool:
        done = threading.Event()
        outcome = [False]

        def settled(ok: bool) -> None:
            outcome[0] = ok
            done.set()

        reads, self._reads = self._reads, None  # the queued work holds it, and frees it
        ticket = WatchedTicket(apps, settled, self._watch)
        self._submit(apps, Cause("sweep", reads=reads), ticket)
        done.wait(self._wait)
        return outcome[0]
