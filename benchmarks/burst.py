"""The daemon under a burst: `flink-remediator run` (its own process) against the sandbox.

After its first sweep (timed, with the daemon's RSS at that inventory), 20 apps are made to
drift by real UpdateApplication calls and 980 more CloudTrail envelopes naming the same 20 apps
are put on the queue at once (SendMessageBatch from a few threads): 1,000 events on 20 apps.
Counted when the daemon is quiet: reconciles by trigger (its metrics) and Managed Flink calls
by the daemon's principal (the sandbox's call record). `run` takes the debounce: the suite runs
it at the daemon's default and again with one that covers the arrival it measured.
"""

from __future__ import annotations

import itertools
import json
import math
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.daemon_waits import quiet, settle
from daemon.rate_limits import DEFAULT_RATES, OTHER_RATE
from daemon.settings import RunSettings
from sandbox.cloudtrail import ApiCall, envelope, record
from sandbox.server import Sandbox
from sandbox.testing import client, create_user
from tests.harness import DaemonProcess, Target

APPS, EVENTS = 20, 1000
# The burst's own fleet, whatever the suite's N: the burst names 20 apps, and the daemon's first
# sweep at the default rate limits (2.5 DescribeLogStreams/s) takes ~40 s here, 33 min at 5,000.
FLEET = 100
# The daemon's defaults, spelled out: the e2e harness turns client-side rate limits off.
DEFAULT_LIMITS = ",".join(f"{f}={r:g}" for f, r in {**DEFAULT_RATES, "*": OTHER_RATE}.items())
DEFAULT_DEBOUNCE = RunSettings.debounce_seconds  # the daemon's --debounce-seconds default
DEFAULT_MAX_WAIT = RunSettings.debounce_max_wait_seconds
SENDERS = 4  # threads putting the burst on the queue
RECEIVED = "flink_remediator_events_received_total"
_RUNS = itertools.count(1)
IDENTITY = {
    "type": "IAMUser",
    "arn": "arn:aws:iam::123456789012:user/burst",
    "accountId": "123456789012",
}


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def synthetic(sandbox: Sandbox, name: str) -> str:
    call = ApiCall(
        "kinesisanalytics",
        "UpdateApplication",
        sandbox.region,
        None,
        "10.0.0.1",
        "bench",
        {"ApplicationName": name},
        None,
    )
    detail = record(call, IDENTITY, sandbox.account_id)
    return json.dumps(envelope(call, detail, sandbox.account_id))


def covering(arrival: float) -> float:
    """A debounce that covers a burst arriving over `arrival` seconds, with a margin (the
    next run's arrival differs a little)."""
    return float(max(DEFAULT_DEBOUNCE, math.ceil(arrival * 1.5 + 0.5)))


def max_wait(debounce: float) -> float:
    """The daemon's default maximum wait, or twice a longer debounce: a covering debounce is
    over 1.5 x the arrival, so its trailing window (last event + debounce) ends before the cap
    (the daemon refuses a debounce over the maximum wait)."""
    return max(DEFAULT_MAX_WAIT, 2 * debounce)


def run(
    sandbox: Sandbox, config: Path, names: list[str], debounce: float = DEFAULT_DEBOUNCE
) -> dict[str, Any]:
    iam = client(sandbox.endpoint_url, sandbox.region, "iam")
    user = f"flink-remediator-bench-{next(_RUNS)}"  # one principal per daemon run
    keys = create_user(iam, user)
    daemon_arn = iam.get_user(UserName=user)["User"]["Arn"]
    with tempfile.TemporaryDirectory() as folder:
        daemon = DaemonProcess(
            Target.of(sandbox, keys),
            config,
            Path(folder) / "daemon.log",
            "--debounce-seconds",
            str(debounce),
            "--debounce-max-wait-seconds",
            str(max_wait(debounce)),
            "--workers",
            "8",
            "--rate-limits",
            DEFAULT_LIMITS,
        )
        try:
            started = time.perf_counter()
            daemon.wait_for("sweep_finished", timeout=3600)
            sweep = time.perf_counter() - started
            rss_after_sweep = rss_mb(daemon.process.pid, "VmRSS")
            quiet(daemon, 2.0, 600)
            before = daemon.metric("flink_remediator_reconciles_total", trigger="event")
            received = daemon.metric(RECEIVED)
            sandbox.middleware.calls.clear()
            before_records = len(daemon.records())
            bodies = [synthetic(sandbox, names[i % APPS]) for i in range(EVENTS - APPS)]
            began = time.perf_counter()
            drift(sandbox, names[:APPS])
            send_wall = send(sandbox, bodies)
            # The whole burst in first: a covering debounce's windows end a debounce after the
            # last event, which a loaded machine delivers well after the send returned.
            settle(lambda: daemon.metric(RECEIVED) - received, EVENTS)
            # Quiet for longer than a debounce window: no reconcile may still be due.
            still = max(5.0, debounce + 3.0)
            quiet(daemon, still, 600)
            settled = time.perf_counter() - began - still
            reconciles = daemon.metric("flink_remediator_reconciles_total", trigger="event")
            calls = Counter(
                c.operation
                for c in sandbox.calls()
                if c.caller_arn == daemon_arn and c.service == "kinesisanalytics"
            )
            hwm = rss_mb(daemon.process.pid)
            spread = arrival_spread(daemon, before_records)
            lone = lone_event(sandbox, daemon_arn, names[APPS + 1], debounce)
        finally:
            daemon.stop()
    return {
        "sweep_wall": sweep,
        "rss_after_sweep_mb": rss_after_sweep,
        "rss_peak_mb": hwm,
        "burst_wall": settled,
        "reconciles": reconciles - before,
        "flink_calls": dict(calls),
        "arrival_spread": spread,
        "send_wall": send_wall,
        "debounce": debounce,
        "max_wait": max_wait(debounce),
        "lone": lone,
    }


def lone_event(sandbox: Sandbox, daemon_arn: str, name: str, debounce: float) -> dict[str, float]:
    """After the burst: one drift on one more app (its one event goes on the queue inside the
    UpdateApplication call); seconds from then to the daemon's fixing UpdateApplication (the
    sandbox's call record), and that reconcile's own span (its DescribeApplication to its fix)."""
    sandbox.middleware.calls.clear()
    drift(sandbox, [name])
    put = time.time()

    def served(operation: str) -> list[float]:
        return [
            datetime.fromisoformat(c.time).timestamp()
            for c in sandbox.calls()
            if c.caller_arn == daemon_arn and c.application == name and c.operation == operation
        ]

    deadline = time.monotonic() + 60
    while not served("UpdateApplication") and time.monotonic() < deadline:
        time.sleep(0.05)
    fixed = min(served("UpdateApplication"), default=float("nan"))
    described = max((t for t in served("DescribeApplication") if t <= fixed), default=fixed)
    return {"to_fix": fixed - put, "reconcile": fixed - described, "debounce": debounce}


def send(sandbox: Sandbox, bodies: list[str]) -> float:
    """Put `bodies` on the queue, ten per SendMessageBatch from SENDERS threads; seconds."""
    sqs = client(sandbox.endpoint_url, sandbox.region, "sqs")
    batches = [
        [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies[i : i + 10])]
        for i in range(0, len(bodies), 10)
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(
            pool.map(
                lambda e: sqs.send_message_batch(QueueUrl=sandbox.queue_url, Entries=e), batches
            )
        )
    return time.perf_counter() - started


def arrival_spread(daemon: DaemonProcess, skip: int) -> float:
    """Seconds between the first and the last burst event the daemon accepted: how long the
    burst took to arrive through SQS (the work queue's bound covers debounce + one run)."""
    stamps = [
        datetime.fromisoformat(str(r["timestamp"]).replace("Z", "+00:00")).timestamp()
        for r in daemon.records()[skip:]
        if r.get("event") == "event_received" and "timestamp" in r
    ]
    return max(stamps) - min(stamps) if stamps else 0.0


def drift(sandbox: Sandbox, names: list[str]) -> None:
    flink = client(sandbox.endpoint_url, sandbox.region, "kinesisanalyticsv2")
    for name in names:
        version = flink.describe_application(ApplicationName=name)["ApplicationDetail"][
            "ApplicationVersionId"
        ]
        flink.update_application(
            ApplicationName=name,
            CurrentApplicationVersionId=version,
            ApplicationConfigurationUpdate={
                "FlinkApplicationConfigurationUpdate": {
                    "MonitoringConfigurationUpdate": {
                        "ConfigurationTypeUpdate": "CUSTOM",
                        "LogLevelUpdate": "WARN",
                    }
                }
            },
        )


def main() -> None:
    """`python -m benchmarks.burst --apps 500`: the burst alone, at the daemon's default
    settings (debounce, maximum wait, rate limits), on an in-process fleet (fleet.py)."""
    import argparse
    from collections.abc import Callable

    from benchmarks import fleet

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--apps", type=int, default=FLEET)
    args = parser.parse_args()
    with fleet.logging_fleet(args.apps) as (sandbox, names, config):
        figures = run(sandbox, config, names)
    per_app: Callable[[float], str] = lambda n: f"{n:.0f} ({n / APPS:.2f} per app)"  # noqa: E731
    print(f"first sweep of {args.apps} apps (full resync, default rate limits): "
          f"{figures['sweep_wall']:.1f} s")  # fmt: skip
    print(f"burst: {EVENTS} events on {APPS} apps put on the queue in {figures['send_wall']:.1f}"
          f" s, arrived over {figures['arrival_spread']:.1f} s, settled in "
          f"{figures['burst_wall']:.1f} s; reconciles {per_app(figures['reconciles'])}; "
          f"Flink calls {figures['flink_calls']}")  # fmt: skip
    lone = figures["lone"]
    print(f"lone event after the burst: fixed {lone['to_fix']:.2f} s after its event was put on "
          f"the queue; debounce {lone['debounce']:g} s + its reconcile (describe to fix) "
          f"{lone['reconcile']:.2f} s = {lone['debounce'] + lone['reconcile']:.2f} s")  # fmt: skip
    print(json.dumps({"apps": args.apps, **figures}))


if __name__ == "__main__":
    main()
