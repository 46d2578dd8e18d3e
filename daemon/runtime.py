"""The long-running daemon: events and sweeps feed one coalescing work queue of applications.

    SQS -> parse -> drop own/duplicate -> route to apps -> work queue -> reconcile -> apply
    sweep (APScheduler) ------------------------------------^

Threads: one SQS poller, the work queue's workers, APScheduler's jobs (sweeps, config reload,
visibility heartbeat, queue depth), the health server. The main thread waits for a signal.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from daemon import errors
from daemon.aws import AwsByRegion
from daemon.desired.config import DesiredConfig
from daemon.evidence.securityhub import publisher_for
from daemon.ingest.consumer import EventConsumer
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Intake
from daemon.ingest.router import Router
from daemon.ingest.sqs import SqsQueue
from daemon.reconcile.budget import FixBudget
from daemon.reconcile.inventory import AppFacts, Inventory, index_applications
from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.rules import resolver_for
from daemon.reconcile.workqueue import QueueClosed, QueueFull, Ticket, WorkQueue
from daemon.runtime_config import ConfigWatcher
from daemon.settings import RunSettings
from daemon.state import AppRef, Cause
from daemon.telemetry import metrics
from daemon.telemetry.server import HealthServer

log = structlog.get_logger(__name__)


class Daemon:
    def __init__(self, settings: RunSettings, config: DesiredConfig, aws: AwsByRegion) -> None:
        self.settings = settings
        self.aws = aws
        self.config = ConfigWatcher(config, settings.config)
        self.inventory = Inventory()
        self.budget = FixBudget(settings.fix_budget, settings.fix_budget_window_seconds)
        self.router = Router(self.inventory, aws.region)
        self._inventory_complete = False  # role rules must not act on a partial index
        self.evidence = publisher_for(config, aws)  # Security Hub findings, or None
        self.reconciler = Reconciler(
            aws,
            resolver_for(self.config.current),
            settings.dry_run,
            guard=self.budget.allow,
            role_index=self.inventory.role_index(lambda: self._inventory_complete),
            verdicts=self.evidence,
        )
        self.work: WorkQueue[AppRef, Ticket[AppRef]] = WorkQueue(
            self._reconcile,
            on_done=lambda app, ticket, ok: ticket.done(app, ok),
            workers=settings.workers,
            debounce_seconds=settings.debounce_seconds,
            max_pending_keys=settings.max_pending_applications,
        )
        self.consumer: EventConsumer | None = None  # created at start, once we know who we are
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.stopping = threading.Event()
        self._causes: dict[AppRef, Cause] = {}
        self._causes_lock = threading.Lock()
        self._beats: dict[str, float] = {}
        self._ready: dict[str, bool] = {
            "config": True,
            "aws": False,
            "queue": not settings.queue_url,
        }
        self.account = ""
        self.health = HealthServer(
            settings.metrics_host, settings.metrics_port, self._liveness, self._readiness
        )

    @property
    def home_region(self) -> str:
        return self.settings.region or self.config.current().regions[0]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.health.start()
        caller = self.aws.region(self.home_region).call("sts", "GetCallerIdentity")
        self.account = str(caller["Account"])
        if self.account not in self.config.current().accounts:
            raise errors.SettingsError(
                f"credentials are for account {self.account}, which the config does not list"
            )
        self._ready["aws"] = True
        self.config.publish()
        self.work.start()
        s = self.settings
        self.scheduler.add_job(
            self.sweep,
            "interval",
            seconds=s.sweep_interval_seconds,
            jitter=s.sweep_jitter_seconds,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            id="sweep",
        )
        self.scheduler.add_job(
            self.config.reload_if_changed, "interval", seconds=s.config_poll_seconds
        )
        if s.queue_url:
            self.consumer = self._consumer(str(caller["Arn"]))
            every = max(1.0, s.visibility_timeout_seconds / 3)
            self.scheduler.add_job(self.consumer.extend_visibility, "interval", seconds=every)
            self.scheduler.add_job(
                self._measure_queues, "interval", seconds=15, next_run_time=datetime.now(UTC)
            )
            self.consumer.start(self.stopping, lambda: self._beat("poller"))
        if self.evidence is not None:
            self.evidence.set_identity(str(caller["Arn"]))
            every_s = self.config.current().security_hub.flush_interval_seconds
            self.scheduler.add_job(self.evidence.flush, "interval", seconds=every_s)
        self.scheduler.start()
        log.info(
            "daemon_started",
            account=self.account,
            identity=str(caller["Arn"]),
            dry_run=s.dry_run,
            queue_url=s.queue_url,
            port=self.health.port,
        )

    def stop(self) -> None:
        """Stop receiving, finish in-flight reconciles within the grace period, release the rest
        (their messages reappear), and stop serving."""
        self.stopping.set()
        report = self.work.stop(self.settings.shutdown_grace_seconds)
        if self.consumer is not None:
            self.consumer.stop()
        self.scheduler.shutdown(wait=False)
        if self.evidence is not None:
            self.evidence.flush()  # what the last reconciles found
        self.health.stop()
        log.info("daemon_stopped", drained=report.drained, released=report.abandoned_tokens)

    def _consumer(self, own_arn: str) -> EventConsumer:
        s = self.settings
        sqs = SqsQueue(
            self.aws.region(self.home_region),
            s.queue_url,
            s.visibility_timeout_seconds,
            s.poll_wait_seconds,
        )
        intake = Intake(
            OwnIdentity.from_caller_identity(own_arn), EventIdCache(), self.config.current
        )
        return EventConsumer(sqs, intake, self.router, self._submit, s.dlq_url)

    def _measure_queues(self) -> None:
        assert self.consumer is not None
        self._ready["queue"] = self.consumer.measure_queues()

    # -- work ---------------------------------------------------------------------------------

    def _submit(self, apps: set[AppRef], cause: Cause, ticket: Ticket[AppRef]) -> None:
        for app in apps:
            with self._causes_lock:
                if cause.trigger == "event" or app not in self._causes:
                    self._causes[app] = cause
            try:
                self.work.submit(app, ticket)
            except (QueueFull, QueueClosed) as exc:
                log.warning("work_refused", app=app.name, reason=str(exc))
                ticket.done(app, False)

    def _reconcile(self, app: AppRef) -> bool:
        with self._causes_lock:
            cause = self._causes.pop(app, Cause("sweep"))
        result = self.reconciler.reconcile(app, cause)
        if result.result == "gone":
            self.inventory.forget(app)
        elif result.detail is not None:
            self.inventory.update(app, AppFacts.from_detail(result.detail))
        return result.result != "error"

    # -- sweeps and periodic jobs -----------------------------------------------------------

    def sweep(self) -> None:
        """Reconcile every application (the level-triggered safety net) and refresh the index."""
        started = time.monotonic()
        done = threading.Event()
        outcome = {"ok": False}

        def settled(ok: bool) -> None:
            outcome["ok"] = ok
            done.set()

        try:
            apps: set[AppRef] = set()
            for region in self.config.current().regions:
                found = index_applications(self.aws, self.account, [region], self.inventory)
                for gone in self.inventory.retain(self.account, region, found):
                    metrics.forget_application(gone)
                metrics.set_application_count(self.account, region, len(found))
                apps.update(found)
            self._inventory_complete = True
            self.budget.expire()
            if apps:
                self._submit(apps, Cause("sweep"), Ticket(apps, settled))
                done.wait(self.settings.sweep_interval_seconds)
            else:
                outcome["ok"] = True
        except errors.AwsError as exc:
            log.error("sweep_failed", error=str(exc))
        metrics.record_sweep(time.monotonic() - started, outcome["ok"])
        log.info(
            "sweep_finished",
            apps=len(self.inventory),
            ok=outcome["ok"],
            seconds=round(time.monotonic() - started, 3),
        )

    # -- health --------------------------------------------------------------------------------

    def _beat(self, loop: str) -> None:
        self._beats[loop] = time.monotonic()

    def _liveness(self) -> tuple[bool, dict[str, object]]:
        now = time.monotonic()
        limit = self.settings.poll_wait_seconds * 3 + 60
        stale = [loop for loop, beat in self._beats.items() if now - beat > limit]
        alive = self.scheduler.running and not stale and not self.stopping.is_set()
        return alive, {"stale_loops": stale, "in_flight": self.work.in_flight()}

    def _readiness(self) -> tuple[bool, dict[str, object]]:
        return all(self._ready.values()), {"checks": dict(self._ready)}
