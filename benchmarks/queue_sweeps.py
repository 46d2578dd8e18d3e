"""Queue sweeps with 1 and 3 replicas: `make bench-sweeps` (SWEEP_APPS=1500 by default).

For each replica count: a fresh in-process sandbox seeded with N apps (benchmarks/fleet.py), the
replicas started with `--sweep-source queue --dry-run` (tests/e2e/sweep_fleet.py), one
EventBridge Scheduler tick fired on the sandbox clock, and the time until every app's work
message was acknowledged and the queue drained. Prints the sweep time and the DescribeApplication
calls of that sweep by replica (the sandbox's own call record). Figures only: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from sandbox.server import Sandbox
from tests.e2e.sweep_fleet import Replicas, figures


def measure(apps: int, count: int) -> dict[str, object]:
    sandbox = Sandbox(port=0).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            replicas = Replicas(sandbox, Path(folder), count, apps)
            try:
                found = figures(replicas, replicas.tick())
            finally:
                replicas.stop()
    finally:
        sandbox.stop()
    describes = dict(found["describes"])  # type: ignore[call-overload]
    return {"replicas": count, "sweep_seconds": round(float(found["seconds"]), 1), **describes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=1500)
    args = parser.parse_args()
    print(f"{'replicas':>8} {'sweep s':>8}  DescribeApplication by replica")
    for count in (1, 3):
        row = measure(args.apps, count)
        calls = [row[str(n)] for n in range(count)]
        print(f"{count:>8} {row['sweep_seconds']:>8}  {calls} = {sum(calls)}", flush=True)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
