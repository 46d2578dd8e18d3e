"""List and watch, one app changed by each kind of side change: `python -m benchmarks.side_changes`.

An in-process sandbox seeded with N apps (benchmarks/fleet.py `seed_in_process`) plus one
watched app per kind of change (benchmarks/side_kinds.py), each with its own execution role,
log group and stream, a `team` tag, and (for routes) its own VPC. The daemon (its own process,
`--dry-run`, the rules that judge these changes, client-side rate limits off as in every e2e
daemon, so the full resync at 5,000 apps takes minutes) starts with **every event lost** (the
sandbox delays CloudTrail delivery for ever) and its first sweep (a full resync) runs. Then for
each kind of change, in the quiet after a sweep: change that one app, wait for the next sweep
and its reconciles, and report from the sandbox's call record (the daemon's principal, SQS and
STS excluded) which apps it described, how many calls the sweep made, and whether the daemon
reports the violation (`flink_remediator_violation_active`). A deleted log stream is found by
the full resync only (docs/performance.md "List and watch"): shown by restarting the daemon.
Last, with events delivered again (the restarted daemon): tags, role and route changes on
fresh apps, seconds from the change (its CloudTrail envelope goes on the queue inside the
call) to the violation reported, between two sweeps. Figures only; nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import fleet
from benchmarks.rate import quiet
from benchmarks.side_kinds import DELIVERED, LOST, RULE, Watched, change, config_text, make_app
from sandbox.delivery import DeliverySettings
from sandbox.server import Sandbox
from sandbox.testing import client, create_user
from tests.harness import DaemonProcess, Target

NEVER = 86400.0  # a delivery delay (the most the sandbox takes) no run outlives: events lost


class Run:
    """The daemon against the sandbox, sweep by sweep."""

    def __init__(self, sandbox: Sandbox, config: Path, folder: Path, interval: float) -> None:
        self.sandbox, self.config, self.folder, self.interval = sandbox, config, folder, interval
        self.keys = create_user(client(sandbox.endpoint_url, sandbox.region, "iam"), "side-bench")
        self.daemon: DaemonProcess | None = None
        self.starts = 0

    def start(self) -> dict[str, Any]:
        """A new daemon; its first sweep (full resync) and reconciles: seconds and calls."""
        self.starts += 1
        self.sandbox.middleware.calls.clear()
        began = time.perf_counter()
        self.daemon = DaemonProcess(
            Target.of(self.sandbox, self.keys),
            self.config,
            self.folder / f"daemon-{self.starts}.log",
            *("--dry-run", "--debounce-seconds", "1"),
            *("--sweep-interval-seconds", str(self.interval), "--sweep-jitter-seconds", "0"),
        )
        self.daemon.wait_for("sweep_finished", timeout=7200)
        ended = quiet(self.sandbox)
        return {"seconds": round(ended - began, 1), "calls": len(self.calls())}

    def calls(self) -> list[Any]:
        return [
            c
            for c in self.sandbox.calls()
            if c.caller_arn == self.keys.arn and c.service not in ("sqs", "sts")
        ]

    def sweeps(self) -> int:
        assert self.daemon
        return len(self.daemon.events("sweep_finished"))

    def after_next_sweep(self, since: int) -> None:
        """Until sweep number `since` + 1 has finished and its reconciles are done."""
        assert self.daemon
        self.daemon.until(lambda: self.sweeps() > since, "the next sweep", 7200)
        quiet(self.sandbox)

    def violated(self, w: Watched) -> bool:
        assert self.daemon
        rule = RULE[w.kind]
        return (
            self.daemon.metric("flink_remediator_violation_active", application=w.name, rule=rule)
            > 0
        )

    def stop(self) -> None:
        if self.daemon:
            self.daemon.stop()


def lost_row(run: Run, w: Watched) -> dict[str, Any]:
    """Change `w` in the quiet after a sweep; the next sweep's describes, calls, verdict."""
    run.after_next_sweep(run.sweeps())  # the quiet gap after a sweep, its reconciles done
    before, was = run.sweeps(), run.violated(w)
    run.sandbox.middleware.calls.clear()
    change(run.sandbox, w)
    run.after_next_sweep(before)
    calls = run.calls()
    described = sorted({c.application for c in calls if c.operation == "DescribeApplication"})
    return {
        "kind": w.kind,
        "app": w.name,
        "violated_before": was,
        "described": described,
        "sweep_calls": len(calls),
        "found": run.violated(w),
    }


def delivered_row(run: Run, w: Watched) -> dict[str, Any]:
    """Change `w` (its event delivered) just after a sweep; seconds to the violation."""
    run.after_next_sweep(run.sweeps())
    before, was = run.sweeps(), run.violated(w)
    assert run.daemon
    events = run.daemon.metric("flink_remediator_reconciles_total", trigger="event")
    began = time.perf_counter()
    change(run.sandbox, w)
    put = time.perf_counter()
    run.daemon.until(lambda: run.violated(w), f"{w.kind} violation", 120)
    seen = time.perf_counter()
    return {
        "kind": w.kind,
        "app": w.name,
        "violated_before": was,
        "seconds": round(seen - put, 2),
        "change_call_seconds": round(put - began, 2),
        "by_event": run.daemon.metric("flink_remediator_reconciles_total", trigger="event")
        > events,
        "sweeps_between": run.sweeps() - before,
    }


def measure(apps: int, interval: float) -> dict[str, Any]:
    sandbox = Sandbox(port=0).start()
    deliveries = sandbox.middleware.deliveries
    try:
        deliveries.configure(DeliverySettings(delay_seconds=NEVER))  # every event lost
        fleet.seed_in_process(sandbox, apps)
        sandbox.middleware.set_max_applications(max(apps + len(LOST) + len(DELIVERED), 100))
        lost = [make_app(sandbox, k, f"side-lost-{i}", "10.7.0.0/16") for i, k in enumerate(LOST)]
        fresh = [
            make_app(sandbox, k, f"side-event-{i}", "10.8.0.0/16") for i, k in enumerate(DELIVERED)
        ]
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "desired.yaml"
            config.write_text(config_text(sandbox))
            run = Run(sandbox, config, Path(folder), interval)
            try:
                figures: dict[str, Any] = {"apps": apps + len(LOST) + len(DELIVERED)}
                figures["resync"] = run.start()
                figures["lost"] = [lost_row(run, w) for w in lost]
                run.stop()
                stream = next(w for w in lost if w.kind == "log stream deleted")
                figures["restart"] = run.start()
                figures["restart"]["found_stream"] = run.violated(stream)
                deliveries.clear()
                deliveries.configure(DeliverySettings())  # events delivered again
                figures["delivered"] = [delivered_row(run, w) for w in fresh]
            finally:
                run.stop()
    finally:
        sandbox.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=500)
    args = parser.parse_args()
    interval = 15 + args.apps / 250  # a steady sweep and its reconciles end well within it
    f = measure(args.apps, interval)
    print(f"{f['apps']} apps (N + {len(LOST) + len(DELIVERED)} watched), --dry-run, rate limits "
          f"off, --sweep-interval-seconds {interval:g}; full resync at start: "
          f"{f['resync']['seconds']} s, {f['resync']['calls']} calls\n")  # fmt: skip
    print("| change, event lost | apps described by the next sweep | its calls | found |")
    print("|---|---|---|---|")
    for r in f["lost"]:
        found = "yes" if r["found"] else "no"
        if r["kind"] == "log stream deleted" and not r["found"]:
            found = f"resync only: found after a restart ({f['restart']['seconds']} s resync): "
            found += "yes" if f["restart"]["found_stream"] else "no"
        if r["violated_before"]:
            found += " (but already violated before the change)"
        print(
            f"| {r['kind']} | {', '.join(r['described']) or 'none'} "
            f"| {r['sweep_calls']} | {found} |"
        )
    print("\n| change, event delivered | change to violation reported | by an event reconcile |")
    print("|---|---|---|")
    for r in f["delivered"]:
        note = "" if not r["sweeps_between"] else f" ({r['sweeps_between']} sweep(s) between)"
        print(f"| {r['kind']} | {r['seconds']:.2f} s | {'yes' if r['by_event'] else 'no'}{note} |")
    print(json.dumps(f))


if __name__ == "__main__":
    main()
