"""Hostile desired-state files (issue 19): time to the one-line error, per file.

    .venv/bin/python benchmarks/config_limits_bench.py

Loads each generated file in-process with the default limits and prints the seconds taken and
the first problem. Prints figures only; nothing asserts speed (the tests check that the limits
stop the work structurally, before the expensive part).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.desired import load_config  # noqa: E402
from daemon.desired.glob import glob_matches  # noqa: E402
from daemon.errors import ConfigError  # noqa: E402
from tests.unit.hostile_configs import (  # noqa: E402
    HOSTILE,
    PATHOLOGICAL_GLOB,
    PATHOLOGICAL_NAME,
)


def main() -> None:
    load_config  # noqa: B018 (imports done before timing)
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in HOSTILE.items():
            path = Path(tmp) / f"{name}.yaml"
            path.write_bytes(make())
            start = time.perf_counter()
            try:
                load_config(path)
                outcome = "valid"
            except ConfigError as err:
                outcome = f"{len(err.problems)} problem(s): {err.problems[0][len(tmp) + 1 :]}"
            took = time.perf_counter() - start
            size = path.stat().st_size
            print(f"{name:24} {size:>10,} B {took:6.2f} s  {outcome[:110]}")
    start = time.perf_counter()
    for _ in range(1000):
        glob_matches(PATHOLOGICAL_GLOB, PATHOLOGICAL_NAME)
    took = (time.perf_counter() - start) / 1000
    print(f"pathological glob match  {took * 1e6:8.1f} us per match of a 128-character name")


if __name__ == "__main__":
    main()
