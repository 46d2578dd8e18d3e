"""A backdoor in an execution role's trust, end to end under `sandbox serve --demo
--enforce-iam` with the daemon holding exactly the generated policy: after the initial sweep
someone adds a statement trusting an outside account to an application's execution role. The
event alone brings the daemon to it: the statement is reported (an alert naming its Sid and the
account, a violation in the metrics) and left in place; the daemon writes nothing to the role
and no call of it is refused."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_enforced_iam_daemon import (
    APP,
    ROLE_TAG,
    EnforcedSandboxProcess,
    generated_policy,
    sandbox,  # noqa: F401  (the fixture: `sandbox serve --demo --enforce-iam`)
    write_config,
)
from tests.e2e.test_forged_events import calls, clear_calls
from tests.harness import DaemonProcess, wait_until

pytestmark = pytest.mark.e2e
OUTSIDER = "arn:aws:iam::999999999999:root"


def trust_of(iam: Any, role: str) -> dict[str, Any]:
    document = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    loaded: dict[str, Any] = json.loads(document) if isinstance(document, str) else document
    return loaded


def test_an_outside_account_in_the_trust_is_reported_never_removed(
    sandbox: EnforcedSandboxProcess,  # noqa: F811  (the imported fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    iam, flink = sandbox.admin("iam"), sandbox.admin("kinesisanalyticsv2")
    role_arn = flink.describe_application(ApplicationName=APP)["ApplicationDetail"][
        "ServiceExecutionRole"
    ]
    role = role_arn.rsplit("/", 1)[-1]
    for name in {
        flink.describe_application(ApplicationName=a)["ApplicationDetail"]["ServiceExecutionRole"]
        for a in sandbox.info["applications"]
    }:
        iam.tag_role(RoleName=name.rsplit("/", 1)[-1], Tags=[ROLE_TAG])
    config = write_config(sandbox, tmp_path / "desired.yaml")
    sandbox.admin("securityhub").enable_security_hub()
    daemon_user = sandbox.info["principals"]["daemon"]
    iam.put_user_policy(
        UserName=daemon_user["user_name"],
        PolicyName="generated",
        PolicyDocument=json.dumps(generated_policy(sandbox, config, monkeypatch, capsys)),
    )
    daemon = DaemonProcess(sandbox, config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        trust = trust_of(iam, role)  # the sweep's fix: conditions on the Flink statement
        backdoor = {
            "Sid": "Vendor",
            "Effect": "Allow",
            "Principal": {"AWS": OUTSIDER},
            "Action": "sts:AssumeRole",
        }
        trust["Statement"].append(backdoor)
        index = len(trust["Statement"]) - 1
        clear_calls(sandbox)
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))
        field = f"AssumeRolePolicyDocument.Statement[{index}].Principal"

        def reported() -> list[dict[str, Any]]:
            return [
                e
                for e in daemon.events("drift_detected", rule="execution_role_trust")
                if e.get("field") == field and e.get("app") == APP
            ]

        wait_until(reported, 60, "the outside account reported from the IAM event")
        (drift, *_) = reported()
        assert drift["current"] == {"Sid": "Vendor", "Principal": {"AWS": [OUTSIDER]}}
        wait_until(
            lambda: (
                daemon.metric(
                    "flink_remediator_remediations_total",
                    rule="execution_role_trust",
                    outcome="alerted",
                )
                >= 1
            ),
            30,
            "the alert counted",
        )
    finally:
        assert daemon.stop(signal.SIGTERM) == 0
    assert backdoor in trust_of(iam, role)["Statement"]  # never removed automatically
    made = calls(sandbox, caller_arn=daemon_user["arn"])
    assert [c for c in made if c["error_code"]] == [], json.dumps(made)
    assert not [c for c in made if c["operation"] == "UpdateAssumeRolePolicy"]
