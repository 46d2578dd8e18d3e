"""GetResources of Managed Flink applications over HTTP: only tagged apps are listed, in pages of
at most 100, as the Resource Groups Tagging API documents (sandbox/tagging.py)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sandbox.server import Sandbox
from sandbox.testing import client, execution_role

FLINK = ["kinesisanalytics:application"]


def test_only_tagged_apps_are_listed_page_by_page(fresh_sandbox: Sandbox) -> None:
    endpoint, region = fresh_sandbox.endpoint_url, fresh_sandbox.region
    flink, tagging = (
        client(endpoint, region, "kinesisanalyticsv2"),
        client(endpoint, region, "resourcegroupstaggingapi"),
    )
    role = execution_role(client(endpoint, region, "iam"))
    for name in ("a", "b", "c", "untagged"):
        tags = [] if name == "untagged" else [{"Key": "team", "Value": name}]
        flink.create_application(
            ApplicationName=name,
            RuntimeEnvironment="FLINK-1_20",
            ServiceExecutionRole=role,
            **({"Tags": tags} if tags else {}),
        )
    pages = list(
        tagging.get_paginator("get_resources").paginate(
            ResourceTypeFilters=FLINK, ResourcesPerPage=2
        )
    )
    listed = [m for page in pages for m in page["ResourceTagMappingList"]]
    assert [len(p["ResourceTagMappingList"]) for p in pages] == [2, 1]
    assert [(m["ResourceARN"].rsplit("/", 1)[-1], m["Tags"]) for m in listed] == [
        (n, [{"Key": "team", "Value": n}]) for n in ("a", "b", "c")
    ]
    with pytest.raises(ClientError) as refused:
        tagging.get_resources(ResourceTypeFilters=FLINK, ResourcesPerPage=101)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
