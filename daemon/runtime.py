"""The long-running daemon, as wiring: events and sweeps feed one coalescing work queue.

    SQS -> parse -> drop own/duplicate -> route to apps -> work queue -> reconcile -> apply
    sweep (scheduled) --------------------------------------^

Tasks start in the order added (health server, scheduler, SQS consumer, workers) and stop in
reverse: reconciles drain while acknowledgements and visibility heartbeats still run.
"""

from __future__ import annotations

import threading

import structlog

from daemon.aws import Aws
from daemon.desired.config import DesiredConfig
from daemon.evidence.securityhub import publisher_for
from daemon.ingest.pipeline import EventPipeline
from daemon.ingest.router import Router
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
from daemon.reconcile.rules import resolver_for
from daemon.reconcile.safeguards import BudgetSettings, Safeguards
from daemon.reconcile.tags import TagCache
from daemon.runtime_config import ConfigWatcher
from daemon.sessions import AwsByAccount
from daemon.settings import RunSettings
from daemon.sweeper import Sweeper
from daemon.tasks import Schedule, Tasks
from daemon.telemetry.server import HealthServer, Reachability

log = structlog.get_logger(__name__)

READY_PROBE_SECONDS = 5.0  # /readyz follows AWS and the queue within about this


class Daemon:
    def __init__(self, settings: RunSettings, config: DesiredConfig) -> None:
        s = self.settings = settings
        self.account = ""
        self.config = ConfigWatcher(config, s.config)
        self.directory = AccountDirectory(self.config.current, self._home)
        # One token bucket per (account, Region, API family): sweeps pace themselves.
        limits = limits_from(s.rate_limits)
        aws = self.aws = AwsByAccount(self.directory.accesses, self.home_region, limits=limits)
        self.inventory, self.indexed = Inventory(), threading.Event()
        # Backoffs, the fight budget, deferrals, announcements: the memory every fix asks.
        self.safeguards = Safeguards(
            budget=BudgetSettings(s.fix_budget, s.fix_budget_window_seconds)
        )
        self.router = Router(self.inventory, aws.account)
        roles = self.inventory.role_index(self.indexed.is_set)
        rules = resolver_for(self.config.current)
        # Security Hub findings, or None.
        self.evidence = publisher_for(config, aws.own, self.safeguards)
        self.tags = TagCache(s.tags_max_age)  # remembered tags: event reconciles reuse them
        self.reconciler = Reconciler(
            aws,
            rules,
            s.dry_run,
            reads=Reads(role_index=roles, tags=self.tags),
            safeguards=self.safeguards,
            listeners=verdicts_to(self.evidence),
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
        self.health.add_liveness("scheduler", lambda: self.schedule.running)
        self.health.add_liveness("not_stopping", lambda: not self.stopping.is_set())
        self.tasks.add("health-server", self.health.start, self.health.stop)

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
        due = due_submitter(self.work, self.safeguards.due)
        schedule.every("deferred_fixes", due, DEFERRED_CHECK_SECONDS)
        schedule.every("aws_probe", self.aws_reachability.check, READY_PROBE_SECONDS)
        self.tasks.add("scheduler", schedule.start, schedule.stop)
        accounts = self.directory.refresh  # each sweep re-reads the organisation
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
            )
            events.register(self.tasks, schedule, self.health, self.stopping, READY_PROBE_SECONDS)
            accounts = events.refresh_accounts  # ... and teaches the intake the member roles
        if self.evidence is not None:
            self.evidence.register(self.tasks, schedule, own_arn)
        every, jitter = s.sweep_interval_seconds, s.sweep_jitter_seconds
        sweeper = Sweeper(
            self.aws.account,
            accounts,
            self.config.current,
            inventory=self.inventory,
            safeguards=self.safeguards,
            submit=self.submit,
            wait_seconds=every,
            indexed=self.indexed,
            watch=Watch(s.resync_seconds),
        )
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

    def stop(self) -> None:
        """Stop receiving, finish in-flight reconciles within the grace period, release the rest
        (their messages reappear), send the last acknowledgements and stop serving."""
        self.stopping.set()
        log.info("daemon_stopped", tasks=list(self.tasks.stop()))

    def _drain(self) -> None:
        report = self.work.stop(self.settings.shutdown_grace_seconds)
        log.info("work_drained", drained=report.drained, released=report.abandoned_tokens)
