"""One pass over every application in the configured regions (the CLI and the daemon's sweep)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from daemon.apply.audit import Cause
from daemon.apply.aws import Aws
from daemon.reconcile.reconciler import Reconciler, ReconcileResult
from daemon.state import AppRef


class AwsByRegion:
    """One `Aws` per region, created on first use (callable as `aws_for(app)`)."""

    def __init__(self, factory: Callable[[str], Aws] = Aws) -> None:
        self._factory = factory
        self._by_region: dict[str, Aws] = {}
        self._lock = threading.Lock()

    def region(self, region: str) -> Aws:
        with self._lock:
            if region not in self._by_region:
                self._by_region[region] = self._factory(region)
            return self._by_region[region]

    def __call__(self, app: AppRef) -> Aws:
        return self.region(app.region)


def reconcile_all(
    reconciler: Reconciler,
    apps: Iterable[AppRef],
    cause: Cause,
    workers: int = 8,
    on_done: Callable[[ReconcileResult], None] | None = None,
) -> list[ReconcileResult]:
    """Reconcile apps in parallel; results in the order of `apps`."""
    apps = list(apps)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="reconcile") as pool:
        futures = [pool.submit(reconciler.reconcile, app, cause) for app in apps]
        results = []
        for future in futures:
            result = future.result()
            if on_done is not None:
                on_done(result)
            results.append(result)
    return results
