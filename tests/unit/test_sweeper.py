"""The sweep against the sandbox over HTTP: it indexes every application, forgets the gone, owes
each a reconcile with a sweep cause, and reports its outcome and duration (on a fake clock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from daemon import errors
from daemon.aws import AwsByRegion
from daemon.desired.config import DesiredConfig
from daemon.desired.loader import load_config
from daemon.reconcile.inventory import Inventory
from daemon.reconcile.safeguards import Safeguards
from daemon.reconcile.workqueue import Ticket
from daemon.state import AppRef, Cause
from daemon.sweeper import Sweeper
from sandbox.server import Sandbox
from sandbox.testing import wait_for
from tests.clock import FakeClock
from tests.contract.harness import Harness
from tests.e2e.configs import write_config


class Reconciles:
    """A Submit that records what the sweep asked for and settles the ticket at once."""

    def __init__(self, ok: bool = True, settle: bool = True) -> None:
        self.ok, self.settle = ok, settle
        self.asked: list[tuple[set[AppRef], Cause]] = []

    def __call__(self, apps: set[AppRef], cause: Cause, ticket: Ticket[AppRef]) -> None:
        self.asked.append((set(apps), cause))
        for app in apps if self.settle else ():
            ticket.done(app, self.ok)


def listed(flink: Any) -> set[str]:
    return {a["ApplicationName"] for a in flink.list_applications()["ApplicationSummaries"]}


def config_for(sandbox: Sandbox, tmp_path: Path) -> DesiredConfig:
    path = write_config(tmp_path / "desired.yaml", account=sandbox.account_id)
    return load_config(path)


def sweeper(h: Harness, config: DesiredConfig, submit: Reconciles, **kw: Any) -> Sweeper:
    aws = AwsByRegion(lambda _region: h.aws)
    accounts = lambda: [h.sandbox.account_id]  # noqa: E731
    return Sweeper(
        lambda _account: aws, accounts, lambda: config, Inventory(), Safeguards(), submit, **kw
    )


@pytest.fixture
def h(fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Harness:
    return Harness.start(fresh_sandbox, monkeypatch)


def test_a_sweep_owes_every_application_a_reconcile_and_forgets_the_gone(
    h: Harness, tmp_path: Path
) -> None:
    config, submit = config_for(h.sandbox, tmp_path), Reconciles()
    first, second = h.create_app("first"), h.create_app("second")
    sweep = sweeper(h, config, submit, wait_seconds=5, clock=FakeClock(step=1.5))
    assert not sweep.indexed.is_set()  # role rules wait for a complete index
    with capture_logs() as logs:
        assert sweep.sweep() is True
    assert submit.asked == [({first, second}, Cause("sweep"))]
    assert sweep.indexed.is_set()
    finished = [r for r in logs if r["event"] == "sweep_finished"]
    assert finished == [
        {"event": "sweep_finished", "apps": 2, "ok": True, "seconds": 1.5, "log_level": "info"}
    ]
    flink = h.client("kinesisanalyticsv2")
    created = flink.describe_application(ApplicationName="second")["ApplicationDetail"]
    flink.delete_application(ApplicationName="second", CreateTimestamp=created["CreateTimestamp"])
    wait_for(lambda: "second" not in listed(flink))  # DELETING, then gone, as in AWS
    with capture_logs() as logs:
        assert sweep.sweep() is True
    assert len(submit.asked) == 1  # `first` did not change: list and watch owes it nothing
    assert [r["apps"] for r in logs if r["event"] == "sweep_finished"] == [1]


def test_a_failed_reconcile_or_one_that_outlives_the_wait_fails_the_sweep(
    h: Harness, tmp_path: Path
) -> None:
    config = config_for(h.sandbox, tmp_path)
    h.create_app("only")
    assert sweeper(h, config, Reconciles(ok=False), wait_seconds=5).sweep() is False
    assert sweeper(h, config, Reconciles(settle=False), wait_seconds=0).sweep() is False


def test_an_empty_account_sweeps_fine_without_submitting(h: Harness, tmp_path: Path) -> None:
    submit = Reconciles()
    sweep = sweeper(h, config_for(h.sandbox, tmp_path), submit, wait_seconds=5)
    assert sweep.sweep() is True
    assert submit.asked == [] and sweep.indexed.is_set()


def test_an_aws_failure_fails_the_sweep_and_leaves_the_index_incomplete(
    h: Harness, tmp_path: Path
) -> None:
    def unreachable(region: str) -> Any:
        raise errors.AwsError("ListApplications", "InternalFailure", "boom")

    submit = Reconciles()
    sweep = Sweeper(
        lambda _account: AwsByRegion(unreachable),
        lambda: [h.sandbox.account_id],
        lambda: config_for(h.sandbox, tmp_path),
        Inventory(),
        Safeguards(),
        submit,
        wait_seconds=5,
    )
    with capture_logs() as logs:
        assert sweep.sweep() is False
    assert [r["event"] for r in logs] == ["sweep_account_failed", "sweep_finished"]
    assert submit.asked == [] and not sweep.indexed.is_set()
