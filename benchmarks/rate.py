"""The daemon's rate limits under a full resync: `python -m benchmarks.rate --apps 500`.

An in-process sandbox seeded with N apps (benchmarks/fleet.py `seed_in_process`); the daemon
(its own process, logging-only config) starts, and its first sweep (a full resync: every app
described, its log stream read) runs at `--rate` requests per second for Managed Flink and
CloudWatch Logs (on at most PACED_APPS apps: the rate is per second, a bigger fleet only takes
longer). From the sandbox's call record: the calls per family, the sweep's wall, and
the most calls in any one-second window (the limiter sends at most rate + 1) and in any five
(per second). The record's times are when the sandbox answered: its queueing (one process, two
shared cores) bunches calls the daemon spaced evenly, so a one-second window can show a few
more than were sent in it; the five-second figure shows the sustained rate. Then the same with AWS
throttling one DescribeApplication in `--throttle-every`: the limiter halves its rate on each
throttle and regains it slowly, so fewer describes per second reach AWS (AIMD, measured).
Last, the steady state, on all N apps seeded without drift (so the resync fixes nothing and
the fleet is unchanged after it): the daemon's second sweep (list pages and batched side reads;
no app described) against its first (the full resync, the per-app floor's calls): calls and
wall of each, at the same rates. Figures only; nothing asserts speed.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import fleet
from sandbox.faults import parse_rules
from sandbox.server import Sandbox
from sandbox.testing import client, create_user
from tests.harness import DaemonProcess, Target

FAMILIES = {"kinesisanalytics": "kinesisanalyticsv2", "logs": "logs"}
PACED_APPS = 500


def most_in_window(times: list[float], seconds: float = 1.0) -> int:
    """The most timestamps in any window [t, t + seconds)."""
    times, best, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def resync(sandbox: Sandbox, config: Path, folder: Path, rate: float, faults: list[Any]) -> Any:
    user = f"flink-remediator-rate-{len(faults)}"
    keys = create_user(client(sandbox.endpoint_url, sandbox.region, "iam"), user)
    sandbox.middleware.calls.clear()
    sandbox.faults.install(parse_rules(faults, time.time()))
    limits = ",".join(f"{family}={rate}" for family in FAMILIES.values())
    log = folder / f"daemon-{len(faults)}.log"
    daemon = DaemonProcess(Target.of(sandbox, keys), config, log, "--rate-limits", limits)
    try:
        started = time.perf_counter()
        daemon.wait_for("sweep_finished", timeout=7200)
        wall = time.perf_counter() - started
    finally:
        daemon.stop()
    sandbox.faults.clear()
    figures: dict[str, Any] = {"wall": round(wall, 2), "rate": rate}
    for service in FAMILIES:
        records = [c for c in sandbox.calls() if c.service == service]
        served = [datetime.fromisoformat(c.time).timestamp() for c in records]
        span = max(served) - min(served) if served else 0.0
        figures[service] = {
            "calls": len(served),
            "seconds": round(span, 1),
            "per_second": round(len(served) / span, 2) if span else 0.0,
            "max_in_1s": most_in_window(served),
            "max_in_5s_per_s": round(most_in_window(served, 5.0) / 5, 1),
        }
    figures["throttled"] = sum(i["count"] for i in sandbox.faults.report()["injected"])
    return figures


def quiet(sandbox: Sandbox, seconds: float = 3.0) -> float:
    """Wait until the sandbox served no sweep call for `seconds`; returns about when the last
    one was."""
    while True:
        count = len(served(sandbox))
        time.sleep(seconds)
        if len(served(sandbox)) == count:
            return time.perf_counter() - seconds


def served(sandbox: Sandbox) -> list[str]:
    """The calls of the sweep and its reconciles (the SQS polls and STS never stop)."""
    return [
        f"{c.service}:{c.operation}" for c in sandbox.calls() if c.service not in ("sqs", "sts")
    ]


def steady(sandbox: Sandbox, config: Path, folder: Path, rate: float, apps: int) -> dict[str, Any]:
    """The first sweep (full resync) and the second (nothing changed), each until its
    reconciles are done: calls and seconds. A sweep hands its apps to the work queue and
    finishes; their paced reconciles end later."""
    keys = create_user(client(sandbox.endpoint_url, sandbox.region, "iam"), "fr-rate-steady")
    limits = ",".join(f"{family}={rate}" for family in FAMILIES.values())
    interval = str(30 + 3 * apps / rate)  # the resync's reconciles end before the next sweep
    args = ("--rate-limits", limits, "--sweep-interval-seconds", interval)
    sandbox.middleware.calls.clear()
    daemon = DaemonProcess(
        Target.of(sandbox, keys),
        config,
        folder / "steady.log",
        *args,
        "--sweep-jitter-seconds",
        "0",
    )
    figures: dict[str, Any] = {}
    try:
        began = time.perf_counter()
        daemon.wait_for("sweep_finished", timeout=7200)
        ended = quiet(sandbox)
        assert len(daemon.events("sweep_finished")) == 1, "raise the interval"
        counts = Counter(served(sandbox))
        figures["resync"] = {"seconds": ended - began, "calls": dict(counts)}
        sandbox.middleware.calls.clear()
        daemon.until(lambda: daemon.events("sweep_finished")[1:], "second sweep", 7200)
        began = time.perf_counter() - daemon.events("sweep_finished")[1]["seconds"]
        ended = quiet(sandbox)
        counts = Counter(served(sandbox))
        figures["unchanged"] = {"seconds": max(ended - began, 0.0), "calls": dict(counts)}
    finally:
        daemon.stop()
    return figures


def measure(apps: int, rate: float, throttle_every: int) -> dict[str, Any]:
    throttle = {
        "kind": "throttle",
        "service": "kinesisanalytics",
        "operation": "DescribeApplication",
        "every": throttle_every,
    }
    # The pacing is per second: PACED_APPS show it as well as more would (at 5,000 apps the
    # throttled resync alone would take ~30 min); the steady state is measured on all N.
    paced_apps = min(apps, PACED_APPS)
    with fleet.logging_fleet(paced_apps) as (sandbox, _, config):
        folder = config.parent
        figures: dict[str, Any] = {
            "apps": apps,
            "paced_apps": paced_apps,
            "paced": resync(sandbox, config, folder, rate, []),
            "throttled": resync(sandbox, config, folder, rate, [throttle]),
        }
    # No drift: the resync's fixes would change 1 app in 10 (new version ids), and the second
    # sweep would describe those again: it would not be a sweep of an unchanged fleet.
    with fleet.logging_fleet(apps, drift=False) as (sandbox, _, config):
        figures["steady"] = steady(sandbox, config, config.parent, rate, apps)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0, help="per family, requests/s")
    parser.add_argument("--throttle-every", type=int, default=10)
    args = parser.parse_args()
    figures = measure(args.apps, args.rate, args.throttle_every)
    for phase in ("paced", "throttled"):
        row = figures[phase]
        print(f"{phase}: full resync of {figures['paced_apps']} apps at --rate-limits "
              f"{args.rate}/s: "
              f"{row['wall']} s, {row['throttled']} throttled")  # fmt: skip
        for service in FAMILIES:
            f = row[service]
            print(f"  {service}: {f['calls']} calls in {f['seconds']} s = {f['per_second']}/s, "
                  f"most in any 1 s: {f['max_in_1s']}, in any 5 s: {f['max_in_5s_per_s']}/s "
                  f"(limit {args.rate:g} + 1)")  # fmt: skip
    for sweep, row in figures["steady"].items():
        calls = row["calls"]
        print(f"{sweep} sweep and its reconciles: {row['seconds']:.1f} s, "
              f"{sum(calls.values())} calls (SQS, STS excluded): {calls}")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
