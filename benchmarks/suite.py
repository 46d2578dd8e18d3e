"""The benchmark suite: `make bench` (N=500 apps by default, `make bench N=5000`).

One in-process sandbox is seeded with N apps (benchmarks/fleet.py), then, side by side in one
run: the bare-boto3 floor, `plan` and `apply` (logging-only config, each its own process), the
daemon's first sweep and a burst of 1,000 events on 20 apps and a lone event after it, at every
default, on the burst's own 100-app fleet (benchmarks/burst.py), the daemon's drain rate from a
full queue by number of receive loops, on the drain's own 200-app fleet (benchmarks/drain.py),
and route throughput over an N-app inventory (benchmarks/route.py). Prints one table of ratios
to the floor: wall, calls by operation (the sandbox's own call record), max RSS. Figures only:
nothing here asserts speed (docs/performance.md says how to read them).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks import burst, drain, fleet, route
from sandbox.server import Sandbox

WORKERS = 8
DRAIN_MESSAGES = 2000


def child(sandbox: Sandbox, *argv: str) -> dict[str, Any]:
    """Run `python -m <argv>` against the sandbox; its last stdout line (JSON figures)."""
    env = fleet.client_env(sandbox)
    done = subprocess.run(
        [sys.executable, "-m", *argv], env=env, capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{argv[0]} printed nothing: {done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def counted(sandbox: Sandbox, step: Any) -> tuple[dict[str, Any], Counter[str]]:
    sandbox.middleware.calls.clear()
    figures = step()
    print(f"  {figures}", file=sys.stderr)
    calls = Counter(f"{c.service}:{c.operation}" for c in sandbox.calls() if c.service != "sts")
    return figures, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=500)
    parser.add_argument("--skip-burst", action="store_true", help="no daemon sweep and burst")
    args = parser.parse_args()
    sandbox = Sandbox(port=0).start()
    try:
        rows = run(sandbox, args.apps, not args.skip_burst)
    finally:
        sandbox.stop()
    print_table(args.apps, rows)


def run(sandbox: Sandbox, apps: int, with_burst: bool) -> dict[str, Any]:
    began = time.perf_counter()
    # Through the sandbox's own backends: the same state as over HTTP, seconds instead of the
    # ~11 min the HTTP seeding took at 5,000 apps.
    names = fleet.seed_in_process(sandbox, apps)
    print(f"seeded {len(names)} apps in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "desired.yaml"
        config.write_text(fleet.logging_only_config(sandbox.account_id, sandbox.region))
        cli = ("benchmarks.measured",)
        common = ("--config", str(config), "--workers", str(WORKERS), "--output", "json")
        rows: dict[str, Any] = {}
        rows["floor"] = counted(
            sandbox, lambda: child(sandbox, "benchmarks.floor", sandbox.region, str(WORKERS))
        )
        rows["plan"] = counted(sandbox, lambda: child(sandbox, *cli, "plan", *common))
        rows["apply"] = counted(sandbox, lambda: child(sandbox, *cli, "apply", *common))
        rows["plan again"] = counted(sandbox, lambda: child(sandbox, *cli, "plan", *common))
        if with_burst:
            # At the daemon's default debounce, then at one covering the arrival just measured
            # (the coalescing bound's condition, docs/performance.md): both are printed.
            # On the burst's own fleet (burst.FLEET apps) at every default, rate limits included.
            with fleet.logging_fleet(burst.FLEET) as (own, own_names, own_config):
                rows["daemon"] = burst.run(own, own_config, own_names)
                wide = burst.covering(rows["daemon"]["arrival_spread"])
                rows["daemon covering"] = burst.run(own, own_config, own_names, wide)
            # The daemon's own drain rate by --pollers: the queue full before it receives. On
            # its own small fleet (drain.FLEET apps): a full queue drains alike whatever N, and
            # each of its 12 daemons would first sweep all N apps.
            with fleet.logging_fleet(drain.FLEET) as (own, own_names, own_config):
                rows["drain"] = drain.run(own, own_config, own_names, DRAIN_MESSAGES)
    rows["route"] = route.throughput(apps)
    return rows


def _reads(run: dict[str, Any]) -> tuple[int, int, int]:
    """(DescribeApplication, ListTagsForResource, fix calls) of one burst run: a fix is its
    write and the DescribeApplicationOperation that confirms it."""
    flink = run["flink_calls"]
    describes = flink.get("DescribeApplication", 0)
    tags = flink.get("ListTagsForResource", 0)
    return describes, tags, sum(flink.values()) - describes - tags


def _flink(run: dict[str, Any]) -> str:
    describes, tags, writes = _reads(run)
    goal = run["reconciles"] + writes
    total = describes + tags + writes
    return f"{total} / {goal:.0f} = {total / max(goal, 1):.2f}x (tag reads {tags})"


BURST_ROWS: tuple[tuple[str, Any], ...] = (
    ("debounce / maximum wait", lambda r: f"{r['debounce']:.1f} s / {r['max_wait']:.0f} s"),
    ("burst put on the queue in", lambda r: f"{r['send_wall']:.2f} s"),
    (
        "arrival through SQS (first to last event accepted)",
        lambda r: (
            f"{r['arrival_spread']:.2f} s "
            f"({burst.EVENTS / max(r['arrival_spread'], 0.001):.0f} events/s)"
        ),
    ),
    ("settled in", lambda r: f"{r['burst_wall']:.2f} s"),
    (
        "lone event after the burst: to its fix / debounce + its reconcile",
        lambda r: (
            f"{r['lone']['to_fix']:.2f} s / {r['debounce']:.1f} + {r['lone']['reconcile']:.2f} s"
        ),
    ),
    (
        "reconciles (per app)",
        lambda r: f"{r['reconciles']:.0f} ({r['reconciles'] / burst.APPS:.2f})",
    ),
    ("Flink calls / (reconciles x 1 describe + fix calls)", _flink),
    (
        "Flink calls by operation",
        lambda r: ", ".join(f"{op} {n}" for op, n in sorted(r["flink_calls"].items())),
    ),
)


def print_table(apps: int, rows: dict[str, Any]) -> None:
    floor, floor_calls = rows["floor"]
    total_floor = sum(floor_calls.values())
    print(f"\n## {apps} apps (one sandbox, one run; ratios are to the bare-boto3 floor)\n")
    print("| work | wall s | x floor | calls | x floor | max RSS MB | calls by operation |")
    print("|---|---|---|---|---|---|---|")
    for name in ("floor", "plan", "apply", "plan again"):
        figures, calls = rows[name]
        total = sum(calls.values())
        ops = ", ".join(f"{op.split(':')[1]} {n}" for op, n in sorted(calls.items()))
        print(
            f"| {name} | {figures['wall']:.2f} | {figures['wall'] / floor['wall']:.2f} "
            f"| {total} | {total / total_floor:.2f} | {figures['rss_mb']:.0f} | {ops} |"
        )
    daemon = rows.get("daemon")
    if daemon:
        print(
            f"\n| daemon | figure |\n|---|---|\n"
            f"| first sweep of the burst's {burst.FLEET} apps (default rate limits) "
            f"| {daemon['sweep_wall']:.2f} s |\n"
            f"| RSS after the sweep / peak | {daemon['rss_after_sweep_mb']:.0f} MB / "
            f"{daemon['rss_peak_mb']:.0f} MB |"
        )
        print(
            f"\n| burst: {burst.EVENTS} events on {burst.APPS} apps "
            "| default debounce | covering debounce |\n|---|---|---|"
        )
        runs = [daemon, rows["daemon covering"]]
        for label, cell in BURST_ROWS:
            print(f"| {label} | {cell(runs[0])} | {cell(runs[1])} |")
        drain.print_table(DRAIN_MESSAGES, drain.FLEET, rows["drain"])
    routes = rows["route"]
    print(f"\n| route, events/s on one core ({apps}-app inventory) | |\n|---|---|")
    for kind, rate in routes.items():
        print(f"| {kind} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
