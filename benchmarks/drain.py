"""The daemon's own SQS drain rate, by number of receive loops (`--pollers`).

`python -m benchmarks.drain --apps 200 --messages 2000`, and a row of `make bench` on its own
FLEET-app sandbox whatever the suite's N: the drain from a full queue does not depend on the
fleet's size, and each of the 12 daemons' first sweep of 5,000 apps took a minute or more.
For each poller count a fresh `flink-remediator run` (its own process) lists the sandbox's apps
(its first sweep); only then is the queue filled with M CloudTrail envelopes naming existing
apps in turn (2,000 on 200 apps: each app 10 times), all at once (put in the in-process
sandbox's queue in one step, not sent over HTTP: in the burst benchmark the sender set the
arrival). The debounce is long, so no reconcile competes with receiving: what is measured is
receive + parse + accept + route + submit, first to last event accepted (the daemon's
`event_received` records), and the ReceiveMessage calls it took (the sandbox's call record),
and the CPU time the daemon and the sandbox (this process) spent meanwhile: which side bounds
the rate. Each run has a queue of its own. Figures only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import burst, fleet
from benchmarks.daemon_waits import gauge, settle
from sandbox.server import Sandbox
from sandbox.testing import client, create_user
from tests.harness import DaemonProcess, Target

POLLERS = (1, 2, 3, 4)
FLEET = 200  # apps in the drain's own sandbox (the suite's too)
REPEAT = 3  # the machine is shared: one run per count is noise
DEBOUNCE = 3600.0  # no reconcile runs while the queue drains
_RUNS = itertools.count(1)


def fill(sandbox: Sandbox, queue_url: str, bodies: list[str]) -> None:
    """Put `bodies` on the queue in one step: built first, then appended under the queue's
    lock, so the daemon's waiting receives see all of them at once."""
    from moto.sqs.models import Message, sqs_backends

    name = queue_url.rsplit("/", 1)[1]
    queue = sqs_backends[sandbox.account_id][sandbox.region].get_queue(name)
    messages = []
    for body in bodies:
        message = Message(str(uuid.uuid4()), body)
        message.mark_sent(delay_seconds=0)
        messages.append(message)
    with queue._messages_lock:
        queue._messages.extend(messages)
        queue._messages_lock.notify_all()


def accepted(daemon: DaemonProcess, skip: int) -> dict[str, float]:
    """Message id -> when the daemon first accepted it (the sandbox's SQS, moto, can hand one
    message to two receives that run at once: the second delivery is not counted)."""
    first: dict[str, float] = {}
    for r in daemon.records()[skip:]:
        if r.get("event") == "event_received" and "timestamp" in r:
            stamp = datetime.fromisoformat(str(r["timestamp"]).replace("Z", "+00:00"))
            first.setdefault(str(r.get("message_id")), stamp.timestamp())
    return first


def run_one(
    sandbox: Sandbox, config: Path, names: list[str], messages: int, pollers: int
) -> dict[str, Any]:
    iam = client(sandbox.endpoint_url, sandbox.region, "iam")
    user = f"flink-remediator-drain-{next(_RUNS)}"  # one principal per daemon run
    keys = create_user(iam, user)
    daemon_arn = iam.get_user(UserName=user)["User"]["Arn"]
    bodies = [burst.synthetic(sandbox, names[i % len(names)]) for i in range(messages)]
    # A queue of its own: a killed daemon's long polls still wait in the sandbox, and would
    # take (and lose) messages from the next run's queue.
    sqs = client(sandbox.endpoint_url, sandbox.region, "sqs")
    queue_url = sqs.create_queue(QueueName=f"flink-remediator-drain-{uuid.uuid4().hex[:8]}")[
        "QueueUrl"
    ]
    target = Target(sandbox.endpoint_url, sandbox.region, queue_url, keys)
    with tempfile.TemporaryDirectory() as folder:
        daemon = DaemonProcess(
            target,
            config,
            Path(folder) / "daemon.log",
            *("--pollers", str(pollers), "--debounce-seconds", str(DEBOUNCE)),
            *("--debounce-max-wait-seconds", str(DEBOUNCE)),
            *("--poll-wait-seconds", "20", "--workers", "8"),
        )
        try:
            listed(daemon, len(names))
            skip = len(daemon.records())
            sandbox.middleware.calls.clear()
            daemon_cpu, own_cpu = cpu_seconds(daemon.process.pid), time.process_time()
            fill(sandbox, queue_url, bodies)
            first = wait_accepted(daemon, skip, messages)
            # Includes the wait for stragglers and the idle probes: an upper bound.
            daemon_cpu = cpu_seconds(daemon.process.pid) - daemon_cpu
            own_cpu = time.process_time() - own_cpu
            events = Counter(str(r.get("event")) for r in daemon.records()[skip:])
            receives = sum(
                1
                for c in sandbox.calls()
                if c.caller_arn == daemon_arn and c.operation == "ReceiveMessage"
            )
        finally:
            # The debounced reconciles and in-flight messages are of no interest: no grace.
            daemon.stop(signal.SIGKILL)
            sqs.delete_queue(QueueUrl=queue_url)
    stamps = sorted(first.values())
    wall = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return {
        "pollers": pollers,
        "accepted": len(stamps),
        "ignored": events["event_ignored"],
        "delivered_twice": events["event_received"] - len(stamps),
        "wall": wall,
        "rate": (len(stamps) - 1) / wall if wall else 0.0,
        "receives": receives,
        "daemon_cpu": daemon_cpu,
        "sandbox_cpu": own_cpu,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listed(daemon: DaemonProcess, apps: int) -> None:
    """Until the first sweep has listed (and described) every app. Its reconciles wait out the
    debounce, and so does the sweep (it waits for them): `sweep_finished` would not come."""
    daemon.until(lambda: gauge(daemon, "flink_remediator_applications") >= apps, "listing", 3600)
    time.sleep(1.0)  # the listing's last records and gauges


def wait_accepted(daemon: DaemonProcess, skip: int, messages: int) -> dict[str, float]:
    """`accepted`, once all `messages` are in or none more came for 10 s (the events-received
    counter is polled first: reading the log is dearer)."""
    settle(lambda: gauge(daemon, "flink_remediator_events_received_total"), messages)
    settle(lambda: len(accepted(daemon, skip)), messages)
    return accepted(daemon, skip)


def run(
    sandbox: Sandbox,
    config: Path,
    names: list[str],
    messages: int,
    pollers: tuple[int, ...] = POLLERS,
    repeat: int = REPEAT,
) -> list[dict[str, Any]]:
    """Every poller count `repeat` times, interleaved (1, 2, 3, 4, 1, 2, ...) so a busy spell
    of the machine does not land on one count only."""
    rows = []
    for _ in range(repeat):
        for count in pollers:
            row = run_one(sandbox, config, names, messages, count)
            print(f"  drain {row}", file=sys.stderr)
            rows.append(row)
    return rows


def print_table(messages: int, apps: int, rows: list[dict[str, Any]]) -> None:
    counts = sorted({r["pollers"] for r in rows})
    runs = {n: [r for r in rows if r["pollers"] == n] for n in counts}
    median = {n: statistics.median(r["rate"] for r in runs[n]) for n in counts}
    print(
        f"\n| drain: {messages} events already queued on {apps} apps (own sandbox), "
        f"{len(runs[counts[0]])} runs each "
        "| events/s, median (runs) | x 1 poller | first to last accepted, median "
        "| ReceiveMessage calls | CPU s, daemon / sandbox (median) |\n|---|---|---|---|---|---|"
    )
    for n in counts:
        rates = ", ".join(f"{r['rate']:.0f}" for r in runs[n])
        short = [r["accepted"] for r in runs[n] if r["accepted"] < messages]
        missing = f" (only {min(short)} accepted)" if short else ""
        wall = statistics.median(r["wall"] for r in runs[n])
        receives = statistics.median(r["receives"] for r in runs[n])
        cpu = [statistics.median(r[k] for r in runs[n]) for k in ("daemon_cpu", "sandbox_cpu")]
        print(
            f"| --pollers {n} | {median[n]:,.0f} ({rates}) | {median[n] / median[counts[0]]:.2f} "
            f"| {wall:.2f} s{missing} | {receives:.0f} | {cpu[0]:.1f} / {cpu[1]:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=FLEET)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--pollers", type=int, nargs="+", default=list(POLLERS))
    parser.add_argument("--repeat", type=int, default=REPEAT)
    args = parser.parse_args()
    with fleet.logging_fleet(args.apps) as (sandbox, names, config):
        rows = run(sandbox, config, names, args.messages, tuple(args.pollers), args.repeat)
    print_table(args.messages, args.apps, rows)


if __name__ == "__main__":
    main()
