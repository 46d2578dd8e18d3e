"""After its own restarting change, the daemon sends no other Managed Flink write (tags
included) in that reconcile: the service refuses them while the app is UPDATING, and a refused
tag used to throw away the pending change, so its outcome was never followed."""

from __future__ import annotations

from daemon.reconcile.reconciler import EnabledRules
from daemon.state import Cause
from remediations.checkpointing import Checkpointing
from remediations.checkpointing import Settings as CheckpointSettings
from remediations.disruption import Disruption
from remediations.required_tags import RequiredTags
from remediations.required_tags import Settings as TagSettings
from tests.contract.harness import Harness
from tests.e2e.test_safe_remediation import (
    FRIDAY_NOON,
    NO_CHECKPOINTS,
    TRANSITION,
    Wall,
    advance,
    h,
    outcomes,
    reconciler,
    running_app,
)

__all__ = ["h"]  # the fixture


def test_a_tag_fix_waits_for_the_restart_and_the_restart_is_followed(h: Harness) -> None:
    rules: EnabledRules = [
        (Checkpointing(), CheckpointSettings(disruption=Disruption(running="allow")), "enforce"),
        (RequiredTags(), TagSettings(tags={"team": {"default": "data"}}), "enforce"),
    ]
    app = running_app(h, "orders", NO_CHECKPOINTS)
    r = reconciler(h, rules, Wall(FRIDAY_NOON))
    h.clear_calls()

    first = r.reconcile(app, Cause("sweep"))

    assert sorted(outcomes(first)) == [
        (("checkpointing",), "pending"),
        (("required_tags",), "skipped"),
    ]
    writes = [(c["operation"], c["error_code"]) for c in h.recorded_calls() if c["mutating"]]
    assert writes == [("UpdateApplication", None)]  # no TagResource into UPDATING
    advance(h, TRANSITION)
    settled = r.reconcile(app, Cause("sweep"))
    assert (("checkpointing",), "applied") in outcomes(settled)
    assert (("required_tags",), "applied") in outcomes(settled)
    assert r.reconcile(app, Cause("sweep")).result == "in_sync"
