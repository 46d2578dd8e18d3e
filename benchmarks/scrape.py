"""One /metrics scrape at N apps x every rule: `python -m benchmarks.scrape --apps 5000`.

In process: the daemon's own metrics module is told what a sweep of N apps with every rule
tells it (each app checked for every registered rule; one app in `--violating-every` left with
drift of one rule, as a mostly compliant fleet), then `metrics.render()` (what /metrics serves)
is timed, best and worst of five, with the size of its text. benchmarks/memory.py scrapes a
real daemon after a real sweep instead (there the seeded fleet violates what it violates).
Figures only; nothing asserts speed.
"""

from __future__ import annotations

import argparse
import json
import time

from daemon.state import AppRef
from daemon.telemetry import metrics
from remediations import REGISTRY


def measure(apps: int, violating_every: int) -> dict[str, float]:
    rules = [rule.id for rule in REGISTRY]
    for i in range(apps):
        app = AppRef("111122223333", "eu-west-1", f"bench-app-{i:05d}")
        for n, rule in enumerate(rules):
            metrics.set_violation(app, rule, i % violating_every == 0 and n == i % len(rules))
    walls, size = [], 0
    for _ in range(5):
        began = time.perf_counter()
        body, _ = metrics.render()
        walls.append((time.perf_counter() - began) * 1000)
        size = len(body)
    return {"apps": apps, "rules": len(rules), "bytes": size, "min_ms": min(walls),
            "max_ms": max(walls)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--violating-every", type=int, default=100)
    args = parser.parse_args()
    figures = measure(args.apps, args.violating_every)
    print(f"scrape at {args.apps} apps x {figures['rules']} rules (1 app in "
          f"{args.violating_every} violating one rule): {figures['bytes'] / 1024:.0f} KB, "
          f"rendered in {figures['min_ms']:.1f}-{figures['max_ms']:.1f} ms")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
