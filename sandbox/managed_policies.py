"""AWS managed policies in the sandbox's IAM, limited to the ones that matter for Flink roles.

moto can load all ~1,600 of them, but that costs seconds on every reset; this loads the
relevant ones (the broad ones a remediation flags, and common narrow ones) from moto's copy.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

RELEVANT = (
    "AdministratorAccess",
    "PowerUserAccess",
    "IAMFullAccess",
    "ReadOnlyAccess",
    "AmazonKinesisAnalyticsFullAccess",
    "AmazonKinesisAnalyticsReadOnly",
    "CloudWatchLogsFullAccess",
    "CloudWatchLogsReadOnlyAccess",
    "AmazonVPCFullAccess",
    "AmazonVPCReadOnlyAccess",
    "AmazonEC2FullAccess",
    "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonKinesisFullAccess",
    "AmazonKinesisReadOnlyAccess",
)


@cache
def _policy_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    return {name: data[name] for name in RELEVANT}


def install(account_id: str) -> None:
    """Add the relevant AWS managed policies to the account's IAM (after a moto reset)."""
    from moto.iam.models import AWSManagedPolicy, iam_backends

    backend = iam_backends[account_id]["aws"]
    for name, data in _policy_data().items():
        policy = AWSManagedPolicy.from_data(name, account_id, "us-east-1", data)
        if policy.arn not in backend.managed_policies:
            backend.aws_managed_policies.append(policy)
            backend.managed_policies[policy.arn] = policy
