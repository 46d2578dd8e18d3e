"""One /metrics scrape at N apps x every rule: `python -m benchmarks.scrape --apps 5000`.

In process: the daemon's own metrics module is told what a sweep of N apps with every rule
tells it (each app checked for every registered rule), for two fleets: a mostly compliant one
(1 app in `--violating-every` left with drift of one rule) and a non-compliant one (every app
left with drift of two rules, as the seeded fleet of benchmarks/memory.py keeps under alert-only
rules: ~2 findings per app). For each, what /metrics serves (`metrics.render()` plus the gzip
the daemon's server applies when the scraper asks, as Prometheus does) is timed: once right
after a change of the per-app series (they are formatted again) and, best and worst of five,
unchanged (their formatted text is reused). Sizes: the text, and gzipped on the wire.
benchmarks/memory.py scrapes a real daemon over HTTP after a real sweep instead.
Figures only; nothing asserts speed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable

from daemon.state import AppRef
from daemon.telemetry import metrics
from remediations import REGISTRY


def scrape_ms() -> tuple[float, int, int]:
    """(ms, text bytes, gzipped bytes) of one scrape as the daemon's server answers it."""
    began = time.perf_counter()
    body, _ = metrics.render()
    wire = gzip.compress(body, 6)
    return (time.perf_counter() - began) * 1000, len(body), len(wire)


def measure(apps: int, violating: Callable[[int, int], bool]) -> dict[str, float]:
    rules = [rule.id for rule in REGISTRY]
    refs = [AppRef("111122223333", "eu-west-1", f"bench-app-{i:05d}") for i in range(apps)]
    for i, app in enumerate(refs):
        for n, rule in enumerate(rules):
            metrics.set_violation(app, rule, violating(i, n))
    first = scrape_ms()[0]  # the first scrape after start formats every application
    for app in refs[:: max(1, apps // 50)]:  # a sweep that changed 50 applications
        metrics.set_fix_deferred(app, rules[0], True)
    changed, size, wire = scrape_ms()
    unchanged = [scrape_ms()[0] for _ in range(5)]
    for app in refs:
        metrics.forget_application(app)
    return {"apps": apps, "rules": len(rules), "bytes": size, "gzip_bytes": wire,
            "first_ms": first, "changed_ms": changed,
            "min_ms": min(unchanged), "max_ms": max(unchanged)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--violating-every", type=int, default=100)
    args = parser.parse_args()
    every = args.violating_every
    fleets = {
        f"1 app in {every} violating one rule": lambda i, n: i % every == 0 and n == i % 18,
        "every app violating two rules": lambda i, n: n in (i % 18, (i + 1) % 18),
    }
    print(f"| /metrics at {args.apps} apps x every rule | text | gzip (wire) | first scrape | "
          "after 50 apps changed | unchanged (5 scrapes) |\n|---|---|---|---|---|---|")  # fmt: skip
    results = {}
    for name, violating in fleets.items():
        figures = results[name] = measure(args.apps, violating)
        print(f"| {name} ({figures['rules']} rules) | {figures['bytes'] / 1024:.0f} KB | "
              f"{figures['gzip_bytes'] / 1024:.0f} KB | {figures['first_ms']:.0f} ms | "
              f"{figures['changed_ms']:.1f} ms | "
              f"{figures['min_ms']:.1f}-{figures['max_ms']:.1f} ms |")  # fmt: skip
    print(json.dumps(results))


if __name__ == "__main__":
    main()
