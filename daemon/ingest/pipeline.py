"""The daemon's event side as one unit: SQS -> intake (drop malformed, own and duplicate events)
-> router -> work queue, registered on the daemon's tasks, schedule and health server.

The intake recognises the daemon's own events by its identity plus the member roles it assumes;
`refresh_accounts` (each sweep) re-reads the covered accounts and teaches the intake their roles.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from daemon.aws import Aws
from daemon.desired.config import DesiredConfig
from daemon.ingest.consumer import EventConsumer
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.events import Hint
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Intake
from daemon.ingest.router import Router
from daemon.ingest.senders import SenderCheck
from daemon.ingest.sqs import SqsQueue
from daemon.ingest.sweep_queue import QueueSweeps
from daemon.reconcile.accounts import AccountDirectory
from daemon.reconcile.controller import Submit
from daemon.reconcile.tags import TagCache
from daemon.tasks import Schedule, Tasks
from daemon.telemetry.server import HealthServer, Heartbeat


class QueueSettings(Protocol):
    """The run settings the event side reads (daemon.settings.RunSettings has them)."""

    @property
    def queue_url(self) -> str: ...
    @property
    def dlq_url(self) -> str: ...
    @property
    def visibility_timeout_seconds(self) -> int: ...
    @property
    def receive_visibility_seconds(self) -> int: ...
    @property
    def poll_wait_seconds(self) -> int: ...
    @property
    def pollers(self) -> int: ...


class EventPipeline:
    def __init__(
        self,
        home: Aws,
        settings: QueueSettings,
        own_arn: str,
        directory: AccountDirectory,
        config: Callable[[], DesiredConfig],
        router: Router,
        submit: Submit,
        tags: TagCache | None = None,
        sweeps: Callable[[SqsQueue], QueueSweeps] | None = None,
        own_writes: Callable[[Hint, str | bytes], None] | None = None,
        own_user_id: str = "",
    ) -> None:
        self._settings, self._directory = settings, directory
        self._own = OwnIdentity.from_caller_identity(own_arn)  # SettingsError if not a principal
        queue = SqsQueue(
            home,
            settings.queue_url,
            settings.visibility_timeout_seconds,
            settings.poll_wait_seconds,
            settings.receive_visibility_seconds,
        )
        self.intake = Intake(
            self.identity(),
            EventIdCache(),
            config,
            directory.accounts,
            dedupe_completed_only=True,
            own_writes=own_writes,  # the own-credential canary (ingest/own_writes.py)
        )
        # `sweeps` (queue sweeps): the handler of sweep messages received from this queue.
        handler = sweeps(queue) if sweeps is not None else None
        self.consumer = EventConsumer(
            queue,
            self.intake,
            router,
            submit,
            settings.dlq_url,
            settings.pollers,
            tags,
            handler,
            SenderCheck(own_user_id),  # SenderId: GetCallerIdentity's UserId (AROA...:session)
        )
        # Live while receives keep returning: a long poll takes at most poll_wait_seconds.
        self.poller = Heartbeat(settings.poll_wait_seconds * 3 + 60)

    def identity(self) -> OwnIdentity:
        """The daemon's principal, acting also as the role it assumes in each covered account."""
        return self._own.with_roles(self._directory.role_arns())

    def refresh_accounts(self) -> tuple[str, ...]:
        """Each sweep: re-read the organisation, and teach the intake the member roles."""
        accounts = self._directory.refresh()
        self.intake.set_identity(self.identity())
        return accounts

    def register(
        self,
        tasks: Tasks,
        schedule: Schedule,
        health: HealthServer,
        stopping: threading.Event,
        probe_seconds: float,
    ) -> None:
        """The poller's liveness, the queue's readiness (depth read every `probe_seconds`),
        visibility heartbeats for in-flight messages, and the consumer task (polls until
        `stopping`; its stop sends the last acknowledgements)."""
        consumer, poller = self.consumer, self.poller
        health.add_liveness("sqs_poller", poller.fresh)
        health.add_readiness("queue", consumer.reachability.ready)
        # Each beat extends what would run out before the beat after next (SqsQueue).
        every = max(1.0, consumer.sqs.receive_visibility / 3)
        schedule.every("visibility", consumer.extend_visibility, every)
        schedule.every("queue_depth", consumer.measure_queues, probe_seconds, now=True)
        start = lambda: consumer.start(stopping, poller.beat)  # noqa: E731
        tasks.add("sqs-consumer", start, consumer.stop)
