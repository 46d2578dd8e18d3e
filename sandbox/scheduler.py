"""EventBridge Scheduler, fired: moto stores schedules (CreateSchedule, GetSchedule ...) but never
invokes them. `Schedules.pump` does, on the sandbox clock (POST /_sandbox/clock moves it), for
templated Amazon SQS targets: it sends the target's Input to the queue, as SendMessage would.

What AWS documents, and what is modelled:
- Rate expressions `rate(value unit)`, unit minute(s) | hour(s) | day(s); a rate schedule runs
  from its StartDate, else from when it was created (here: when the sandbox first sees it), one
  invocation per period. One-time `at(yyyy-mm-ddThh:mm:ss)` in ScheduleExpressionTimezone (UTC
  only here). cron expressions are not modelled (logged once, never fired).
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
- The templated SQS target sends `Input` as the message body with the schedule's execution role
  (RoleArn), which needs sqs:SendMessage on the queue; State DISABLED schedules do not run.
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html
  https://docs.aws.amazon.com/scheduler/latest/APIReference/API_Target.html
- FlexibleTimeWindow FLEXIBLE with MaximumWindowInMinutes M: each invocation happens at some
  point within M minutes after its scheduled time (here: a seeded random point, so a consumer
  cannot rely on exact times); OFF: at the scheduled time.
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-flexible-time-windows.html
- Missed invocations (the clock advanced several periods at once) are each delivered, up to
  MAX_CATCH_UP per pump, as AWS would have made them one by one.
- Not modelled: the execution role's permission check, retries and the schedule's DLQ, KMS.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from sandbox.eventbridge import SCHEDULER_ROLE  # the name the queue policy lets send
from sandbox.pump_thread import PumpThread

log = logging.getLogger("sandbox")
MAX_CATCH_UP = 10
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_AT = re.compile(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def period_seconds(expression: str) -> float | None:
    """The period of a rate expression; None for anything else."""
    match = _RATE.fullmatch(expression.strip())
    if not match:
        return None
    return int(match[1]) * _UNIT_SECONDS[match[2].rstrip("s")]


def _at(expression: str) -> float | None:
    match = _AT.fullmatch(expression.strip())
    return datetime.fromisoformat(match[1]).replace(tzinfo=UTC).timestamp() if match else None


def _all_schedules() -> Iterator[Any]:
    from moto.scheduler.models import scheduler_backends

    for regions in list(scheduler_backends.values()):
        for backend in list(regions.values()):
            for group in list(backend.schedule_groups.values()):
                yield from list(group.schedules.values())


def send_to_queue(target_arn: str, body: str) -> bool:
    """SendMessage of a templated target; False if the target is not an existing queue."""
    from moto.sqs.models import sqs_backends

    parts = target_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return False
    try:
        sqs_backends[parts[4]][parts[3]].send_message(queue_name=parts[5], message_body=body)
    except Exception:
        return False
    return True


class Schedules(PumpThread):
    thread_name = "sandbox-scheduler"
    poll_seconds = 0.5

    def __init__(
        self, clock: Callable[[], float], send: Callable[[str, str], bool] = send_to_queue
    ) -> None:
        super().__init__()
        self._clock, self._send = clock, send
        # schedule ARN -> (nominal time of its next invocation, when it happens: + the window)
        self._due: dict[str, tuple[float, float]] = {}
        self._fired: dict[str, int] = {}
        self._told: set[str] = set()
        self._random = random.Random(0)
        self._lock = threading.Lock()

    def pump(self) -> int:
        """Invoke every schedule due by now; the number of messages sent."""
        sent = 0
        with self._lock:
            now = self._clock()
            for schedule in _all_schedules():
                sent += self._invoke(schedule, now)
        return sent

    def fired(self) -> dict[str, int]:
        with self._lock:
            return dict(self._fired)

    def _invoke(self, schedule: Any, now: float) -> int:
        arn, expression = schedule.arn, schedule.schedule_expression
        if schedule.state != "ENABLED":
            return 0
        period, once = period_seconds(expression), _at(expression)
        if period is None and once is None:
            if arn not in self._told:
                self._told.add(arn)
                log.warning("sandbox_schedule_not_modelled arn=%s expression=%s", arn, expression)
            return 0
        if arn not in self._due:
            start = _start(schedule.start_date) or now
            nominal = once if once is not None else start + (period or 0.0)
            self._due[arn] = (nominal, nominal + self._delay(schedule))
        sent = 0
        while self._due[arn][1] <= now and sent < MAX_CATCH_UP:
            if self._send(
                str(schedule.target.get("Arn", "")), str(schedule.target.get("Input", ""))
            ):
                self._fired[arn] = self._fired.get(arn, 0) + 1
                sent += 1
            if period is None:  # one-time: done
                self._due[arn] = (float("inf"), float("inf"))
                break
            nominal = self._due[arn][0] + period
            self._due[arn] = (nominal, nominal + self._delay(schedule))
        return sent

    def _delay(self, schedule: Any) -> float:
        window = schedule.flexible_time_window or {}
        if window.get("Mode") != "FLEXIBLE":
            return 0.0
        return self._random.uniform(0, float(window.get("MaximumWindowInMinutes", 0)) * 60)

    def clear(self) -> None:
        with self._lock:
            self._due.clear()
            self._fired.clear()
            self._told.clear()
            self._random = random.Random(0)


def _start(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return None


def sweep_tick_input(account: str, region: str) -> str:
    """The sweep tick a schedule puts on the daemon's queue: the daemon's format
    (daemon/ingest/sweep_messages.py; tests/unit/test_sweep_messages.py keeps them equal)."""
    return json.dumps(
        {"flink_remediator": "sweep_tick", "version": 1, "account": account, "region": region}
    )


def create_sweep_schedules(
    client: Callable[[str], Any], queue_arn: str, places: list[tuple[str, str]], minutes: int
) -> list[str]:
    """As deploy/cloudformation/hub.yaml and sweep-schedule.yaml do: a role EventBridge
    Scheduler assumes that may only sqs:SendMessage to the queue, and one rate schedule per
    (account, region) sending its sweep tick. `client(service)` makes a boto3 client."""
    iam = client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=SCHEDULER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    send = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}
    iam.put_role_policy(
        RoleName=SCHEDULER_ROLE,
        PolicyName="send-sweep-ticks",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [send]}),
    )
    scheduler, names = client("scheduler"), []
    for account, region in places:
        name = f"flink-remediator-sweep-{account}-{region}"
        scheduler.create_schedule(
            Name=name,
            ScheduleExpression=f"rate({minutes} minutes)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": queue_arn,
                "RoleArn": role["Role"]["Arn"],
                "Input": sweep_tick_input(account, region),
            },
        )
        names.append(name)
    return names
