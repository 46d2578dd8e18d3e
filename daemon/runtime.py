"""The long-running daemon, as wiring: events and sweeps feed one coalescing work queue.

    SQS -> parse -> drop own/duplicate -> route to apps -> work queue -> reconcile -> apply
    sweep (scheduled) --------------------------------------^

Tasks start in the order added (health server, scheduler, SQS consumer, workers) and stop in
reverse: reconciles drain while acknowledgements and visibility heartbeats still run.
"""

from __future__ import annotations

import threading

import structlog

from daemon import errors
from daemon.desired.config import DesiredConfig
from daemon.evidence.securityhub import SecurityHubPublisher, publisher_for
from daemon.ingest.consumer import EventConsumer
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Intake
from daemon.ingest.router import Router
from daemon.ingest.sqs import SqsQueue
from daemon.ingest.work import AppQueue, RetryBackoff, Work, cause_of, settle, submitter
from daemon.reconcile.accounts import AccountDirectory
from daemon.reconcile.budget import FixBudget
from daemon.reconcile.inventory import AppFacts, Inventory
from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.rules import resolver_for
from daemon.reconcile.tags import TagCache
from daemon.reconcile.workqueue import QueueClosed, QueueFull, Retry, WorkQueue
from daemon.runtime_config import ConfigWatcher
from daemon.sessions import AwsByAccount
from daemon.settings import RunSettings
from daemon.state import AppRef
from daemon.sweeper import Sweeper
from daemon.tasks import Schedule, Tasks
from daemon.telemetry.server import HealthServer, Heartbeat, Reachability

log = structlog.get_logger(__name__)

DEFERRED_CHECK_SECONDS = 60.0  # windows are minutes long: a fix starts within a minute of opening
READY_PROBE_SECONDS = 5.0  # /readyz follows AWS and the queue within about this


class Daemon:
    def __init__(self, settings: RunSettings, config: DesiredConfig) -> None:
        s = self.settings = settings
        self.account, self._own_arn = "", ""
        self.intake: Intake | None = None
        self.config = ConfigWatcher(config, s.config)
        self.directory = AccountDirectory(
            self.config.current, lambda: self.aws.region(self.home_region)
        )
        aws = self.aws = AwsByAccount(self.directory.accesses, self.home_region)
        self.inventory, self.indexed = Inventory(), threading.Event()
        self.budget = FixBudget(s.fix_budget, s.fix_budget_window_seconds)
        self.router = Router(self.inventory, aws.account)
        roles = self.inventory.role_index(self.indexed.is_set)
        rules = resolver_for(self.config.current)
        self.evidence = publisher_for(config, aws.own)  # Security Hub findings, or None
        self.tags = TagCache(s.tags_max_age)
        self.reconciler = Reconciler(
            aws,
            rules,
            s.dry_run,
            budget=self.budget,
            role_index=roles,
            verdicts=self.evidence,
            tags=self.tags,
        )
        self.backoff = RetryBackoff()
        self.work: AppQueue = WorkQueue(
            self._reconcile,
            on_done=settle,
            workers=s.workers,
            debounce_seconds=s.debounce_seconds,
            max_pending_keys=s.max_pending_applications,
        )
        self.submit = submitter(self.work)
        self.schedule, self.tasks, self.stopping = Schedule(), Tasks(), threading.Event()
        self.health = HealthServer(s.metrics_host, s.metrics_port)
        self.health.add_readiness("config", lambda: True)  # loaded before start; reloads keep it
        # AWS answers: GetCallerIdentity (free, needs no permission) every few seconds.
        self.aws_reachability = Reachability("aws", READY_PROBE_SECONDS * 4, self._ask_sts)
        self.health.add_readiness("aws", self.aws_reachability.ready)
        self.health.add_liveness("scheduler", lambda: self.schedule.running)
        self.health.add_liveness("not_stopping", lambda: not self.stopping.is_set())
        self.tasks.add("health-server", self.health.start, self.health.stop)

    @property
    def home_region(self) -> str:
        return self.settings.region or self.config.current().regions[0]

    def start(self) -> None:
        self.tasks.start()  # the health server answers probes from here on
        caller = self.aws.identify()
        self.directory.own_account = caller["Account"]
        self._check_accounts(self.directory.refresh())
        self.account = str(caller["Account"])
        self.aws_reachability.record(True)
        self.config.publish()
        s, parts = self.settings, (self.inventory, self.budget, self.submit)
        every, jitter = s.sweep_interval_seconds, s.sweep_jitter_seconds
        accounts = self._refresh_accounts
        sweeper = Sweeper(
            self.aws.account, accounts, self.config.current, *parts, every, self.indexed
        )
        self.schedule.every("sweep", sweeper.sweep, every, jitter=jitter, now=True)
        self.schedule.every("config_reload", self.config.reload_if_changed, s.config_poll_seconds)
        self.schedule.every("deferred_fixes", self._submit_deferred, DEFERRED_CHECK_SECONDS)
        self.schedule.every("aws_probe", self.aws_reachability.check, READY_PROBE_SECONDS)
        self.tasks.add("scheduler", self.schedule.start, self.schedule.stop)
        self._own_arn = str(caller["Arn"])
        if s.queue_url:
            self._add_consumer()
        if self.evidence is not None:
            self._add_evidence(self.evidence, str(caller["Arn"]))
        self.tasks.add("workers", self.work.start, self._drain)
        self.tasks.start()
        log.info(
            "daemon_started",
            account=self.account,
            identity=str(caller["Arn"]),
            dry_run=s.dry_run,
            queue_url=s.queue_url,
            port=self.health.port,
            tasks=list(self.tasks.names()),
        )

    def _check_accounts(self, accounts: tuple[str, ...]) -> None:
        """Every covered account but the credentials' own needs a role to assume."""
        own = self.directory.own_account
        unreachable = [
            a for a, access in self.directory.accesses().items() if a != own and not access.role_arn
        ]
        if unreachable:
            raise errors.SettingsError(
                f"credentials are for account {own}; accounts {unreachable} have no "
                "assume_role (set it at top level or per account)"
            )

    def _refresh_accounts(self) -> tuple[str, ...]:
        """Each sweep: re-read the organisation, and teach intake the member roles."""
        accounts = self.directory.refresh()
        if self.intake is not None:
            self.intake.set_identity(self._own_identity())
        return accounts

    def _own_identity(self) -> OwnIdentity:
        own = OwnIdentity.from_caller_identity(self._own_arn)
        return own.with_roles(a.role_arn for a in self.directory.accesses().values() if a.role_arn)

    def stop(self) -> None:
        """Stop receiving, finish in-flight reconciles within the grace period, release the rest
        (their messages reappear), send the last acknowledgements and stop serving."""
        self.stopping.set()
        log.info("daemon_stopped", tasks=list(self.tasks.stop()))

    def _add_consumer(self) -> None:
        s, home = self.settings, self.aws.region(self.home_region)
        sqs = SqsQueue(home, s.queue_url, s.visibility_timeout_seconds, s.poll_wait_seconds)
        intake = self.intake = Intake(
            self._own_identity(),
            EventIdCache(),
            self.config.current,
            self.directory.accounts,
            dedupe_completed_only=True,
        )
        consumer = EventConsumer(
            sqs, intake, self.router, self.submit, s.dlq_url, s.pollers, self.tags
        )
        poller = Heartbeat(s.poll_wait_seconds * 3 + 60)
        self.health.add_liveness("sqs_poller", poller.fresh)
        self.health.add_readiness("queue", consumer.reachability.ready)
        every = max(1.0, s.visibility_timeout_seconds / 3)
        self.schedule.every("visibility", consumer.extend_visibility, every)
        self.schedule.every("queue_depth", consumer.measure_queues, READY_PROBE_SECONDS, now=True)
        start = lambda: consumer.start(self.stopping, poller.beat)  # noqa: E731
        self.tasks.add("sqs-consumer", start, consumer.stop)

    def _add_evidence(self, evidence: SecurityHubPublisher, own_arn: str) -> None:
        evidence.set_identity(own_arn)
        every = self.config.current().security_hub.flush_interval_seconds
        self.schedule.every("evidence_flush", evidence.flush, every)
        # Stops after the workers drained: the last reconciles' findings are sent too.
        self.tasks.add("evidence", lambda: None, evidence.flush)

    def _ask_sts(self) -> object:
        return self.aws.region(self.home_region).call("sts", "GetCallerIdentity")

    def _submit_deferred(self) -> None:
        """Fixes deferred to a maintenance window: reconcile each app whose window has opened
        (a token-less submit, coalesced with any other work for the app)."""
        for app in self.reconciler.deferred.due():
            try:
                self.work.submit(app)
            except (QueueFull, QueueClosed) as exc:  # the next check tries again
                log.warning("work_refused", app=app.name, reason=str(exc))

    def _drain(self) -> None:
        report = self.work.stop(self.settings.shutdown_grace_seconds)
        log.info("work_drained", drained=report.drained, released=report.abandoned_tokens)

    def _reconcile(self, app: AppRef, items: tuple[Work, ...]) -> bool | Retry:
        result = self.reconciler.reconcile(app, cause_of(items))
        if result.result == "gone":
            self.inventory.forget(app)
        elif result.detail is not None:
            self.inventory.update(app, AppFacts.from_detail(result.detail))
        return self.backoff.after(result)  # done / terminal: settle ok; retry: queued again
