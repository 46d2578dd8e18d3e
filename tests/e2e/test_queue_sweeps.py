"""Shared sweeps (issue 26 item 5): three `run --sweep-source queue` replicas over 1,500 apps.
One EventBridge Scheduler tick (fired by the sandbox on its clock) sweeps the fleet once in
total: every app is described once (the sandbox's call record, by replica), each replica takes
a share, and a replica killed with SIGKILL mid-sweep leaves its messages to the others after the
visibility timeout. docs/install-eks.md ("Running several replicas") cites this file."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.server import Sandbox
from tests.e2e.sweep_fleet import Replicas
from tests.harness import wait_until

pytestmark = pytest.mark.e2e
APPS = 1500


@pytest.fixture
def replicas(fresh_sandbox: Sandbox, tmp_path: Path) -> Iterator[Replicas]:
    running = Replicas(fresh_sandbox, tmp_path, 3, APPS)
    yield running
    for daemon in running.daemons:
        daemon.stop(signal.SIGKILL)


def test_one_tick_describes_every_app_once_in_total_shared_by_every_replica(
    replicas: Replicas,
) -> None:
    replicas.tick()
    replicas.wait_swept()
    describes = replicas.describes()
    assert sum(describes.values()) == APPS, describes  # once per app, not once per replica
    assert all(describes[str(n)] > 0 for n in range(3)), describes
    assert replicas.swept() == set(replicas.names)
    fanned = [r for d in replicas.daemons for r in d.events("sweep_fanned_out")]
    assert [r["apps"] for r in fanned] == [APPS]  # one replica listed, once


def test_a_replica_killed_mid_sweep_leaves_its_messages_to_the_others(
    replicas: Replicas,
) -> None:
    replicas.tick()
    # The victim is a replica that holds work: the first to receive a work message. Not a
    # fixed one: the replica that fans the tick out may get none (while it sends them, the
    # others' receive loops can take every message).
    victim = wait_until(
        lambda: next((d for d in replicas.daemons if d.events("sweep_work_received")), None),
        120,
        "a replica to receive sweep work",
    )
    survivors = [d for d in replicas.daemons if d is not victim]
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    replicas.wait_swept()
    # What the victim held came back (ApproximateReceiveCount > 1) and a survivor finished it.
    again = [
        r for d in survivors for r in d.events("sweep_work_received") if r["receive_count"] > 1
    ]
    assert again, "no message came back after the kill"
    assert replicas.swept(survivors) | replicas.swept([victim]) == set(replicas.names)
    unfinished = set(replicas.names) - replicas.swept([victim])
    assert unfinished <= replicas.swept(survivors)
