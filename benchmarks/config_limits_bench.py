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

from daemon.desired import load_config
from daemon.desired.glob import glob_matches
from daemon.errors import ConfigError
from tests.unit.hostile_configs import (
    HOSTILE,
    PATHOLOGICAL_GLOB,
    PATHOLOGICAL_NAME,
)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in HOSTILE.items():
            path = Path(tmp) / f"{name}.yaml"
            path.write_bytes(make())
            start, cpu = time.perf_counter(), time.process_time()
            try:
                load_config(path)
                outcome = "valid"
            except ConfigError as err:
                outcome = f"{len(err.problems)} problem(s): {err.problems[0][len(tmp) + 1 :]}"
            took, cpu = time.perf_counter() - start, time.process_time() - cpu
            size = path.stat().st_size
            print(f"{name:22} {size:>10,} B {took:5.2f} s ({cpu:5.2f} s CPU)  {outcome[:100]}")
    start = time.perf_counter()
    for _ in range(1000):
        glob_matches(PATHOLOGICAL_GLOB, PATHOLOGICAL_NAME)
    took = (time.perf_counter() - start) / 1000
    print(f"pathological glob match  {took * 1e6:8.1f} us per match of a 128-character name")


if __name__ == "__main__":
    main()
