"""One pass over every application in the configured regions (the CLI and the daemon's sweep)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.result import ReconcileResult
from daemon.state import AppRef, Cause


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
