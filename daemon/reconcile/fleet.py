"""One pass over many applications, `workers` at a time: the one parallel runner of `plan`,
`apply`, `replay`, `report` and the tests' sweeps.

An interrupt (`interrupted()` turning true) starts no further application; those in progress
finish (a fix is never cut between its calls), and the pass says which were not started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from daemon.reconcile.reconciler import Reconciler
from daemon.reconcile.result import ReconcileResult
from daemon.state import AppRef, Cause


@dataclass(frozen=True)
class PassResult:
    results: tuple[ReconcileResult, ...]  # in the order of the applications given
    not_started: tuple[AppRef, ...]  # left out because of an interrupt


def run_pass(
    work: Callable[[AppRef], ReconcileResult],
    apps: Sequence[AppRef],
    workers: int,
    interrupted: Callable[[], bool] = lambda: False,
    on_done: Callable[[ReconcileResult], None] | None = None,
) -> PassResult:
    """Run `work` on every app, `workers` at a time, starting no new app once interrupted;
    `on_done` is told of each result as it finishes."""
    pending = list(apps)
    running: dict[Future[ReconcileResult], AppRef] = {}
    done: dict[AppRef, ReconcileResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pass") as pool:
        while pending or running:
            while pending and len(running) < workers and not interrupted():
                app = pending.pop(0)
                running[pool.submit(work, app)] = app
            if not running:
                break
            finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                result = future.result()
                done[running.pop(future)] = result
                if on_done is not None:
                    on_done(result)
    results = tuple(done[a] for a in apps if a in done)
    return PassResult(results, tuple(a for a in apps if a not in done))


def reconcile_all(
    reconciler: Reconciler, apps: Iterable[AppRef], cause: Cause, workers: int = 8
) -> list[ReconcileResult]:
    """Reconcile every app for `cause` (no interrupt); results in the order of `apps`."""

    def work(app: AppRef) -> ReconcileResult:
        return reconciler.reconcile(app, cause)

    return list(run_pass(work, list(apps), max(1, workers)).results)
