"""The long-running daemon, as wiring: events and sweeps feed one coalescing work queue.

    SQS -> parse -> drop own/duplicate -> route to apps -> work queue -> reconcile -> apply
    sweep (scheduled) --------------------------------------^
    or, with --sweep-source queue: SQS sweep tick -> list -> work messages on SQS --^

Tasks start in the order added (health server, scheduler, SQS consumer, workers) and stop in
reverse: reconciles drain while acknowledgements and visibility heartbeats still run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from daemon.aws import Aws
from daemon.desired.config import DesiredConfig
from daemon.evidence.misuse import MisuseReporter
from daemon.evidence.securityhub import publisher_for
from daemon.ingest.own_writes import OwnWriteCanary
from daemon.ingest.pipeline import EventPipeline
from daemon.ingest.router import Router
from daemon.ingest.sqs import SqsQueue
from daemon.ingest.sweep_queue import QueueSweeps
from daemon.rate_limits import limits_from
from daemon.reconcile.accounts import AccountDirectory
from daemon.reconcile.controller import (
    DEFERRED_CHECK_SECONDS,
    due_submitter,
    reconcile_queue,
    submitter,
)
from daemon.reconcile.inventory import Inventory
from daemon.reconcile.list_watch import Watch
from daemon.reconcile.listeners import verdicts_to
from daemon.reconcile.reconciler import Reads, Reconciler
from daemon.reconcile.rules import rules_for
from daemon.reconcile.safeguards import BudgetSettings, Safeguards, WallClock
from daemon.reconcile.tags import TagCache
from daemon.reconcile.waiver_expiry import EXPIRY_CHECK_SECONDS, WaiverExpiries
from daemon.runtime_config import ConfigWatcher
from daemon.sessions import AwsByAccount
from daemon.settings import RunSettings
from daemon.store import StateStore
from daemon.store.dynamodb import DynamoStore
from daemon.sweeper import Sweeper
from daemon.tasks import Schedule, Tasks
from daemon.telemetry.server import HealthServer, Reachability

log = structlog.get_logger(__name__)

READY_PROBE_SECONDS = 5.0  # /readyz follows AWS and the queue within about this
STORE_PROBE_SECONDS = 30.0  # one read of the state table (about 86,000 a month)
STORE_ATTEMPTS = 2  # a store that does not answer is reported, not waited for


def state_store(table: str, region: str) -> StateStore | None:
    """The DynamoDB store of `table` (the daemon's own credentials, home Region), or None
    (in memory)."""
    if not table:
        return None
    return DynamoStore(Aws(region, max_attempts=STORE_ATTEMPTS, max_backoff_seconds=1.0), table)


def _system_wall() -> datetime:
    return datetime.now(UTC)


class Daemon:
    def __init__(
        self, settings: RunSettings, config: DesiredConfig, clock: WallClock = _system_wall
    ) -> None:
        """`clock`: the one wall clock of windows, waivers and safeguards (tests inject one)."""
        s = self.settings = settings
        self.account = ""
        self.config = ConfigWatcher(config, s.config, clock)
        self.directory = AccountDirectory(self.config.current, self._home)
        # One token bucket per (account, Region, API family): sweeps pace themselves.
        limits = limits_from(s.rate_limits)
        aws = self.aws = AwsByAccount(self.directory.accesses, self.home_region, limits=limits)
        self.inventory, self.indexed = Inventory(), threading.Event()
        # Backoffs, the fight budget, deferrals, announcements: the memory every fix asks,
        # in the DynamoDB table of --state-table (shared by replicas, kept across restarts).
        self.safeguards = Safeguards(
            budget=BudgetSettings(s.fix_budget, s.fix_budget_window_seconds),
            store=state_store(s.state_table, self.home_region),
            clock=clock,
        )
        # Waived drifts, and the reconcile each owes at its waiver's expiry.
        self.waivers = WaiverExpiries(self.config.current, clock, self.safeguards.claim)
        self.router = Router(self.inventory, aws.account)
        roles = self.inventory.role_index(self.indexed.is_set)
        rules = rules_for(self.config.current)
        # Security Hub findings, or None.
        self.evidence = publisher_for(config, aws.own, self.safeguards)
        self.tags = TagCache(s.tags_max_age)  # remembered tags: event reconciles reuse them
        self.reconciler = Reconciler(
            aws,
            rules,
            s.dry_run,
            reads=Reads(role_index=roles, tags=self.tags),
            safeguards=self.safeguards,
            listeners=(*verdicts_to(self.evidence), self.waivers),
        )
        self.work = reconcile_queue(
            self.reconciler.reconcile,
            self.inventory,
            workers=s.workers,
            debounce_seconds=s.debounce_seconds,
            max_wait_seconds=s.debounce_max_wait_seconds,
            max_pending_keys=s.max_pending_applications,
        )
        self.submit = submitter(self.work)
        self.schedule, self.tasks, self.stopping = Schedule(), Tasks(), threading.Event()
        self.health = HealthServer(s.metrics_host, s.metrics_port)
        self.health.add_readiness("config", lambda: True)  # loaded before start; reloads keep it
        # AWS answers: GetCallerIdentity (free, needs no permission) every few seconds.
        sts = lambda: self._home().call("sts", "GetCallerIdentity")  # noqa: E731
        self.aws_reachability = Reachability("aws", READY_PROBE_SECONDS * 4, sts)
        self.health.add_readiness("aws", self.aws_reachability.ready)
        # Without the store restarting fixes are held: not ready, and an alert says why.
        self.health.add_readiness("state_store", self.safeguards.store_available)
        self.health.add_liveness("scheduler", lambda: self.schedule.running)
        self.health.add_liveness("not_stopping", lambda: not self.stopping.is_set())
        self.tasks.add("health-server", self.health.start, self.health.stop)

    def _canary(self) -> OwnWriteCanary:
        """Own-principal events matched against the ledger of the daemon's writes."""
        reporter = MisuseReporter(self.aws.own, self.config.current(), self.safeguards.now)
        return OwnWriteCanary(
            self.safeguards.own_write,
            self.safeguards.probe_store,
            reporter.report,
            self.settings.own_write_grace_seconds,
        )

    @property
    def home_region(self) -> str:
        return self.settings.region or self.config.current().regions[0]

    def _home(self) -> Aws:
        return self.aws.region(self.home_region)

    def start(self) -> None:
        self.tasks.start()  # the health server answers probes from here on
        caller = self.aws.identify()
        own_arn = str(caller["Arn"])
        self.directory.own_account = caller["Account"]
        self.directory.refresh()
        self.directory.require_roles()
        self.account = str(caller["Account"])
        self.aws_reachability.record(True)
        self.config.publish()
        s, schedule = self.settings, self.schedule
        schedule.every("config_reload", self.config.reload_if_changed, s.config_poll_seconds)
        # Deferred fixes at their window's opening: read from the store (a restarted daemon
        # needs no sweep to find them) and claimed there (one replica fires each).
        due = due_submitter(self.work, lambda: self.safeguards.due(self._places()))
        schedule.every("deferred_fixes", due, DEFERRED_CHECK_SECONDS)
        expired = due_submitter(self.work, self.waivers.due)
        schedule.every("waiver_expiries", expired, EXPIRY_CHECK_SECONDS, now=True)
        schedule.every("aws_probe", self.aws_reachability.check, READY_PROBE_SECONDS)
        if s.state_table:
            probe = self.safeguards.probe_store
            schedule.every("state_store_probe", probe, STORE_PROBE_SECONDS, now=True)
        self.tasks.add("scheduler", schedule.start, schedule.stop)
        every, jitter = s.sweep_interval_seconds, s.sweep_jitter_seconds
        self._accounts = self.directory.refresh  # each sweep re-reads the organisation
        sweeper = Sweeper(
            self.aws.account,
            lambda: self._accounts(),
            self.config.current,
            inventory=self.inventory,
            safeguards=self.safeguards,
            submit=self.submit,
            wait_seconds=every,
            indexed=self.indexed,
            watch=Watch(s.resync_seconds),
        )
        queued = s.sweep_source == "queue"
        if s.queue_url:
            events = EventPipeline(
                self._home(),
                s,
                own_arn,
                directory=self.directory,
                config=self.config.current,
                router=self.router,
                submit=self.submit,
                tags=self.tags,
                sweeps=self._queue_sweeps(sweeper) if queued else None,
                own_writes=self._canary().check,
                own_user_id=str(caller.get("UserId", "")),
            )
            events.register(self.tasks, schedule, self.health, self.stopping, READY_PROBE_SECONDS)
            self._accounts = events.refresh_accounts  # ... and teaches the intake the member roles
        if self.evidence is not None:
            self.evidence.register(self.tasks, schedule, own_arn)
        if queued:
            # Ticks come from the queue; what every sweep did in this process still happens.
            schedule.every("sweep_upkeep", self._sweep_upkeep, every)
            # The event index (roles, subnets -> apps) once at start; reconciles keep it.
            threading.Thread(target=sweeper.index, name="first-index", daemon=True).start()
        else:
            schedule.every("sweep", sweeper.sweep, every, jitter=jitter, now=True)
        self.tasks.add("workers", self.work.start, self._drain)
        self.tasks.start()
        log.info(
            "daemon_started",
            account=self.account,
            identity=own_arn,
            dry_run=s.dry_run,
            queue_url=s.queue_url,
            port=self.health.port,
            tasks=list(self.tasks.names()),
        )

    def _places(self) -> list[tuple[str, str]]:
        """Every covered (account, Region)."""
        regions = self.config.current().regions
        return [(account, region) for account in self.directory.accounts() for region in regions]

    def _queue_sweeps(self, sweeper: Sweeper) -> Callable[[SqsQueue], QueueSweeps]:
        def covered(account: str, region: str) -> bool:
            return self.directory.covers(account) and region in self.config.current().regions

        # Two work messages per worker: enough to keep the workers busy, the rest for others.
        held = 2 * self.settings.workers
        return lambda queue: QueueSweeps(
            queue, sweeper.list_place, covered, self.submit, max_held=held
        )

    def _sweep_upkeep(self) -> None:
        """With queue sweeps: re-read the covered accounts and end spent fight budgets."""
        self._accounts()
        self.safeguards.expire_fights()

    def stop(self) -> None:
        """Stop receiving, finish in-flight reconciles within the grace period, release the rest
        (their messages reappear), send the last acknowledgements and stop serving."""
        self.stopping.set()
        log.info("daemon_stopped", tasks=list(self.tasks.stop()))

    def _drain(self) -> None:
        report = self.work.stop(self.settings.shutdown_grace_seconds)
        log.info("work_drained", drained=report.drained, released=report.abandoned_tokens)
