"""DynamoDB calls of the state store per sweep and per reconcile, counted by the sandbox's own
call record (the figures in docs/performance.md, "The state table"; `pytest -s` prints them).
The real Reconciler and Safeguards on a DynamoStore, against the sandbox over HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from daemon.reconcile.reconciler import EnabledRules, Reconciler
from daemon.reconcile.safeguards import Safeguards
from daemon.state import AppRef, Cause
from daemon.store.dynamodb import DynamoStore
from remediations.snapshots import Settings, Snapshots
from sandbox.server import Sandbox
from sandbox.state_table import STATE_TABLE, create_state_table
from tests.contract.harness import Harness

RULES: EnabledRules = [(Snapshots(), Settings(), "enforce")]
FLEET = 250  # apps a sweep reads the state of


@pytest.fixture
def h(fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    yield Harness.start(fresh_sandbox, monkeypatch)


def dynamodb_calls(h: Harness) -> Counter[str]:
    calls = h.recorded_calls(service="dynamodb")
    return Counter(c["operation"] for c in calls)


def test_calls_per_sweep_and_per_reconcile(h: Harness) -> None:
    create_state_table(h.client("dynamodb"))
    safeguards = Safeguards(store=DynamoStore(h.aws, STATE_TABLE))
    r = Reconciler(lambda _: h.aws, lambda _a, _t: list(RULES), safeguards=safeguards)
    compliant = h.create_app(
        "in-sync", {"ApplicationSnapshotConfiguration": {"SnapshotsEnabled": True}}
    )
    drifted = h.create_app(
        "drifted", {"ApplicationSnapshotConfiguration": {"SnapshotsEnabled": False}}
    )
    others = [AppRef(h.sandbox.account_id, h.sandbox.region, f"app-{n}") for n in range(FLEET - 2)]
    figures: dict[str, Counter[str]] = {}

    h.clear_calls()
    safeguards.prefetch([compliant, drifted, *others])  # a sweep's read of every app's state
    figures[f"sweep of {FLEET} apps (state read)"] = dynamodb_calls(h)
    h.clear_calls()
    r.reconcile(compliant, Cause("sweep"))
    figures["sweep reconcile, in sync"] = dynamodb_calls(h)
    h.clear_calls()
    assert r.reconcile(drifted, Cause("sweep")).result == "fixed"
    figures["sweep reconcile, one fix made"] = dynamodb_calls(h)
    h.clear_calls()
    r.reconcile(compliant, Cause("event", event_id="e1", actor="alice"))
    figures["event reconcile, in sync"] = dynamodb_calls(h)

    for what, calls in figures.items():
        print(f"{what}: {dict(calls) or 'none'}")
    assert figures[f"sweep of {FLEET} apps (state read)"] == Counter(BatchGetItem=3)
    assert figures["sweep reconcile, in sync"] == Counter()  # prefetched, nothing changed
    assert figures["event reconcile, in sync"] == Counter(BatchGetItem=1)
    fix = figures["sweep reconcile, one fix made"]
    assert fix["BatchGetItem"] == 0 and 1 <= fix["PutItem"] <= 4, fix
