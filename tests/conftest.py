"""Shared fixtures: a local AWS account (the sandbox) that tests talk to over HTTP with boto3.

One sandbox (moto server + our Managed Flink backend + CloudTrail events routed EventBridge ->
SQS) runs per test session on a free 127.0.0.1 port. See sandbox/README.md for what it does.

Fixtures
- ``pinned_aws_environment`` (session, autouse): the developer's shell cannot steer the suite.
  Every AWS_*, BOTO_*, BOTOCORE_*, MOTO_* and FLINK_REMEDIATOR_* variable is removed from this
  process's environment (so from every process a test starts), AWS_CONFIG_FILE and
  AWS_SHARED_CREDENTIALS_FILE name an empty file (``~/.aws`` is never read), instance metadata
  is off. No Region, keys or endpoint are set: each test points its clients and processes at its
  sandbox (``tests.harness.pinned_environ`` / ``target_environ`` build a subprocess's env).
- ``sandbox`` (session): the running ``sandbox.server.Sandbox``. Attributes: ``endpoint_url``,
  ``queue_url``, ``dlq_url`` (the EventBridge rules' queue and its DLQ), ``region``
  (eu-west-1), ``account_id``. Methods: ``calls()`` (the sandbox's own record of every API
  call: service, operation, caller_arn, mutating, error_code, emitted), ``reset()``,
  ``set_transition_seconds(s)``. State persists between tests that use only this fixture.
- ``fresh_sandbox`` (function): the same sandbox, reset before the test: no applications,
  users, VPCs...; only the queue, the DLQ and the rules; an empty call record; the default
  transition time (0.3 s). Use this one unless a test must share state on purpose.
- ``aws`` (function): ``aws(service, credentials=None, region=None)`` -> a boto3 client for
  the sandbox (no retries). ``credentials`` is a ``sandbox.testing.Credentials``; without it a
  dummy key is used (CloudTrail and GetCallerIdentity show it as ``...:user/moto``).
- ``iam_user`` (function): ``iam_user(name=None)`` -> ``Credentials`` of a new IAM user with an
  access key; calls with them appear in CloudTrail records as that IAMUser.

Helpers to import: ``sandbox.testing`` (receive_envelopes, wait_for, wait_for_status,
create_user, client) and ``sandbox.shapes.output_problems`` (validate a response body against
the botocore output shape).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from hypothesis import settings

from sandbox.defaults import DEFAULT_TRANSITION_SECONDS
from sandbox.flink.store import MAX_APPLICATIONS
from sandbox.server import Sandbox
from sandbox.testing import Credentials, client, create_user
from tests.harness import pinned_environ

AwsFactory = Callable[..., Any]

# Property tests judge correctness, not speed: on a busy 2-core CI machine an example may take
# longer than hypothesis' default 200 ms deadline without anything being wrong.
settings.register_profile("project", deadline=None)
settings.load_profile("project")


@pytest.fixture(scope="session", autouse=True)
def pinned_aws_environment() -> Iterator[None]:
    """Autouse session fixtures come first: the environment is pinned before the sandbox (or
    anything else) starts, and given back as it was after the session."""
    shell = dict(os.environ)
    os.environ.clear()
    os.environ.update(pinned_environ(shell))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(shell)


@pytest.fixture(autouse=True)
def structlog_defaults() -> Iterator[None]:
    """Commands run in-process configure structlog (plan sets WARNING); the next test starts
    from structlog's defaults, so `capture_logs` sees every level whatever ran before."""
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    running = Sandbox(port=0).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fresh_sandbox(sandbox: Sandbox) -> Sandbox:
    sandbox.set_transition_seconds(DEFAULT_TRANSITION_SECONDS)
    sandbox.middleware.set_max_applications(MAX_APPLICATIONS)  # a seeded fleet raised it
    sandbox.reset()
    return sandbox


@pytest.fixture
def aws(sandbox: Sandbox) -> AwsFactory:
    def make(
        service: str, credentials: Credentials | None = None, region: str | None = None
    ) -> Any:
        if credentials is None:
            return client(sandbox.endpoint_url, region or sandbox.region, service)
        return client(sandbox.endpoint_url, region or sandbox.region, service, credentials)

    return make


@pytest.fixture
def iam_user(aws: AwsFactory) -> Callable[..., Credentials]:
    def make(name: str | None = None) -> Credentials:
        return create_user(aws("iam"), name)

    return make
