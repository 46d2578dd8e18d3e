"""The developer's shell cannot steer the suite (issue 23): sandbox-backed tests of each kind
pass in a pytest run whose environment names other Regions, a missing profile, a config file
with another Region and a credential process, an endpoint and this tool's own settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.commands.isolated_env import isolated_environ
from tests.harness import pinned_environ

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
REPRESENTATIVE = (
    # a unit test against the in-process sandbox
    "tests/sandbox/test_control_api.py::test_calls_record_who_did_what",
    # the daemon as a process against `sandbox serve` as a process
    "tests/e2e/test_daemon.py::test_deleted_logging_option_is_restored_audited_and_not_looped",
    # plan and apply in-process, then plan as a process
    "tests/e2e/test_plan_apply.py::test_apply_fixes_then_plan_is_clean_and_second_apply_writes_nothing",
    "tests/e2e/test_many_accounts.py::test_plan_lists_drift_in_every_account",
)


def hostile_shell(tmp_path: Path) -> dict[str, str]:
    """What a developer's shell may hold; `credential_process` leaves a mark if ever run."""
    marker = tmp_path / "credential-process-ran"
    config = tmp_path / "aws-config"
    config.write_text(
        "[default]\n"
        "region = sa-east-1\n"
        f"credential_process = /bin/sh -c 'touch {marker}; echo credential_process ran >&2;"
        " exit 1'\n"
    )
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIASHELL\naws_secret_access_key = x\n")
    return {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "ap-southeast-2",
        "AWS_PROFILE": "nonexistent-profile",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # discard port: nothing answers
        "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
        "FLINK_REMEDIATOR_REGION": "ap-south-1",
        "FLINK_REMEDIATOR_SANDBOX_PORT": "9",
        "MOTO_ACCOUNT_ID": "999999999999",
    }


def test_sandbox_backed_tests_pass_whatever_the_shell_exports(tmp_path: Path) -> None:
    shell = hostile_shell(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *REPRESENTATIVE],
        cwd=REPO,
        env={**os.environ, **shell},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{len(REPRESENTATIVE)} passed" in done.stdout
    assert not (tmp_path / "credential-process-ran").exists()


def test_the_pinned_environment_keeps_nothing_of_the_shell(tmp_path: Path) -> None:
    shell = hostile_shell(tmp_path) | {"PATH": "/usr/bin", "NO_PROXY": "internal.example"}
    pinned = pinned_environ(shell)
    assert not {key for key in pinned if key.startswith(("AWS_", "FLINK_", "MOTO_"))} - {
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_EC2_METADATA_DISABLED",
        "MOTO_EC2_LOAD_DEFAULT_AMIS",
    }
    assert pinned["AWS_CONFIG_FILE"] == pinned["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert pinned["PATH"] == "/usr/bin"
    assert pinned["NO_PROXY"] == "internal.example,127.0.0.1,localhost"
    # This very process runs pinned (tests/conftest.py): nothing of the shell it started from.
    assert dict(os.environ) == pinned_environ(dict(os.environ))
    assert isolated_environ(shell, keep=("AWS_REGION",))["AWS_REGION"] == "us-east-1"
