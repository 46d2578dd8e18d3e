"""The daemon's own least-privilege IAM policy, derived from a loaded desired-state config.

- Reads: every rule enabled anywhere (any mode: alert and dry-run observe too) plus what every
  run needs (identity, inventory, event routing lookups).
- Writes: only for a rule whose effective mode is `enforce` for some application, scoped by the
  rule's own grants (`Rule.grants`) with its settings there; none at all with `read_only`.
- Notifications: `sns:Publish` on the configured topics of rules that alert (none without one).
- The event queue, its dead-letter queue (from the queue's RedrivePolicy, never from a name) and
  `kms:Decrypt` on the queue's customer managed key.
- Evidence (when `evidence.security_hub` is on): `securityhub:BatchImportFindings` on the
  default product of each covered account in the hub's Region, and `securityhub:GetFindings` on
  those accounts' hubs (for `report`). Kept with `read_only`: findings are the daemon's report,
  not a change to what it watches.
- Explicit Denies: every role write on the daemon's own role; every application write on an
  application that carries the ignore tag.

"Effective mode for some application" cannot be known before the applications exist, so every
combination of overrides is considered (each subset of them, in file order).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from daemon.desired.config import DesiredConfig
from daemon.desired.iam_grants import FLINK, ROLE_WRITES, Scope, Statement, allow, rule_writes
from daemon.desired.resolve import ResolvedRule, _merge
from daemon.errors import ConfigError
from daemon.state import AppRef
from daemon.store.dynamodb import ITEM_ACTIONS
from remediations import RULES
from remediations.base import AnyRule

BASE_READ = (
    "sts:GetCallerIdentity",
    "kinesisanalytics:ListApplications",
    "kinesisanalytics:DescribeApplication",
    "kinesisanalytics:DescribeApplicationOperation",  # follows a restarting fix to its end
    "kinesisanalytics:ListApplicationOperations",  # finds the change a dead sender started
    "kinesisanalytics:ListTagsForResource",
    "ec2:DescribeRouteTables",  # EC2 route and prefix list events -> the subnets a table serves
    "ec2:DescribeNatGateways",  # NAT gateway events -> the gateway's VPC
    "ec2:DescribeNetworkAcls",  # network ACL events -> the ACL's subnets
    "iam:ListEntitiesForPolicy",  # IAM policy events -> the roles it is attached to
    # The sweep's batched side reads (daemon/reconcile/side_reads.py):
    "tag:GetResources",
    "iam:GetAccountAuthorizationDetails",
    "logs:DescribeLogGroups",
)
QUEUE_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",  # --sweep-source queue: a tick's apps go back to the queue as work
)
DEAD_LETTER_ACTIONS = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl")  # the DLQ depth gauge
# No resource type in the Service Authorization Reference: authorized on "*" only.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
_UNSCOPED = {
    "kinesisanalytics:ListApplications",
    "logs:DescribeLogGroups",
    "iam:SimulateCustomPolicy",
    "tag:GetResources",
    "iam:GetAccountAuthorizationDetails",
}
_POLICY_READS = {"iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListEntitiesForPolicy"}
MAX_EXACT_OVERRIDES = 10  # 2**10 combinations; beyond, each override alone and all together


@dataclass(frozen=True)
class EventQueue:
    arn: str
    dead_letter_arn: str = ""
    kms_key_arn: str = ""  # the queue's customer managed key (KmsMasterKeyId), if any

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


def placements(config: DesiredConfig) -> Iterator[Mapping[str, ResolvedRule]]:
    """The enabled rules, settings and modes of every combination of overrides."""
    count = len(config.overrides)
    if count <= MAX_EXACT_OVERRIDES:
        subsets: list[tuple[int, ...]] = [
            c for size in range(count + 1) for c in combinations(range(count), size)
        ]
    else:
        subsets = [(), *((i,) for i in range(count)), tuple(range(count))]
    for matched in subsets:
        try:
            yield _merge(config, matched)
        except ConfigError:  # contradicting overrides: such an application is refused
            continue


def _read_resources(action: str, scope: Scope) -> tuple[str, ...]:
    service = action.split(":")[0]
    if action == "ec2:GetManagedPrefixListEntries":  # owned by the account or by AWS
        return tuple(sorted({f"arn:aws:ec2:{r}:*:prefix-list/*" for r in scope.regions}))
    if action in _UNSCOPED or service in ("sts", "ec2"):
        return ("*",)  # no resource type: AWS authorizes these on "*"
    if service == FLINK:
        return tuple(scope.applications())
    if action in _POLICY_READS:  # AWS managed ones live in account `aws`, which parliament rejects
        return ("arn:aws:iam::*:policy/*",)
    if service == "iam":
        return tuple(f"arn:aws:iam::{a}:role/*" for a in scope.accounts)
    if service == "logs":
        return tuple(scope.per_place("arn:aws:logs:{region}:{account}:log-group:*"))
    return ("*",)


def _reads(actions: set[str], scope: Scope) -> list[Statement]:
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for action in sorted(actions):
        by_resources.setdefault(_read_resources(action, scope), []).append(action)
    return [
        allow(f"Observe{i}", acts, resources)
        for i, (resources, acts) in enumerate(sorted(by_resources.items()), start=1)
    ]


def _queue(queue: EventQueue) -> list[Statement]:
    out = [allow("ConsumeEventQueue", QUEUE_ACTIONS, [queue.arn])]
    if queue.dead_letter_arn:
        out.append(allow("WatchDeadLetterQueue", DEAD_LETTER_ACTIONS, [queue.dead_letter_arn]))
    if queue.kms_key_arn:
        via = {"kms:ViaService": f"sqs.{queue.region}.amazonaws.com"}
        out.append(
            allow("DecryptEventQueue", ["kms:Decrypt"], [queue.kms_key_arn], StringEquals=via)
        )
    return out


def state_table(arn: str) -> list[Statement]:
    """The safeguards' table (`run --state-table`): the item operations the store makes, on
    that table only. Granted in read-only (dry-run) policies too: announcements and finding
    state are the daemon's own records, not changes to a workload."""
    return [allow("StateTable", list(ITEM_ACTIONS), [arn])] if arn else []


def evidence(config: DesiredConfig, accounts: tuple[str, ...]) -> list[Statement]:
    """Security Hub: import the daemon's findings (product ARNs of the accounts they are about,
    asff.product_arn) and read them back (`report`)."""
    hub = config.security_hub
    if not hub.enabled:
        return []
    region = hub.region or config.regions[0]
    arn = "arn:aws:securityhub:" + region + ":{a}:"
    products = [(arn + "product/{a}/default").format(a=a) for a in accounts]
    hubs = [(arn + "hub/default").format(a=a) for a in accounts]
    return [
        allow("ImportFindings", ["securityhub:BatchImportFindings"], products),
        allow("ReadFindings", ["securityhub:GetFindings"], hubs),
        # Waived findings: Workflow SUPPRESSED with the waiver in the Note (asff.workflow_update).
        allow("SuppressWaivedFindings", ["securityhub:BatchUpdateFindings"], hubs),
    ]


def _notifications(rule: AnyRule, places: list[Any], scope: Scope) -> list[Statement]:
    topic_of = getattr(rule, "notify_topic", None)
    if topic_of is None:
        return []
    topics = {
        topic
        for settings in places
        for a in scope.accounts
        for r in scope.regions
        if (topic := topic_of(settings, AppRef(a, r, "*")))
    }
    sid = "Notify" + "".join(part.title() for part in rule.id.split("_"))
    return [allow(sid, ["sns:Publish"], topics)] if topics else []


def _denies(config: DesiredConfig, writes: list[Statement], own_role_arn: str) -> list[Statement]:
    out: list[Statement] = []
    granted = {a for s in writes for a in s["Action"]}
    if granted & set(ROLE_WRITES):
        own = own_role_arn or config.daemon_role_arn
        if not own:
            raise ConfigError(
                config.path,
                [
                    f"{config.path}: daemon_role_arn: required while a rule writes IAM roles "
                    "(or --own-role-arn): the policy denies every write on the daemon's own role"
                ],
            )
        out.append(
            {
                "Sid": "DenyWritesOnOwnRole",
                "Effect": "Deny",
                "Action": list(ROLE_WRITES),
                "Resource": [own],
            }
        )
    flink = sorted(a for a in granted if a.startswith(f"{FLINK}:"))
    if flink and config.ignore_tag is not None:
        tag = {f"aws:ResourceTag/{config.ignore_tag.key}": config.ignore_tag.value}
        scope = Scope(config.accounts, config.regions)
        out.append(
            {
                "Sid": "DenyFixesOnIgnoredApplications",
                "Effect": "Deny",
                "Action": flink,
                "Resource": scope.applications(),
                "Condition": {"StringEqualsIgnoreCase": tag},
            }
        )
    return out


def daemon_policy(
    config: DesiredConfig,
    queue: EventQueue | None = None,
    *,
    own_role_arn: str = "",
    read_only: bool = False,
    rules: Mapping[str, AnyRule] = RULES,
    with_evidence: bool = True,
    state_table_arn: str = "",
) -> dict[str, Any]:
    scope = Scope(config.accounts, config.regions, config.execution_roles)
    enabled: dict[str, list[Any]] = {}  # rule id -> its settings wherever it is enabled
    enforcing: dict[str, list[Any]] = {}
    alerting: dict[str, list[Any]] = {}
    for placement in placements(config):
        for rule_id, resolved in placement.items():
            enabled.setdefault(rule_id, []).append(resolved.settings)
            if resolved.mode == "enforce":
                enforcing.setdefault(rule_id, []).append(resolved.settings)
            if resolved.mode != "dry-run":
                alerting.setdefault(rule_id, []).append(resolved.settings)
    reads = set(BASE_READ).union(
        *(rules[r].reads(settings) for r, places in enabled.items() for settings in places)
    )
    statements = _reads(reads, scope)
    if queue is not None:
        statements += _queue(queue)
    statements += state_table(state_table_arn)
    if with_evidence:
        statements += evidence(config, scope.accounts)
    if read_only:
        return {"Version": "2012-10-17", "Statement": statements}
    writes: list[Statement] = []
    try:
        for rule_id, places in alerting.items():
            writes += _notifications(rules[rule_id], places, scope)
        for rule_id, places in enforcing.items():
            writes += rule_writes(rules[rule_id], scope, places)
    except ConfigError as exc:
        raise ConfigError(config.path, [f"{config.path}: {p}" for p in exc.problems]) from exc
    statements += _merge_same_scope(writes)
    statements += _denies(config, writes, own_role_arn)
    return {"Version": "2012-10-17", "Statement": statements}


def _merge_same_scope(statements: list[Statement]) -> list[Statement]:
    """One statement per (resources, condition): rules writing the same way share it."""
    merged: dict[str, Statement] = {}
    for s in statements:
        key = repr((s["Effect"], s["Resource"], s.get("Condition")))
        if key in merged:
            merged[key]["Action"] = sorted({*merged[key]["Action"], *s["Action"]})
        else:
            merged[key] = dict(s)
    return list(merged.values())


# Actions whose resources may sit in another account: with the organization's id they reach
# only resources in it (aws:ResourceOrgID, a global condition key:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid),
# so stolen credentials cannot assume a role or publish to a topic outside the organization.
ORGANIZATION_BOUND = frozenset({"sts:AssumeRole", "sns:Publish"})


def within_organization(policy: dict[str, Any], org_id: str) -> dict[str, Any]:
    """The policy with `aws:ResourceOrgID` = org_id on every Allow of sts:AssumeRole or
    sns:Publish (the key is global: any other action of such a statement is narrowed too)."""
    statements = []
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow" and ORGANIZATION_BOUND & set(statement["Action"]):
            condition = dict(statement.get("Condition") or {})
            equals = {**condition.get("StringEquals", {}), "aws:ResourceOrgID": org_id}
            statement = {**statement, "Condition": {**condition, "StringEquals": equals}}
        statements.append(statement)
    return {**policy, "Statement": statements}
