"""A secret planted in an application's properties is alerted and never leaves the daemon:
not in its JSON logs (audit included), /metrics, the Security Hub findings it imports, nor in
what `plan`, `apply` and `report` print (text, JSON, HTML, CSV). Every output is searched for
the secret and for each 8-character piece of it."""

from __future__ import annotations

import random
import string
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.configs import write_config
from tests.harness import CLI, DaemonProcess, SandboxProcess

pytestmark = pytest.mark.e2e
APP = "payments-enricher"


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    running = SandboxProcess()
    yield running
    running.stop()


def planted() -> dict[str, str]:
    rng = random.SystemRandom()
    upper = string.ascii_uppercase + "234567"
    b64 = string.ascii_letters + string.digits + "/+"
    return {
        "aws.access.key": "AKIA" + "".join(rng.choice(upper) for _ in range(16)),
        "aws.secret.key": "".join(rng.choice(b64) for _ in range(40)),
        "sink.url": "postgresql://flink:"
        + "".join(rng.choice(b64[:62]) for _ in range(20))
        + "@db.internal:5432/orders",
    }


def pieces(secrets: dict[str, str]) -> set[str]:
    values = [secrets["aws.access.key"], secrets["aws.secret.key"]]
    values.append(secrets["sink.url"].split(":")[2].split("@")[0])  # the password itself
    return {v[i : i + 8] for v in values for i in range(len(v) - 7)}


def run_cli(*argv: str, env: dict[str, str]) -> str:
    import subprocess

    done = subprocess.run([*CLI, *argv], env=env, capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def test_a_planted_secret_is_alerted_and_appears_in_no_output(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    import os

    config = write_config(tmp_path / "desired.yaml", enabled=("secrets_in_properties",))
    doc = yaml.safe_load(config.read_text())
    doc["evidence"] = {"security_hub": {"enabled": True}}
    config.write_text(yaml.safe_dump(doc))
    hub = sandbox.client("securityhub")
    hub.enable_security_hub()

    daemon = DaemonProcess(sandbox, config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("sweep_finished", timeout=120)
        secrets = planted()
        flink = sandbox.client("kinesisanalyticsv2")
        version = flink.describe_application(ApplicationName=APP)["ApplicationDetail"][
            "ApplicationVersionId"
        ]
        group = {"PropertyGroupId": "sink", "PropertyMap": secrets}
        flink.update_application(  # the CloudTrail event the daemon reads carries the secret too
            ApplicationName=APP,
            CurrentApplicationVersionId=version,
            ApplicationConfigurationUpdate={
                "EnvironmentPropertyUpdates": {"PropertyGroups": [group]}
            },
        )
        alert = daemon.wait_for("violation_alerted", app=APP, rule="secrets_in_properties")
        with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
    finally:
        daemon.stop()
    keys = sandbox.info["principals"]["daemon"]
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": sandbox.info["endpoint_url"],
        "AWS_REGION": sandbox.info["region"],
        "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
    }
    outputs = {
        "daemon log": daemon.log.read_text(),
        "metrics": metrics,
        "findings": str(hub.get_findings(MaxResults=100)["Findings"]),
        "plan": run_cli("plan", "--config", str(config), env=env),
        "plan json": run_cli("plan", "--config", str(config), "--output", "json", env=env),
        "apply json": run_cli("apply", "--config", str(config), "--output", "json", env=env),
    }
    for form in ("html", "json", "csv"):
        outputs[f"report {form}"] = run_cli(
            "report", "--config", str(config), "--format", form, env=env
        )

    # The alert and the finding are there, naming the property (not the value).
    assert alert["rule"] == "secrets_in_properties"
    named = {
        name: "aws.access.key" in text and "secrets_in_properties" in text
        for name, text in outputs.items()
        if name != "metrics"
    }
    assert all(named.values()), named
    leaks = {
        name: sorted(p for p in pieces(secrets) if p in text) for name, text in outputs.items()
    }
    assert {name: found for name, found in leaks.items() if found} == {}
