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
from daemon.apply.audit import Cause
from daemon.desired.config import DesiredConfig
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Ignored, Intake
from daemon.ingest.router import Router
from daemon.ingest.sqs import Message, SqsQueue, poll_forever
from daemon.reconcile.budget import FixBudget
from daemon.reconcile.fleet import AwsByRegion
from daemon.reconcile.inventory import AppFacts, Inventory, index_applications
from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.rules import resolver_for
from daemon.reconcile.workqueue import QueueClosed, QueueFull, Ticket, WorkQueue
from daemon.runtime_config import ConfigWatcher
from daemon.settings import RunSettings
from daemon.state import AppRef
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
        self.reconciler = Reconciler(
            aws,
            resolver_for(self.config.current),
            settings.dry_run,
            guard=self.budget.allow,
            role_index=self.inventory.role_index(lambda: self._inventory_complete),
        )
        self.work: WorkQueue[AppRef, Ticket[AppRef]] = WorkQueue(
            self._reconcile,
            on_done=lambda app, ticket, ok: ticket.done(app, ok),
            workers=settings.workers,
            debounce_seconds=settings.debounce_seconds,
            max_pending_keys=settings.max_pending_applications,
        )
        self.sqs = (
            SqsQueue(
                aws.region(self.home_region),
                settings.queue_url,
                settings.visibility_timeout_seconds,
                settings.poll_wait_seconds,
            )
            if settings.queue_url
            else None
        )
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.stopping = threading.Event()
        # Acknowledgements outlive `stopping`: in-flight reconciles finish during the grace.
        self._deleter_done = threading.Event()
        self._deleter = threading.Thread(
            target=self.sqs.flush_deletes if self.sqs else lambda _: None,
            args=(self._deleter_done,),
            name="sqs-deleter",
        )
        self._causes: dict[AppRef, Cause] = {}
        self._causes_lock = threading.Lock()
        self._beats: dict[str, float] = {}
        self._ready: dict[str, bool] = {"config": True, "aws": False, "queue": self.sqs is None}
        self.intake: Intake | None = None
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
        self.intake = Intake(
            OwnIdentity.from_caller_identity(str(caller["Arn"])),
            EventIdCache(),
            self.config.current,
        )
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
        if self.sqs is not None:
            every = max(1.0, s.visibility_timeout_seconds / 3)
            self.scheduler.add_job(self._extend_visibility, "interval", seconds=every)
            self.scheduler.add_job(
                self._measure_queues, "interval", seconds=15, next_run_time=datetime.now(UTC)
            )
            self._deleter.start()
            threading.Thread(
                target=poll_forever,
                args=(self.sqs, self.handle, self.stopping, lambda: self._beat("poller")),
                name="sqs-poller",
                daemon=True,
            ).start()
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
        self._deleter_done.set()
        if self._deleter.is_alive():
            self._deleter.join(timeout=10)
        self.scheduler.shutdown(wait=False)
        self.health.stop()
        log.info("daemon_stopped", drained=report.drained, released=report.abandoned_tokens)

    # -- events ------------------------------------------------------------------------------

    def handle(self, message: Message) -> None:
        assert self.sqs is not None and self.intake is not None
        bound = log.bind(message_id=message.message_id)
        hint = self.intake.accept(message.body)
        if isinstance(hint, Ignored):
            bound.info("event_ignored", reason=hint.reason, detail=hint.detail)
            self.sqs.delete(message)
            return
        bound = bound.bind(event_id=hint.event_id, event_name=hint.event_name, actor=hint.actor)
        try:
            apps = self.router.apps_for(hint)
        except errors.AwsError as exc:
            bound.warning("event_routing_failed", error=str(exc))
            self.intake.retry_later(hint)
            self.sqs.release(message)
            return
        if not apps:
            metrics.count_event_ignored("no_application")
            bound.info("event_ignored", reason="no_application")
            self.sqs.delete(message)
            return
        bound.info("event_received", apps=sorted(a.name for a in apps))

        def settled(ok: bool) -> None:
            assert self.sqs is not None and self.intake is not None
            if ok:
                self.sqs.delete(message)
            else:
                self.intake.retry_later(hint)  # the redelivery must not look like a duplicate
                self.sqs.release(message)

        self._submit(apps, Cause("event", hint.event_id, hint.actor), Ticket(apps, settled))

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

    def _extend_visibility(self) -> None:
        assert self.sqs is not None
        try:
            self.sqs.extend_visibility()
        except errors.AwsError as exc:
            log.warning("visibility_extension_failed", error=str(exc))

    def _measure_queues(self) -> None:
        assert self.sqs is not None
        try:
            metrics.set_queue_depth("events", self.sqs.depth())
            dlq = self.settings.dlq_url or self.sqs.dead_letter_url()
            if dlq:
                metrics.set_queue_depth("dlq", self.sqs.depth(dlq))
            self._ready["queue"] = True
        except errors.AwsError as exc:
            self._ready["queue"] = False
            log.warning("queue_unreachable", error=str(exc))

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
