"""The batched side reads of a list-and-watch sweep: what can change an application's verdict
without changing its ApplicationVersionId, read for a whole account and Region in pages.

- tags: Resource Groups Tagging API GetResources, 100 applications per page. It lists only
  resources that are or were tagged, so an application it does not name has no tags.
  https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
- roles: IAM GetAccountAuthorizationDetails (Role and LocalManagedPolicy), every role with its
  trust policy, inline and attached policies, boundary and tags, and every customer managed
  policy's default version, in pages (IAM is global: once per account).
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
- log groups: DescribeLogGroups by the parent folder of the groups apps log to, 50 per page.
- routes: DescribeRouteTables of the VPCs apps run in (vpc-id filter), with their associations.

Each is reduced to a fingerprint per resource (a short hash of its canonical JSON): the watch
compares fingerprints, never documents, so 5,000 apps cost a few hundred KB.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from daemon.aws import Aws

TAGS_PER_PAGE = 100  # GetResources' maximum
ROLES_PER_PAGE = 1000  # GetAccountAuthorizationDetails' MaxItems maximum
VPCS_PER_FILTER = 200  # EC2 filter values per request
# Fields of a role that decide a verdict (not RoleLastUsed: it changes whenever the role is used).
ROLE_FIELDS = (
    "Path",
    "AssumeRolePolicyDocument",
    "RolePolicyList",
    "AttachedManagedPolicies",
    "PermissionsBoundary",
    "Tags",
)


def fingerprint(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Sides:
    """One account and Region's side resources, as fingerprints (a resource missing from a map
    is absent in AWS)."""

    tags: Mapping[str, str] = field(default_factory=dict)  # application ARN -> tags
    roles: Mapping[str, str] = field(default_factory=dict)  # role name -> documents
    log_groups: frozenset[str] = frozenset()  # names of the checked groups that exist
    routes: Mapping[str, str] = field(default_factory=dict)  # VPC id -> its route tables
    # What was read (a group or VPC checked and missing is absent; one not checked is unknown).
    tags_read: bool = False
    checked_groups: frozenset[str] = frozenset()
    checked_vpcs: frozenset[str] = frozenset()


def _pages(
    aws: Aws, service: str, operation: str, token: str, **params: Any
) -> Iterator[Mapping[str, Any]]:
    """Every page of a paginated read; `token` names the token field of request and answer."""
    while True:
        page = aws.call(service, operation, **params)
        yield page
        following = page.get(token)
        if not following or page.get("IsTruncated") is False:
            return
        params[token] = following


def read_tags(aws: Aws) -> dict[str, str]:
    tags: dict[str, str] = {}
    pages = _pages(
        aws,
        "resourcegroupstaggingapi",
        "GetResources",
        "PaginationToken",
        ResourceTypeFilters=["kinesisanalytics:application"],
        ResourcesPerPage=TAGS_PER_PAGE,
    )
    for page in pages:
        for mapping in page.get("ResourceTagMappingList", []):
            pairs = sorted((t["Key"], t["Value"]) for t in mapping.get("Tags", []))
            if pairs:  # a previously tagged app is listed with no tags: the same as absent
                tags[str(mapping["ResourceARN"])] = fingerprint(pairs)
    return tags


def read_roles(aws: Aws) -> dict[str, str]:
    roles: list[Mapping[str, Any]] = []
    versions: dict[str, str] = {}  # customer managed policy ARN -> its default version
    pages = _pages(
        aws,
        "iam",
        "GetAccountAuthorizationDetails",
        "Marker",
        Filter=["Role", "LocalManagedPolicy"],
        MaxItems=ROLES_PER_PAGE,
    )
    for page in pages:
        roles += page.get("RoleDetailList", [])
        for policy in page.get("Policies", []):
            versions[str(policy["Arn"])] = str(policy.get("DefaultVersionId", ""))
    out: dict[str, str] = {}
    for role in roles:
        documents = {name: role.get(name) for name in ROLE_FIELDS}
        attached = role.get("AttachedManagedPolicies") or []
        # A new default version of an attached customer managed policy changes the role too.
        documents["PolicyVersions"] = sorted(
            (str(p.get("PolicyArn")), versions.get(str(p.get("PolicyArn")), "")) for p in attached
        )
        out[str(role["RoleName"])] = fingerprint(documents)
    return out


def read_log_groups(aws: Aws, groups: Iterable[str]) -> frozenset[str]:
    """Which of `groups` exist: one listing per parent folder (`/aws/x/app` -> `/aws/x/`)."""
    wanted = set(groups)
    found: set[str] = set()
    for parent in sorted({g[: g.rfind("/") + 1] or g for g in wanted}):
        for page in _pages(
            aws, "logs", "DescribeLogGroups", "nextToken", logGroupNamePrefix=parent
        ):
            found |= {str(g["logGroupName"]) for g in page.get("logGroups", [])}
    return frozenset(found & wanted)


def read_routes(aws: Aws, vpcs: Iterable[str]) -> dict[str, str]:
    tables: dict[str, list[Any]] = {}
    ids = sorted(set(vpcs))
    for start in range(0, len(ids), VPCS_PER_FILTER):
        chunk = ids[start : start + VPCS_PER_FILTER]
        filters = [{"Name": "vpc-id", "Values": chunk}]
        pages = _pages(aws, "ec2", "DescribeRouteTables", "NextToken", Filters=filters)
        for page in pages:
            for table in page.get("RouteTables", []):
                tables.setdefault(str(table["VpcId"]), []).append(_table(table))
    return {vpc: fingerprint(sorted(found, key=str)) for vpc, found in tables.items()}


def _table(table: Mapping[str, Any]) -> Any:
    """What of a route table decides a path: its routes and which subnets it serves."""
    routes = sorted(
        json.dumps({k: v for k, v in r.items() if k != "Origin"}, sort_keys=True, default=str)
        for r in table.get("Routes", [])
    )
    associations = sorted(
        (str(a.get("SubnetId", "")), bool(a.get("Main")))
        for a in table.get("Associations", [])
        if (a.get("AssociationState") or {}).get("State", "associated") == "associated"
    )
    return [table.get("RouteTableId"), routes, associations]
