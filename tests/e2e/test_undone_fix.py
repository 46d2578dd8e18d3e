"""A restarting fix whose operation SUCCEEDED is recorded `applied`, and charged to the fight
budget, even when someone undid it before the follow-up looked: the fix was made, and its
fast undo is a fight like any other (issue 25, item 5)."""

from __future__ import annotations

import pytest

from daemon.reconcile.reconciler import EnabledRules
from daemon.reconcile.safeguards import BudgetSettings
from daemon.state import Cause
from remediations.checkpointing import Checkpointing
from remediations.checkpointing import Settings as CheckpointSettings
from sandbox.testing import next_update
from tests.clock import FakeWall
from tests.contract.harness import Harness
from tests.e2e.test_safe_remediation import (
    ALLOW,
    FRIDAY_NOON,
    NO_CHECKPOINTS,
    TRANSITION,
    advance,
    outcomes,
    reconciler,
    running_app,
    status,
)
from tests.e2e.test_safe_remediation import h as safe_remediation_harness  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def h(safe_remediation_harness: Harness) -> Harness:  # noqa: F811 - the fixture, by name
    """test_safe_remediation's harness: its sandbox updates take TRANSITION seconds."""
    return safe_remediation_harness


def test_a_succeeded_fix_undone_before_the_follow_up_is_applied_and_charged(h: Harness) -> None:
    app = running_app(h, "ledger", NO_CHECKPOINTS)
    rules: EnabledRules = [(Checkpointing(), CheckpointSettings(disruption=ALLOW), "enforce")]
    r = reconciler(h, rules, FakeWall(0.0, start=FRIDAY_NOON), budget=BudgetSettings(1, 3600))
    next_update(h.sandbox.endpoint_url, "ledger", "succeed", TRANSITION)

    assert outcomes(r.reconcile(app, Cause("sweep"))) == [(("checkpointing",), "pending")]
    advance(h, TRANSITION)  # our update SUCCEEDED: RUNNING with checkpointing on
    version = status(h, "ledger")["ApplicationVersionId"]
    # Someone turns checkpointing off again before the follow-up looks.
    h.client("kinesisanalyticsv2").update_application(
        ApplicationName="ledger",
        CurrentApplicationVersionId=version,
        ApplicationConfigurationUpdate={
            "FlinkApplicationConfigurationUpdate": {
                "CheckpointConfigurationUpdate": {"CheckpointingEnabledUpdate": False}
            }
        },
    )
    advance(h, TRANSITION)
    settled = r.reconcile(app, Cause("sweep"))

    (applied,) = [o for o in settled.outcomes if o.outcome == "applied"]
    assert applied.action.rules == ("checkpointing",) and applied.operation_id
    assert not r.safeguards.within_budget(app, "checkpointing")  # the one fix is charged
