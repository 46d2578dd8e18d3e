"""The one explicit registry of remediation rules.

Adding a rule = one module in this package, one test file tests/remediations/test_<id>.py
(holding its contract `SCENARIO`), and one line here (docs/architecture.md, "How to add a rule").
"""

from __future__ import annotations

from remediations.base import AnyRule
from remediations.checkpointing import Checkpointing
from remediations.cloudwatch_logging import CloudwatchLogging
from remediations.code_integrity import CodeIntegrity
from remediations.code_location import CodeLocation
from remediations.dependent_encryption import DependentEncryption
from remediations.encryption import Encryption
from remediations.execution_role_permissions import ExecutionRolePermissions
from remediations.execution_role_trust import ExecutionRoleTrust
from remediations.log_protection import LogProtection
from remediations.parallelism_cap import ParallelismCap
from remediations.recovery_point import RecoveryPoint
from remediations.required_tags import RequiredTags
from remediations.runtime_version import RuntimeVersion
from remediations.secrets_in_properties import SecretsInProperties
from remediations.snapshots import Snapshots
from remediations.system_rollback import SystemRollback
from remediations.vpc_public_route import VpcPublicRoute
from remediations.vpc_required import VpcRequired

REGISTRY: tuple[AnyRule, ...] = (
    CloudwatchLogging(),
    LogProtection(),
    Snapshots(),
    RecoveryPoint(),
    Checkpointing(),
    SystemRollback(),
    Encryption(),
    DependentEncryption(),
    RuntimeVersion(),
    RequiredTags(),
    CodeLocation(),
    CodeIntegrity(),
    SecretsInProperties(),
    ParallelismCap(),
    VpcPublicRoute(),
    VpcRequired(),
    ExecutionRoleTrust(),
    ExecutionRolePermissions(),
)


def _check_unique(rules: tuple[AnyRule, ...]) -> dict[str, AnyRule]:
    by_id: dict[str, AnyRule] = {}
    for rule in rules:
        if rule.id in by_id:
            raise ValueError(f"duplicate remediation id in registry: {rule.id}")
        by_id[rule.id] = rule
    return by_id


RULES: dict[str, AnyRule] = _check_unique(REGISTRY)
