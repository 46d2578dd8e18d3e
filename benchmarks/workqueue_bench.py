"""Work-queue figures: submit cost, run throughput, and coalescing under a burst.

    .venv/bin/python benchmarks/workqueue_bench.py

Prints figures only; nothing asserts speed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from daemon.reconcile.workqueue import WorkQueue


def burst(keys: int, submits: int, workers: int, run_seconds: float) -> None:
    runs: Counter[int] = Counter()
    lock = threading.Lock()
    settled = threading.Semaphore(0)

    def run(key: int, tokens: tuple[int, ...]) -> bool:
        with lock:
            runs[key] += 1
        if run_seconds:
            time.sleep(run_seconds)  # stands in for AWS calls
        return True

    q: WorkQueue[int, int] = WorkQueue(
        run,
        on_done=lambda key, token, ok: settled.release(),
        workers=workers,
        debounce_seconds=0.0,
        max_pending_keys=keys,
        max_tokens_per_key=submits,
        on_depth=lambda _: None,
    )
    q.start()
    began = time.perf_counter()
    for i in range(submits):
        q.submit(i % keys, i)
    submitted = time.perf_counter()
    q.join()
    finished = time.perf_counter()
    q.stop(grace_seconds=1.0)
    per_submit_us = (submitted - began) / submits * 1e6
    print(
        f"keys={keys:5d} submits={submits:6d} workers={workers} run={run_seconds * 1e3:4.1f}ms: "
        f"submit {per_submit_us:5.1f} us each, all settled in {finished - began:6.3f} s, "
        f"runs {sum(runs.values()):6d} (max per key {max(runs.values())})"
    )


def main() -> None:
    burst(keys=1, submits=100_000, workers=4, run_seconds=0.0)
    burst(keys=1_000, submits=100_000, workers=4, run_seconds=0.0)
    burst(keys=20, submits=1_000, workers=4, run_seconds=0.01)
    burst(keys=1_000, submits=10_000, workers=16, run_seconds=0.001)


if __name__ == "__main__":
    main()
