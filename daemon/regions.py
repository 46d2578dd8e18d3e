"""AWS Regions: the ones botocore's partition data knows, and the Region an SQS queue URL names.

A typo such as `eu-wset-1` fits every Region pattern, so names are checked against the list of
Regions in botocore's endpoints data (all partitions: aws, aws-cn, aws-us-gov, ...). A Region
newer than the installed botocore is refused too; the message says to upgrade.
"""

from __future__ import annotations

import os
import re
from functools import cache
from urllib.parse import urlsplit

import boto3
import botocore
from botocore.loaders import create_loader

# sqs.eu-west-1.amazonaws.com, sqs.cn-north-1.amazonaws.com.cn, legacy eu-west-1.queue.amazonaws.com
_QUEUE_HOST = re.compile(
    r"^(?:sqs[.-](?:fips[.-])?(?P<a>[a-z0-9-]+)|(?P<b>[a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?$"
)


@cache
def known_regions() -> frozenset[str]:
    partitions = create_loader().load_data("endpoints")["partitions"]
    return frozenset(region for p in partitions for region in p["regions"])


def region_problem(region: str) -> str:
    """Empty when botocore knows `region`, else why not (for one-line errors)."""
    if region in known_regions():
        return ""
    close = sorted(r for r in known_regions() if _one_edit_apart(r, region))
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"{region!r} is not an AWS Region known to botocore {botocore.__version__}{hint}"


def region_from_queue_url(url: str) -> str:
    """The Region in an AWS SQS queue URL; empty for other hosts (the sandbox, a proxy)."""
    match = _QUEUE_HOST.match(urlsplit(url).hostname or "")
    if not match:
        return ""
    return match.group("a") or match.group("b") or ""


def _one_edit_apart(a: str, b: str) -> bool:
    """One substitution, insertion, deletion or swap of neighbours apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
        )
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def sdk_region() -> str:
    """AWS_REGION (what other AWS SDKs and Lambda set; botocore reads only the next two), then
    AWS_DEFAULT_REGION, then the profile's Region."""
    return os.environ.get("AWS_REGION") or boto3.session.Session().region_name or ""
